//! Exception unwinding: find the handler of a thrown wasm exception among
//! the wasm frames of the current activation, and continue there.
//!
//! Compiled code makes every call inside a `try_table` a Cranelift
//! `try_call` whose exception table has one catch-all entry: the
//! `try_table`'s landing code, which compares tags itself and rethrows
//! what it does not catch. The tables may also hold tag entries, after a
//! `Context` entry that says where the frame saved its VMContext (tags
//! are per instance, so a tag entry names a tag of the frame's instance);
//! the walk below handles both. The compiler keeps those tables
//! ([`ExceptionCallSite`](keel_translate::ExceptionCallSite)), keyed by
//! return address. Throwing walks the frame-pointer chain from the throw
//! site, as backtraces do, and asks each frame's call site for a handler;
//! the walk stops at the first return address outside registered code
//! (the host frame that entered wasm), where an uncaught exception leaves
//! the activation like a trap.
//!
//! A handler runs with the stack pointer the frame had at the call
//! (`fp - frame_offset`), its frame pointer, and the exception in the
//! first payload register. Cranelift treats every register as clobbered
//! on the exceptional edge of a `try_call` to a `tail` callee, so nothing
//! else needs restoring: no DWARF, no unwinder library, only the
//! [`Arch`] frame layout and `keel_resume`.

use crate::arch::{Arch, Host};
use crate::registry::with_code;
use keel_translate::{ExceptionHandler, TagIndex};

/// Where a handler continues: its address, and the stack and frame
/// pointers of its frame at the call that caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handler {
    /// The handler's first instruction.
    pub pc: usize,
    /// The frame's stack pointer at the call.
    pub sp: usize,
    /// The frame's frame pointer.
    pub fp: usize,
}

/// Walk the wasm frames from `pc`/`fp` (a return address into the
/// innermost wasm frame, and that frame's frame pointer) outwards and
/// return the first handler that catches: a `catch_all` one, or a tag one
/// for which `matches(vmctx, tag)` says the frame's instance's `tag` is
/// the thrown one. `None` when no wasm frame of this activation catches.
///
/// # Safety
///
/// `fp` must be the frame pointer of a live wasm frame on this thread
/// whose return address into it is `pc`, so that the frame chain it
/// starts is readable while its return addresses lie in registered code.
pub unsafe fn find_handler(
    pc: usize,
    fp: usize,
    mut matches: impl FnMut(usize, TagIndex) -> bool,
) -> Option<Handler> {
    let (mut pc, mut fp) = (pc, fp);
    while fp != 0 && pc != 0 {
        // A return address can be the first byte after its text, so the
        // text is the one holding the call instruction (`pc - 1`).
        let found = with_code(pc - 1, |start, info| {
            let site = info.exception_call_site(u32::try_from(pc - start).ok()?)?;
            let sp = fp.checked_sub(site.frame_offset as usize)?;
            let mut context = 0usize;
            for handler in &site.handlers {
                let offset = match *handler {
                    ExceptionHandler::Context { sp_offset } => {
                        // SAFETY: the compiler stored the frame's VMContext
                        // at this offset of the live frame before the call.
                        context = unsafe { *((sp + sp_offset as usize) as *const usize) };
                        continue;
                    }
                    ExceptionHandler::Tag { tag, offset } => {
                        if context == 0 || !matches(context, tag) {
                            continue;
                        }
                        offset
                    }
                    ExceptionHandler::CatchAll { offset } => offset,
                };
                return Some(Handler {
                    pc: start + offset as usize,
                    sp,
                    fp,
                });
            }
            None
        });
        match found {
            None => return None, // left wasm code: the activation's edge
            Some(Some(handler)) => return Some(handler),
            Some(None) => {}
        }
        // SAFETY: `fp` is a live wasm frame (the contract for the first,
        // registered code for the following ones), which keeps its frame
        // record.
        (fp, pc) = unsafe { Host::next_older_frame(fp) };
    }
    None
}

/// Visit the `exnref` slots (null ones included) of the wasm frames from
/// `pc`/`fp` outwards, to the edge of the activation: each frame's stack
/// map for the call it is in lists the slots of its frame that hold the
/// references live across the call. Frames without one hold none.
///
/// # Safety
///
/// As for [`find_handler`]: `fp` must be the frame pointer of a live wasm
/// frame on this thread whose return address into it is `pc`.
pub unsafe fn trace_stack_roots(pc: usize, fp: usize, visit: &mut dyn FnMut(usize)) {
    let (mut pc, mut fp) = (pc, fp);
    while fp != 0 && pc != 0 {
        let in_wasm = with_code(pc - 1, |start, info| {
            let Some(map) = u32::try_from(pc - start)
                .ok()
                .and_then(|offset| info.stack_map(offset))
            else {
                return;
            };
            let Some(sp) = fp.checked_sub(map.frame_size as usize) else {
                return;
            };
            for &slot in &map.slots {
                // SAFETY: the compiler recorded the slot inside the frame
                // (checked for artifacts), where the frame spilled the
                // reference before the call it is in.
                visit(unsafe { *((sp + slot as usize) as *const usize) });
            }
        });
        if in_wasm.is_none() {
            return; // left wasm code: the activation's edge
        }
        // SAFETY: as in `find_handler`.
        (fp, pc) = unsafe { Host::next_older_frame(fp) };
    }
}

/// Continue at `handler` with `payload` (the exception reference) in the
/// first exception payload register. The frames between here and the
/// handler's are abandoned without running anything in them.
///
/// # Safety
///
/// `handler` must come from [`find_handler`] on this thread's current
/// stack, called after the frames above the handler's were entered and
/// with nothing in them (Rust frames included) that must still run: no
/// destructor, lock or borrow is left behind.
pub unsafe fn resume(handler: Handler, payload: usize) -> ! {
    // SAFETY: per the contract, the handler's frame is live and expects
    // exactly this state.
    unsafe { crate::arch::keel_resume(handler.pc, handler.sp, handler.fp, payload, 0) }
}

/// The address compiled code calls to enter an unwinding builtin (`throw`,
/// `throw_ref`): `keel_unwind_stub` of the architecture's assembly. It
/// takes three arguments and the builtin's address in the fourth (with
/// Cranelift's `tail` convention) and calls the builtin with two more:
/// the return address into the calling wasm frame and its frame pointer.
pub fn unwind_stub_address() -> usize {
    unwind_stub as unsafe extern "C" fn() as usize
}

pub use crate::arch::keel_unwind_stub as unwind_stub;
