//! riscv64 (LP64D): `keel_setjmp_call` saves `ra`, `sp`, `s0`–`s11` and
//! `fs0`–`fs11`, then calls a callback; `keel_longjmp` restores them and
//! makes `keel_setjmp_call` return 1.
//!
//! Not compiled on the project's x86_64 machines (no riscv64 target is
//! installed there); it follows the same contract as `x86_64.rs`.

/// Callee-saved state: ra, sp, s0–s11, fs0–fs11.
#[repr(C)]
#[derive(Default)]
pub(crate) struct JmpBuf([usize; 26]);

core::arch::global_asm!(
    ".text",
    ".globl keel_setjmp_call",
    ".type keel_setjmp_call,@function",
    ".p2align 2",
    "keel_setjmp_call:",
    // a0 = buf, a1 = callback, a2 = data
    "sd ra, 0(a0)",
    "sd sp, 8(a0)",
    "sd s0, 16(a0)",
    "sd s1, 24(a0)",
    "sd s2, 32(a0)",
    "sd s3, 40(a0)",
    "sd s4, 48(a0)",
    "sd s5, 56(a0)",
    "sd s6, 64(a0)",
    "sd s7, 72(a0)",
    "sd s8, 80(a0)",
    "sd s9, 88(a0)",
    "sd s10, 96(a0)",
    "sd s11, 104(a0)",
    "fsd fs0, 112(a0)",
    "fsd fs1, 120(a0)",
    "fsd fs2, 128(a0)",
    "fsd fs3, 136(a0)",
    "fsd fs4, 144(a0)",
    "fsd fs5, 152(a0)",
    "fsd fs6, 160(a0)",
    "fsd fs7, 168(a0)",
    "fsd fs8, 176(a0)",
    "fsd fs9, 184(a0)",
    "fsd fs10, 192(a0)",
    "fsd fs11, 200(a0)",
    // Keep a frame record (ra, fp) for backtraces and call the callback.
    "addi sp, sp, -16",
    "sd ra, 8(sp)",
    "sd s0, 0(sp)",
    "mv s0, sp",
    "mv a0, a2",
    "jalr a1",
    "ld ra, 8(sp)",
    "ld s0, 0(sp)",
    "addi sp, sp, 16",
    "ret",
    ".size keel_setjmp_call, . - keel_setjmp_call",
    ".globl keel_longjmp",
    ".type keel_longjmp,@function",
    ".p2align 2",
    "keel_longjmp:",
    "ld ra, 0(a0)",
    "ld sp, 8(a0)",
    "ld s0, 16(a0)",
    "ld s1, 24(a0)",
    "ld s2, 32(a0)",
    "ld s3, 40(a0)",
    "ld s4, 48(a0)",
    "ld s5, 56(a0)",
    "ld s6, 64(a0)",
    "ld s7, 72(a0)",
    "ld s8, 80(a0)",
    "ld s9, 88(a0)",
    "ld s10, 96(a0)",
    "ld s11, 104(a0)",
    "fld fs0, 112(a0)",
    "fld fs1, 120(a0)",
    "fld fs2, 128(a0)",
    "fld fs3, 136(a0)",
    "fld fs4, 144(a0)",
    "fld fs5, 152(a0)",
    "fld fs6, 160(a0)",
    "fld fs7, 168(a0)",
    "fld fs8, 176(a0)",
    "fld fs9, 184(a0)",
    "fld fs10, 192(a0)",
    "fld fs11, 200(a0)",
    "li a0, 1",
    "ret",
    ".size keel_longjmp, . - keel_longjmp",
);

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
}
