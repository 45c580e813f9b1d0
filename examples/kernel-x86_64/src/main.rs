//! A small x86_64 kernel that JIT-compiles and runs WebAssembly with keel.
//!
//! QEMU boots it directly (`qemu-system-x86_64 -kernel kernel`, PVH). It
//! sets up a serial console, a GDT/TSS/IDT with IST stacks, a heap and
//! on-demand paging, registers itself as keel's [`platform`], and runs the
//! guest in `guest.wat`, including a guest memory access far out of
//! bounds that the page-fault vector turns into a keel trap. A PIT timer
//! interrupt advances keel's epoch, preempting a guest that loops forever.
//!
//! See `README.md` next to this crate for how to build and boot it.

#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
extern crate kernel_common;

mod boot;
mod cpu;
mod gdt;
mod idt;
mod memory;
mod paging;
mod platform;
mod qemu;
mod rt;
mod selftest;
mod serial;
mod timer;

use platform::X86_64;
use qemu::ExitCode;

/// The Rust entry point, called by `pvh_start64` on the boot stack with
/// paging, SSE and long mode enabled.
#[unsafe(no_mangle)]
extern "C" fn kmain() -> ! {
    serial::init();
    kernel_common::console::init(serial::write_str);
    kprintln!("kernel: long mode, paging, SSE on");
    gdt::init();
    idt::init();
    let boot = boot::boot_info();
    let layout = memory::init(&boot);
    kprintln!(
        "kernel: heap {:#x}..{:#x}, frames {:#x}..{:#x}, cmdline {:?}",
        layout.heap.0,
        layout.heap.1,
        layout.frames.0,
        layout.frames.1,
        boot.cmdline()
    );
    selftest::run();
    if boot.has_option("fault-test") {
        selftest::unhandled_fault();
    }
    timer::init();
    // Interrupts stay on from here: the timer preempts the guests below.
    timer::enable_interrupts();
    if !kernel_common::run_guests::<X86_64>() {
        qemu::exit(ExitCode::Failure);
    }
    let [de, ud, pf] = idt::keel_fault_counts();
    kprintln!("kernel: faults turned into keel traps: #DE {de}, #UD {ud}, #PF {pf}");
    kprintln!("kernel: done");
    qemu::exit(ExitCode::Success)
}

/// Prints the panic and ends QEMU with a failure status.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    kprintln!("kernel panic: {info}");
    qemu::exit(ExitCode::Failure)
}
