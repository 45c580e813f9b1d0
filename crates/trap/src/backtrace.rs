//! Capturing wasm backtraces by walking the frame-pointer chain.
//!
//! Compiled code keeps frame pointers (Cranelift's
//! `preserve_frame_pointers`), so from a frame pointer `fp` the caller's
//! frame pointer is at `[fp]` and the return address into the caller at
//! `[fp + 8]` (x86_64 and riscv64 alike, see the `arch` module). The walk
//! starts at a pc/fp pair inside wasm code and stops at the first return
//! address that is not registered code: the Rust frame that called the
//! entry trampoline. Capturing allocates nothing, so trap handlers can do
//! it; turning pcs into function names happens later, outside.

use crate::registry::is_registered_code;

/// The most frames a backtrace records; deeper stacks are cut off.
pub const MAX_FRAMES: usize = 128;

/// The pcs of the wasm frames at a trap or host call, innermost first.
#[derive(Clone, Copy)]
pub struct RawBacktrace {
    pcs: [usize; MAX_FRAMES],
    len: usize,
    first_is_return_address: bool,
}

impl std::fmt::Debug for RawBacktrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pcs().iter().map(|pc| format!("{pc:#x}")))
            .finish()
    }
}

impl RawBacktrace {
    /// A backtrace with no frames.
    pub const fn empty() -> Self {
        Self {
            pcs: [0; MAX_FRAMES],
            len: 0,
            first_is_return_address: false,
        }
    }

    /// Walk the frames from `pc`/`fp`. `pc` is the trapping instruction
    /// (`first_is_return_address == false`) or a return address into the
    /// innermost wasm frame (true); `fp` is that frame's frame pointer.
    ///
    /// # Safety
    ///
    /// `fp` must be the frame pointer of a live wasm frame on this thread
    /// (or 0), so that the chain it starts is readable while every return
    /// address on it lies in registered code.
    pub unsafe fn capture(pc: usize, fp: usize, first_is_return_address: bool) -> Self {
        let mut bt = Self {
            first_is_return_address,
            ..Self::empty()
        };
        if pc == 0 || !is_registered_code(pc) {
            return bt;
        }
        bt.pcs[0] = pc;
        bt.len = 1;
        let mut fp = fp;
        while fp != 0 && bt.len < MAX_FRAMES {
            // SAFETY: `fp` is the frame pointer of a wasm frame (the
            // caller's contract for the first, and registered code for the
            // following ones), whose first two words are the saved frame
            // pointer and the return address.
            let (next_fp, ret) = unsafe {
                (
                    *(fp as *const usize),
                    *((fp + core::mem::size_of::<usize>()) as *const usize),
                )
            };
            if !is_registered_code(ret) {
                break;
            }
            bt.pcs[bt.len] = ret;
            bt.len += 1;
            fp = next_fp;
        }
        bt
    }

    /// The captured pcs, innermost first.
    pub fn pcs(&self) -> &[usize] {
        &self.pcs[..self.len]
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
