//! x86_64 (System V): the jump buffer and fiber switch, written in
//! `x86_64.s` (Intel syntax) and included here. The file's header
//! documents each routine's contract.

/// Callee-saved state: rbx, rbp, r12–r15, rsp after return, return address.
#[repr(C)]
#[derive(Default)]
pub(crate) struct JmpBuf([usize; 8]);

core::arch::global_asm!(include_str!("x86_64.s"));

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

/// Lay out a fresh stack whose top (exclusive, 16-byte aligned) is `top`
/// so that the first [`keel_fiber_switch`] to the returned stack pointer
/// calls `entry(data, arg)`: six saved registers (r15, r14, r13, r12 =
/// `data`, rbx = `entry`, rbp = 0) and the return address
/// `keel_fiber_start`, ending at `top`.
///
/// # Safety
///
/// `top` must be 16-byte aligned with at least 56 writable bytes below it.
pub(crate) unsafe fn fiber_init_stack(
    top: usize,
    entry: extern "C" fn(*mut u8, usize) -> !,
    data: *mut u8,
) -> usize {
    let words: [usize; 7] = [
        0,                                                   // r15
        0,                                                   // r14
        0,                                                   // r13
        data as usize,                                       // r12
        entry as usize,                                      // rbx
        0,                                                   // rbp
        keel_fiber_start as unsafe extern "C" fn() as usize, // return address
    ];
    let sp = top - words.len() * 8;
    // SAFETY: per the contract the 56 bytes below `top` are writable and
    // `sp` is 8-byte aligned.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), sp as *mut usize, words.len()) };
    sp
}
