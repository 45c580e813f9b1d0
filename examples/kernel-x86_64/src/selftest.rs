//! Boot-time checks of the kernel services keel relies on.

use crate::platform::PLATFORM;
use core::arch::asm;

/// Runs the checks; a failure panics (and so exits QEMU with failure).
pub fn run() {
    // The exception path: `int3` goes through the IST stub and resumes.
    // SAFETY: #BP's handler prints and returns with `iretq`, restoring
    // every register; the instruction touches no memory.
    unsafe { asm!("int3", options(nomem)) };
    kernel_common::selftest::heap_and_paging(&PLATFORM);
    kprintln!("selftest: int3, heap and paging ok");
}

/// Touches reserved but unmapped memory: a page fault that is not a keel
/// trap, which must end the kernel with a diagnostic (`-append fault-test`).
pub fn unhandled_fault() -> ! {
    kernel_common::selftest::unhandled_fault(&PLATFORM)
}
