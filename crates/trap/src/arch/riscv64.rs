//! riscv64 (LP64D): the jump buffer and fiber switch, written in
//! `riscv64.S` and included here. The file's header documents each
//! routine's contract and the frame layout.
//!
//! Built with `-Zbuild-std` for `riscv64gc-unknown-linux-gnu` and
//! `riscv64gc-unknown-none-elf` (see `.ci/run`); the tests run under
//! qemu-riscv64 (`scripts/riscv64-tests.sh`). The assembly is also
//! assembled with GNU as into a C harness
//! (`crates/trap/tests/riscv64/run.sh`).

/// Callee-saved state: ra, sp, s0–s11, fs0–fs11.
#[repr(C)]
#[derive(Default)]
pub(crate) struct JmpBuf([usize; 26]);

core::arch::global_asm!(include_str!("riscv64.S"));

unsafe extern "C" {
    /// Save the registers in `buf`, call `callback(data)` and return its
    /// result; or return 1 when [`keel_longjmp`] jumps to `buf`.
    pub(crate) fn keel_setjmp_call(
        buf: *mut JmpBuf,
        callback: extern "C" fn(*mut u8) -> i32,
        data: *mut u8,
    ) -> i32;

    /// Restore the registers saved in `buf` and return 1 from the
    /// `keel_setjmp_call` that saved them.
    pub(crate) fn keel_longjmp(buf: *const JmpBuf) -> !;

    /// Save the callee-saved registers on this stack, store the stack
    /// pointer in `*save_sp`, switch to `new_sp` and resume what was saved
    /// there, which sees `arg` returned.
    pub(crate) fn keel_fiber_switch(save_sp: *mut usize, new_sp: usize, arg: usize) -> usize;

    fn keel_fiber_start();
}

/// Bytes of one saved frame of `keel_fiber_switch`.
const SWITCH_FRAME: usize = 208;

/// Lay out a fresh stack whose top (exclusive, 16-byte aligned) is `top`
/// so that the first [`keel_fiber_switch`] to the returned stack pointer
/// calls `entry(data, arg)`: one switch frame with ra =
/// `keel_fiber_start`, s0 = 0, s1 = `entry`, s2 = `data`, the rest zero.
///
/// # Safety
///
/// `top` must be 16-byte aligned with at least 208 writable bytes below it.
pub(crate) unsafe fn fiber_init_stack(
    top: usize,
    entry: extern "C" fn(*mut u8, usize) -> !,
    data: *mut u8,
) -> usize {
    let mut words = [0usize; SWITCH_FRAME / 8];
    words[0] = keel_fiber_start as unsafe extern "C" fn() as usize; // ra
    words[1] = 0; // s0
    words[2] = entry as usize; // s1
    words[3] = data as usize; // s2
    let sp = top - SWITCH_FRAME;
    // SAFETY: per the contract the frame below `top` is writable and `sp`
    // is 16-byte aligned.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), sp as *mut usize, words.len()) };
    sp
}
