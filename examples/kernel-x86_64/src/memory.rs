//! Physical memory layout: where the heap and the page frames of
//! [`kernel_common::memory`] lie.
//!
//! All below 4 GiB, all identity-mapped by the boot page tables:
//!
//! ```text
//! 1 MiB            kernel image (.text .rodata .data .bss), linker.ld
//! __kernel_end     (2 MiB aligned) heap, HEAP_SIZE bytes, for `alloc`
//! heap end         page frames, up to the end of that RAM range
//! ```

use crate::boot::{BootInfo, MEMMAP_TYPE_RAM};
use kernel_common::memory::FRAME_SIZE;

/// Size of the kernel heap.
pub const HEAP_SIZE: u64 = 64 * 1024 * 1024;
/// The boot page tables identity-map this much; frames must lie below.
const IDENTITY_MAPPED: u64 = 4 << 30;
/// Used when the loader gave no memory map: QEMU's default 128 MiB.
const FALLBACK_RAM_END: u64 = 128 << 20;

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
    // SAFETY: both ranges are RAM (they lie below `frames_end`, inside the
    // RAM range holding the kernel, above its image), identity-mapped,
    // used by nothing else; this runs once, before any allocation.
    unsafe { kernel_common::memory::init((heap_start, heap_end), (frames_start, frames_end)) };
    MemoryLayout {
        heap: (heap_start, heap_end),
        frames: (frames_start, frames_end),
    }
}
