//! Capturing wasm backtraces by walking the frame-pointer chain.
//!
//! Compiled code keeps frame pointers (Cranelift's
//! `preserve_frame_pointers`), so from a frame pointer `fp` the caller's
//! frame pointer is at `[fp]` and the return address into the caller at
//! `[fp + 8]` (x86_64 and riscv64 alike). The walk starts at a pc/fp pair
//! inside wasm code and stops at the first return address that is not
//! registered code: the Rust frame that called the entry trampoline.
//!
//! Trap handlers may not allocate, so they walk into a fixed per-thread
//! buffer ([`capture_into_trap_buffer`]); [`catch_traps`](crate::catch_traps)
//! copies it out after the jump back. Host code walks straight into a
//! [`RawBacktrace`]. Turning pcs into function names happens later.

use crate::registry::is_registered_code;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

/// The most frames a backtrace records; deeper stacks are cut off.
pub const MAX_FRAMES: usize = 128;

/// The pcs of the wasm frames at a trap or host call, innermost first.
#[derive(Clone, Default)]
pub struct RawBacktrace {
    pcs: Vec<usize>,
    first_is_return_address: bool,
}

impl core::fmt::Debug for RawBacktrace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.pcs.iter().map(|pc| alloc::format!("{pc:#x}")))
            .finish()
    }
}

/// Walk from `pc`/`fp`, calling `push` with each pc until it returns false.
///
/// # Safety
///
/// `fp` must be the frame pointer of a live wasm frame on this thread (or
/// 0), so that the chain it starts is readable while every return address
/// on it lies in registered code.
unsafe fn walk(pc: usize, fp: usize, mut push: impl FnMut(usize) -> bool) {
    if pc == 0 || !is_registered_code(pc) || !push(pc) {
        return;
    }
    let mut fp = fp;
    while fp != 0 {
        // SAFETY: `fp` is the frame pointer of a wasm frame (the caller's
        // contract for the first, registered code for the following ones),
        // whose first two words are the saved frame pointer and the return
        // address.
        let (next_fp, ret) =
            unsafe { <crate::arch::Host as crate::arch::Arch>::next_older_frame(fp) };
        if !is_registered_code(ret) || !push(ret) {
            break;
        }
        fp = next_fp;
    }
}

impl RawBacktrace {
    /// Walk the frames from `pc`/`fp`. `pc` is the trapping instruction
    /// (`first_is_return_address == false`) or a return address into the
    /// innermost wasm frame (true); `fp` is that frame's frame pointer.
    /// Allocates: for host code, not trap handlers.
    ///
    /// # Safety
    ///
    /// As for the walk: `fp` must be a live wasm frame's frame pointer or 0.
    pub unsafe fn capture(pc: usize, fp: usize, first_is_return_address: bool) -> Self {
        let mut pcs = Vec::new();
        // SAFETY: per the caller's contract.
        unsafe {
            walk(pc, fp, |pc| {
                pcs.push(pc);
                pcs.len() < MAX_FRAMES
            })
        };
        Self {
            pcs,
            first_is_return_address,
        }
    }

    /// The captured pcs, innermost first.
    pub fn pcs(&self) -> &[usize] {
        &self.pcs
    }

    /// The pc to look up for frame `i`: a trapping instruction as is, a
    /// return address minus one (inside the call instruction).
    pub fn lookup_pc(&self, i: usize) -> usize {
        let pc = self.pcs[i];
        if i == 0 && !self.first_is_return_address {
            pc
        } else {
            pc - 1
        }
    }
}

/// One CPU's trap-time backtrace buffer (part of [`CpuLocal`](crate::CpuLocal)).
pub(crate) struct TrapBuffer {
    pcs: UnsafeCell<[usize; MAX_FRAMES]>,
    len: UnsafeCell<usize>,
}

impl TrapBuffer {
    pub(crate) const fn new() -> Self {
        Self {
            pcs: UnsafeCell::new([0; MAX_FRAMES]),
            len: UnsafeCell::new(0),
        }
    }
}

fn trap_buffer() -> &'static TrapBuffer {
    // SAFETY: the CPU-local state lives as long as this CPU (thread) runs
    // keel code, and this CPU is the only one using it.
    unsafe { &crate::cpu_local::cpu_local().as_ref().trap_buffer }
}

/// Walk from the trapping `pc`/`fp` into this CPU's buffer, without
/// allocating.
///
/// # Safety
///
/// As for the walk; and no other code on this CPU may be using the buffer
/// (only trap handling does, one trap at a time).
pub(crate) unsafe fn capture_into_trap_buffer(pc: usize, fp: usize) {
    let buf = trap_buffer();
    // SAFETY: the buffer is this CPU's and nothing else holds a reference
    // into it (the caller's contract).
    let (pcs, len) = unsafe { (&mut *buf.pcs.get(), &mut *buf.len.get()) };
    *len = 0;
    // SAFETY: per the caller's contract.
    unsafe {
        walk(pc, fp, |pc| {
            pcs[*len] = pc;
            *len += 1;
            *len < MAX_FRAMES
        })
    };
}

/// The backtrace the last trap on this CPU left in its buffer.
pub(crate) fn take_trap_buffer() -> RawBacktrace {
    let buf = trap_buffer();
    // SAFETY: called after the jump back from a trap; the handler that
    // wrote the buffer has finished.
    let (pcs, len) = unsafe { (&*buf.pcs.get(), &mut *buf.len.get()) };
    let out = RawBacktrace {
        pcs: pcs[..*len].to_vec(),
        first_is_return_address: false,
    };
    *len = 0;
    out
}
