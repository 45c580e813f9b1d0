//! Calls into the supervisor binary interface (OpenSBI, which QEMU's virt
//! machine runs in machine mode), as the
//! [SBI specification](https://github.com/riscv-non-isa/riscv-sbi-doc)
//! defines them: `ecall` with the extension id in `a7`, the function id in
//! `a6`, arguments in `a0`..`a5`; the error comes back in `a0`, the value
//! in `a1`.

use core::arch::asm;

/// The Timer extension ("TIME").
const EXT_TIME: usize = 0x5449_4D45;
/// The System Reset extension ("SRST").
const EXT_SRST: usize = 0x5352_5354;

/// One SBI call with two arguments; returns (error, value).
fn call(extension: usize, function: usize, arg0: usize, arg1: usize) -> (isize, usize) {
    let error: isize;
    let value: usize;
    // SAFETY: `ecall` from supervisor mode traps to the SBI firmware,
    // which follows the calling convention above: it changes only a0
    // and a1 and touches no memory of ours.
    unsafe {
        asm!(
            "ecall",
            inlateout("a0") arg0 => error,
            inlateout("a1") arg1 => value,
            in("a6") function,
            in("a7") extension,
            options(nostack)
        );
    }
    (error, value)
}

/// Programs the next timer interrupt for when the `time` CSR reaches
/// `deadline`, and clears the pending one (`sbi_set_timer`).
pub fn set_timer(deadline: u64) {
    call(EXT_TIME, 0, deadline as usize, 0);
}

/// Shuts the machine down (`sbi_system_reset`, type shutdown); `failure`
/// gives the reason "system failure". Returns only if the firmware
/// refused.
pub fn shutdown(failure: bool) {
    call(EXT_SRST, 0, 0, usize::from(failure));
}
