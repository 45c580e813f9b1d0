//! x86_64 (System V): `keel_setjmp_call` saves the callee-saved registers,
//! the stack pointer and the return address, then calls a callback;
//! `keel_longjmp` restores them and makes `keel_setjmp_call` return 1.

/// Callee-saved state: rbx, rbp, r12–r15, rsp after return, return address.
#[repr(C)]
#[derive(Default)]
pub(crate) struct JmpBuf([usize; 8]);

core::arch::global_asm!(
    ".text",
    ".globl keel_setjmp_call",
    ".type keel_setjmp_call,@function",
    ".p2align 4",
    "keel_setjmp_call:",
    // rdi = buf, rsi = callback, rdx = data
    "mov [rdi], rbx",
    "mov [rdi + 8], rbp",
    "mov [rdi + 16], r12",
    "mov [rdi + 24], r13",
    "mov [rdi + 32], r14",
    "mov [rdi + 40], r15",
    "lea rax, [rsp + 8]",
    "mov [rdi + 48], rax",
    "mov rax, [rsp]",
    "mov [rdi + 56], rax",
    // Align the stack and keep a frame-pointer chain for backtraces.
    "push rbp",
    "mov rbp, rsp",
    "mov rdi, rdx",
    "call rsi",
    "pop rbp",
    "ret",
    ".size keel_setjmp_call, . - keel_setjmp_call",
    ".globl keel_longjmp",
    ".type keel_longjmp,@function",
    ".p2align 4",
    "keel_longjmp:",
    "mov rbx, [rdi]",
    "mov rbp, [rdi + 8]",
    "mov r12, [rdi + 16]",
    "mov r13, [rdi + 24]",
    "mov r14, [rdi + 32]",
    "mov r15, [rdi + 40]",
    "mov rsp, [rdi + 48]",
    "mov eax, 1",
    "jmp qword ptr [rdi + 56]",
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
