//! What keel needs from the CPU architecture ([`Arch`]), with one
//! implementation per architecture: x86_64 here, riscv64 written to the
//! same trait.
//!
//! Besides the trait, each architecture provides, in an assembly file of
//! its own (`x86_64.s`, `riscv64.S`) that `global_asm!` includes:
//!
//! * `keel_setjmp_call` (save the callee-saved registers, the stack
//!   pointer and the return address, then call a callback) and
//!   `keel_longjmp` (restore them and make `keel_setjmp_call` return 1):
//!   the jump back into [`catch_traps`](crate::catch_traps);
//! * `keel_fiber_switch` (push the callee-saved registers, swap stack
//!   pointers, pop the other context's registers) and `keel_fiber_start`,
//!   where a fresh stack laid out by `fiber_init_stack` begins: the
//!   [`Fiber`](crate::Fiber) context switch;
//! * `keel_unwind_stub` (how compiled code enters a builtin that unwinds:
//!   it passes on the return address and frame pointer of the calling
//!   wasm frame) and `keel_resume` (set the stack and frame pointers and
//!   the exception payload registers, jump to a handler): exception
//!   handling, see [`crate::unwind`].
//!
//! The riscv64 file is also assembled by GNU as and run under
//! `qemu-riscv64` by `crates/trap/tests/riscv64/run.sh`; the crate itself
//! builds for riscv64 with `-Zbuild-std` and its tests run under
//! qemu-riscv64 (`scripts/riscv64-tests.sh`, and CI).

#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "riscv64")]
pub(crate) use riscv64::{
    JmpBuf, fiber_init_stack, keel_fiber_switch, keel_longjmp, keel_setjmp_call,
};
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::{
    JmpBuf, fiber_init_stack, keel_fiber_switch, keel_longjmp, keel_setjmp_call,
};

// Defined in each architecture's assembly file, with the same contract.
unsafe extern "C" {
    /// Compiled code's entry into an unwinding builtin: tail-calls
    /// `target(a0, a1, a2, target, pc, fp)` with the return address into
    /// the calling wasm frame and that frame's frame pointer. Called only
    /// from compiled code (Cranelift's `tail` convention), never from Rust.
    pub fn keel_unwind_stub();

    /// Continue at an exception handler: set the stack and frame pointers,
    /// put `payload0`/`payload1` in the exception payload registers and
    /// jump to `pc`.
    pub(crate) fn keel_resume(
        pc: usize,
        sp: usize,
        fp: usize,
        payload0: usize,
        payload1: usize,
    ) -> !;
}

/// An architecture keel runs compiled code on.
pub trait Arch {
    /// The frame-pointer chain layout: given a frame pointer of a compiled
    /// frame, the caller's frame pointer and the return address into the
    /// caller.
    ///
    /// # Safety
    ///
    /// `fp` must be the frame pointer of a live frame that keeps the
    /// architecture's frame record.
    unsafe fn next_older_frame(fp: usize) -> (usize, usize);

    /// Make `len` bytes of code just written at `addr` visible to
    /// instruction fetch (x86_64: nothing to do; riscv64: `fence.i`).
    fn flush_icache(addr: *const u8, len: usize);

    /// The program counter and frame pointer of the interrupted context a
    /// Linux `SA_SIGINFO` signal handler receives as its third argument
    /// (a `ucontext_t`), for the hosted platform's trap handler; `None`
    /// when this build cannot read this architecture's `ucontext_t` (only
    /// the host architecture's layout is known to the build).
    ///
    /// Called from a signal handler: must not allocate, lock or panic.
    ///
    /// # Safety
    ///
    /// `ucontext` must point to the `ucontext_t` the kernel passed to a
    /// signal handler running on this architecture.
    #[cfg(feature = "std")]
    unsafe fn signal_context(_ucontext: *const core::ffi::c_void) -> Option<TrapContext> {
        None
    }
}

/// Registers of an interrupted context that trap handling needs (raw
/// addresses).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapContext {
    /// The faulting instruction's address.
    pub pc: usize,
    /// The frame pointer at the fault.
    pub fp: usize,
}

/// x86_64 (System V): `[fp]` is the caller's rbp, `[fp + 8]` the return
/// address; instruction caches are coherent.
pub struct X86_64;

impl Arch for X86_64 {
    unsafe fn next_older_frame(fp: usize) -> (usize, usize) {
        // SAFETY: per the caller's contract the frame record is readable.
        unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) }
    }

    fn flush_icache(_addr: *const u8, _len: usize) {}

    #[cfg(all(feature = "std", target_arch = "x86_64", target_os = "linux"))]
    unsafe fn signal_context(ucontext: *const core::ffi::c_void) -> Option<TrapContext> {
        // SAFETY: per the caller's contract this is an x86_64 Linux
        // `ucontext_t`, whose general registers are indexed by `REG_*`.
        let regs = unsafe { &(*ucontext.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
        Some(TrapContext {
            pc: regs[libc::REG_RIP as usize] as usize,
            fp: regs[libc::REG_RBP as usize] as usize,
        })
    }
}

/// riscv64 (LP64D): Cranelift's frame record puts the caller's `fp` at
/// `[fp]` and `ra` at `[fp + 8]`; after writing code a `fence.i` makes it
/// visible to instruction fetch (on this hart; a multi-hart kernel must
/// also shoot down the other harts' instruction caches).
pub struct Riscv64;

impl Arch for Riscv64 {
    unsafe fn next_older_frame(fp: usize) -> (usize, usize) {
        // SAFETY: per the caller's contract the frame record is readable.
        unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) }
    }

    fn flush_icache(_addr: *const u8, _len: usize) {
        #[cfg(target_arch = "riscv64")]
        // SAFETY: `fence.i` only orders instruction fetch after stores.
        unsafe {
            core::arch::asm!("fence.i")
        };
    }

    #[cfg(all(feature = "std", target_arch = "riscv64", target_os = "linux"))]
    unsafe fn signal_context(ucontext: *const core::ffi::c_void) -> Option<TrapContext> {
        // SAFETY: per the caller's contract this is a riscv64 Linux
        // `ucontext_t`: `__gregs[REG_PC]` is the pc and `__gregs[REG_S0]`
        // is s0, the frame pointer.
        let regs = unsafe { &(*ucontext.cast::<libc::ucontext_t>()).uc_mcontext.__gregs };
        Some(TrapContext {
            pc: regs[libc::REG_PC] as usize,
            fp: regs[libc::REG_S0] as usize,
        })
    }
}

/// The architecture this build runs on.
#[cfg(target_arch = "x86_64")]
pub type Host = X86_64;
/// The architecture this build runs on.
#[cfg(target_arch = "riscv64")]
pub type Host = Riscv64;

/// [`Arch::flush_icache`] of the host architecture.
pub fn flush_icache(addr: *const u8, len: usize) {
    Host::flush_icache(addr, len);
}
