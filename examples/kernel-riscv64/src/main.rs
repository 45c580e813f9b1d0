//! A small riscv64 kernel that JIT-compiles and runs WebAssembly with keel.
//!
//! QEMU's `virt` machine starts OpenSBI, which enters the kernel in
//! supervisor mode. The kernel turns on Sv39 paging, installs its trap
//! vector, sets up a heap and on-demand paging for keel's region,
//! registers itself as keel's platform, and runs the guests of
//! `kernel-common` (the same ones, and the same checks, as the x86_64
//! kernel): calls, a guest memory access far out of bounds that the page
//! fault turns into a keel trap, Cranelift's trap instruction (an illegal
//! instruction) turned into traps, exceptions, fuel, an SBI timer
//! interrupt advancing keel's epoch to preempt a guest that loops
//! forever, and three guests scheduled round-robin on fibers.
//!
//! Why supervisor mode: Sv39 translation applies to supervisor (and user)
//! mode only, and keel's guard pages and on-demand memory need it; machine
//! mode would leave keel without virtual memory (explicit bounds checks
//! only). OpenSBI, which QEMU ships, provides the timer and the reset.
//!
//! See `README.md` next to this crate for how to build and boot it.

#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
extern crate kernel_common;

mod boot;
mod paging;
mod platform;
mod qemu;
mod sbi;
mod selftest;
mod timer;
mod trap;
mod uart;

use platform::Riscv64;
use qemu::ExitCode;

/// Size of the kernel heap.
const HEAP_SIZE: u64 = 64 * 1024 * 1024;

/// The Rust entry point, called by `_start` on the boot stack with the
/// floating-point unit on; `dtb` is the device tree OpenSBI passed.
#[unsafe(no_mangle)]
extern "C" fn kmain(hart: usize, dtb: usize) -> ! {
    kernel_common::console::init(uart::write_str);
    kprintln!("kernel: supervisor mode on hart {hart}, device tree at {dtb:#x}");
    trap::init();
    // SAFETY: `dtb` is what OpenSBI passed in a1; paging is still off.
    let boot = match unsafe { boot::boot_info(dtb) } {
        Ok(boot) => boot,
        Err(err) => {
            kprintln!("kernel: {err}");
            qemu::exit(ExitCode::Failure)
        }
    };
    paging::init();
    kprintln!("kernel: Sv39 paging on, trap vector installed");

    // RAM above the image: the heap, then frames up to the end of RAM or
    // the device tree, whichever comes first.
    let (_, image_end) = boot::kernel_image();
    let heap = (image_end, image_end + HEAP_SIZE);
    let mut frames_end = boot.ram.1;
    if boot.dtb.1 > heap.1 {
        frames_end = frames_end.min(boot.dtb.0);
    }
    if frames_end <= heap.1 + 16 * kernel_common::memory::FRAME_SIZE {
        kprintln!(
            "memory: RAM ends at {:#x}; run QEMU with -m 256M or more",
            boot.ram.1
        );
        qemu::exit(ExitCode::Failure);
    }
    // SAFETY: both ranges are RAM above the kernel image (inside the RAM
    // region that holds it, below the device tree), identity-mapped by
    // the boot page table, used by nothing else; this runs once, before
    // the first allocation.
    unsafe { kernel_common::memory::init(heap, (heap.1, frames_end)) };
    kprintln!(
        "kernel: heap {:#x}..{:#x}, frames {:#x}..{:#x}, timebase {} Hz",
        heap.0,
        heap.1,
        heap.1,
        frames_end,
        boot.timebase_hz
    );
    selftest::run();
    if boot.fault_test {
        selftest::unhandled_fault();
    }
    timer::init(boot.timebase_hz);
    // Interrupts stay on from here: the timer preempts the guests below.
    timer::enable_interrupts();
    if !kernel_common::run_guests::<Riscv64>() {
        qemu::exit(ExitCode::Failure);
    }
    let [illegal, page] = trap::keel_fault_counts();
    kprintln!(
        "kernel: faults turned into keel traps: illegal instruction {illegal}, page fault {page}"
    );
    kprintln!("kernel: done");
    qemu::exit(ExitCode::Success)
}

/// Prints the panic and ends QEMU with a failure status.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    kprintln!("kernel panic: {info}");
    qemu::exit(ExitCode::Failure)
}
