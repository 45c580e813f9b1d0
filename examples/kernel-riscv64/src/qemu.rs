//! Leaving QEMU: the virt machine's test device (`sifive,test` at
//! 0x10_0000) ends the emulator when written: 0x5555 with status 0,
//! `0x3333 | code << 16` with status `code`. If that write does not end
//! it, the SBI system reset (shutdown) does, with status 0.

use core::sync::atomic::{AtomicBool, Ordering};

/// Set by the first [`exit`]: if writing the test device faults (a
/// firmware that keeps it from supervisor mode), the fault's diagnostic
/// calls [`exit`] again, which then goes straight to the SBI reset.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Address of the test ("finisher") device.
const TEST_DEVICE: usize = 0x10_0000;
const FINISHER_PASS: u32 = 0x5555;
const FINISHER_FAIL: u32 = 0x3333;

/// How the kernel ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// QEMU exits with status 0.
    Success,
    /// QEMU exits with status 3.
    Failure,
}

/// Ends QEMU with `code`.
pub fn exit(code: ExitCode) -> ! {
    let value = match code {
        ExitCode::Success => FINISHER_PASS,
        ExitCode::Failure => FINISHER_FAIL | (3 << 16),
    };
    if !EXITING.swap(true, Ordering::Relaxed) {
        // SAFETY: the test device, identity-mapped; its only effect is
        // ending the emulator.
        unsafe { core::ptr::write_volatile(TEST_DEVICE as *mut u32, value) };
    }
    crate::sbi::shutdown(code == ExitCode::Failure);
    loop {
        // SAFETY: `wfi` only waits.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}
