//! Boot-time checks of the kernel services keel relies on.

use crate::platform::PLATFORM;
use core::arch::asm;

/// Runs the checks; a failure panics (and so exits QEMU with failure).
pub fn run() {
    // The trap path: `ebreak` goes through the vector and resumes.
    // SAFETY: the breakpoint handler prints and returns with `sret`,
    // restoring every register; the instruction touches no memory.
    unsafe { asm!("ebreak", options(nomem)) };
    kernel_common::selftest::heap_and_paging(&PLATFORM);
    kprintln!("selftest: ebreak, heap and paging ok");
}

/// Touches reserved but unmapped memory: a page fault that is not a keel
/// trap, which must end the kernel with a diagnostic (`-append fault-test`).
pub fn unhandled_fault() -> ! {
    kernel_common::selftest::unhandled_fault(&PLATFORM)
}
