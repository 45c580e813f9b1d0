//! Physical memory: the kernel heap and the page-frame allocator.
//!
//! Layout (all below 4 GiB, all identity-mapped by the boot page tables):
//!
//! ```text
//! 1 MiB            kernel image (.text .rodata .data .bss), linker.ld
//! __kernel_end     (2 MiB aligned) heap, HEAP_SIZE bytes, for `alloc`
//! heap end         page frames, up to the end of that RAM range
//! ```
//!
//! Frames back the pages [`crate::paging`] maps for keel (linear memories,
//! JIT code) and the page tables of that region. Freed frames go on a
//! free list threaded through the frames themselves; page-table pages
//! are never freed.

use crate::boot::{BootInfo, MEMMAP_TYPE_RAM};
use talc::{ErrOnOom, Span, Talc, Talck};

/// Size of the kernel heap.
pub const HEAP_SIZE: u64 = 64 * 1024 * 1024;
/// Size of a page frame.
pub const FRAME_SIZE: u64 = 4096;
/// The boot page tables identity-map this much; frames must lie below.
const IDENTITY_MAPPED: u64 = 4 << 30;
/// Used when the loader gave no memory map: QEMU's default 128 MiB.
const FALLBACK_RAM_END: u64 = 128 << 20;

/// The kernel heap (`alloc`): the talc allocator behind a spin lock. It
/// starts empty; [`init`] gives it its memory.
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

/// The page frames above the heap (see [`init`]).
static FRAMES: spin::Mutex<FrameAllocator> = spin::Mutex::new(FrameAllocator {
    next: 0,
    end: 0,
    free: 0,
    in_use: 0,
});

/// Statistics for the boot log.
#[derive(Debug, Clone, Copy)]
pub struct MemoryLayout {
    /// Heap `[start, end)`.
    pub heap: (u64, u64),
    /// Frames `[start, end)`.
    pub frames: (u64, u64),
}

/// Sets up the heap and the frame allocator from the memory map. Call
/// once, before the first allocation.
pub fn init(boot: &BootInfo) -> MemoryLayout {
    let (_, image_end) = crate::boot::kernel_image();
    let heap_start = image_end;
    let heap_end = heap_start + HEAP_SIZE;
    // The RAM range the kernel sits in bounds the frames.
    let ram_end = boot
        .memory_map()
        .filter(|e| e.kind == MEMMAP_TYPE_RAM && e.addr <= image_end && image_end < e.addr + e.size)
        .map(|e| e.addr + e.size)
        .next()
        .unwrap_or(FALLBACK_RAM_END)
        .min(IDENTITY_MAPPED);
    let frames_start = heap_end;
    let frames_end = ram_end & !(FRAME_SIZE - 1);
    if frames_end <= frames_start + 16 * FRAME_SIZE {
        kprintln!("memory: only {ram_end:#x} bytes of RAM; run QEMU with -m 256M or more");
        crate::qemu::exit(crate::qemu::ExitCode::Failure);
    }

    // SAFETY: `[heap_start, heap_end)` is RAM (it lies below `frames_end`,
    // inside the RAM range holding the kernel), identity-mapped, used by
    // nothing else, and claimed once.
    unsafe {
        ALLOCATOR
            .lock()
            .claim(Span::new(heap_start as *mut u8, heap_end as *mut u8))
            .expect("claiming the heap");
    }
    let mut frames = FRAMES.lock();
    frames.next = frames_start;
    frames.end = frames_end;
    MemoryLayout {
        heap: (heap_start, heap_end),
        frames: (frames_start, frames_end),
    }
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
