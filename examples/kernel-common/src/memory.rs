//! Physical memory: the kernel heap and the page-frame allocator.
//!
//! The kernel gives [`init`] two ranges of identity-mapped RAM that nothing
//! else uses: one for the heap behind `alloc` (the talc allocator behind
//! a spin lock), one carved into 4 KiB frames. Frames back the pages
//! [`crate::paging`] maps for keel (linear memories, JIT code) and the
//! page tables of that region. Freed frames go on a free list threaded
//! through the frames themselves; page-table pages are never freed.

use talc::{ErrOnOom, Span, Talc, Talck};

/// Size of a page frame.
pub const FRAME_SIZE: u64 = 4096;

/// The kernel heap (`alloc`). It starts empty; [`init`] gives it its
/// memory.
#[global_allocator]
static ALLOCATOR: Talck<spin::Mutex<()>, ErrOnOom> = Talc::new(ErrOnOom).lock();

/// The page-frame allocator: a bump pointer plus a free list.
struct FrameAllocator {
    /// Next never-used frame.
    next: u64,
    /// End of the frame range.
    end: u64,
    /// Head of the list of freed frames (each holds the next one's
    /// address in its first 8 bytes), 0 when empty.
    free: u64,
    /// Frames handed out and not freed.
    in_use: u64,
}

/// The page frames (see [`init`]).
static FRAMES: spin::Mutex<FrameAllocator> = spin::Mutex::new(FrameAllocator {
    next: 0,
    end: 0,
    free: 0,
    in_use: 0,
});

/// Gives the heap `heap` and the frame allocator `frames` (each
/// `[start, end)`; frames rounded inward to 4 KiB).
///
/// # Safety
///
/// Both ranges are RAM, identity-mapped (virtual = physical) and writable,
/// do not overlap each other or anything else in use, and `init` is called
/// once, before the first allocation.
pub unsafe fn init(heap: (u64, u64), frames: (u64, u64)) {
    // SAFETY: the caller guarantees the heap range is ours alone.
    unsafe {
        ALLOCATOR
            .lock()
            .claim(Span::new(heap.0 as *mut u8, heap.1 as *mut u8))
            .expect("claiming the heap");
    }
    let mut allocator = FRAMES.lock();
    allocator.next = frames.0.next_multiple_of(FRAME_SIZE);
    allocator.end = frames.1 & !(FRAME_SIZE - 1);
}

/// Allocates a zeroed 4 KiB frame; returns its physical (= identity-mapped
/// virtual) address, or `None` when memory is exhausted.
pub fn alloc_frame() -> Option<u64> {
    let frame = {
        let mut frames = FRAMES.lock();
        let frame = if frames.free != 0 {
            let frame = frames.free;
            // SAFETY: a freed frame holds the next free frame's address in
            // its first word (see `free_frame`); frames are identity-mapped
            // and owned by the allocator while on the list.
            frames.free = unsafe { (frame as *const u64).read() };
            frame
        } else if frames.next < frames.end {
            let frame = frames.next;
            frames.next += FRAME_SIZE;
            frame
        } else {
            return None;
        };
        frames.in_use += 1;
        frame
    };
    // SAFETY: the frame was just taken out of the allocator, so it is ours
    // alone; it is identity-mapped RAM.
    unsafe { core::ptr::write_bytes(frame as *mut u8, 0, FRAME_SIZE as usize) };
    Some(frame)
}

/// Returns a frame to the allocator.
///
/// # Safety
///
/// `frame` came from [`alloc_frame`], is not mapped anywhere any more, and
/// is not used again.
pub unsafe fn free_frame(frame: u64) {
    let mut frames = FRAMES.lock();
    // SAFETY: the caller gives the frame back; its first word links the
    // free list.
    unsafe { (frame as *mut u64).write(frames.free) };
    frames.free = frame;
    frames.in_use -= 1;
}

/// Number of frames currently handed out.
pub fn frames_in_use() -> u64 {
    FRAMES.lock().in_use
}
