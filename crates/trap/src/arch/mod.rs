//! What keel needs from the CPU architecture ([`Arch`]), with one
//! implementation per architecture: x86_64 here, riscv64 written to the
//! same trait.
//!
//! Besides the trait, each architecture provides two assembly routines:
//! `keel_setjmp_call` (save the callee-saved registers, the stack pointer
//! and the return address, then call a callback) and `keel_longjmp`
//! (restore them and make `keel_setjmp_call` return 1): the jump back into
//! [`catch_traps`](crate::catch_traps).

#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "riscv64")]
pub(crate) use riscv64::{JmpBuf, keel_longjmp, keel_setjmp_call};
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::{JmpBuf, keel_longjmp, keel_setjmp_call};

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
