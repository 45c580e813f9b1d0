//! The calls into wasm active on a store, and [`EnterWasm`], the guard
//! every call into wasm goes through.
//!
//! # The exit-frame rules
//!
//! A store's [`VMStoreContext`] holds, for the innermost activation, the
//! stack limit, the exit frame of the last wasm-to-host call
//! (`last_wasm_exit_pc`/`_fp`: where backtraces and the exception
//! collector enter the wasm frames) and the store the runtime's builtins
//! use. A call into wasm:
//!
//! * outermost (depth 0): sets the stack limit from this CPU's stack and
//!   `Config::max_wasm_stack`;
//! * nested (a host function, or a builtin's store callback, calling wasm
//!   again): pushes the interrupted activation's exit frame onto
//!   [`Activations`]' list, because the new activation overwrites the one
//!   in the store context, and the collector must still walk the
//!   interrupted wasm frames for roots. A builtin's callback has no exit
//!   frame to push (a builtin, not a wasm-to-host trampoline, called it):
//!   it pushes [`UNKNOWN_WASM_EXIT`], and collections wait until it is
//!   popped;
//! * publishes the store for the builtins;
//!
//! and when it ends, however it ends (a return, a trap, an error, an
//! exception, a panic unwinding through it), puts back the stack limit,
//! the exit frame and the published store it found, pops what it pushed,
//! and restores whether a callback is running. [`EnterWasm`] does each of
//! these, on creation and on drop.

use crate::Result;
use crate::prelude::*;
use keel_vm::{VMStore, VMStoreContext};

/// In the list of interrupted activations' exit frames: an activation
/// interrupted by a builtin's callback, whose wasm frames cannot be
/// walked, so exception objects are not collected until it resumes (see
/// [`keel_vm::GcHeap::defer_collection`]).
pub(crate) const UNKNOWN_WASM_EXIT: (usize, usize) = (usize::MAX, usize::MAX);

/// The calls into wasm active on one store: how many, and the exit frames
/// of all but the innermost (see the module's rules).
#[derive(Default)]
pub(crate) struct Activations {
    /// How many host-to-wasm calls are active.
    depth: usize,
    /// The return address and frame pointer of the wasm frame that called
    /// the host, for each active call but the innermost ((0, 0) when the
    /// host was not called from wasm, [`UNKNOWN_WASM_EXIT`] from a
    /// builtin's callback).
    outer_exits: Vec<(usize, usize)>,
    /// Whether a builtin is running a store callback (the epoch callback)
    /// in the innermost activation.
    in_builtin_callback: bool,
}

impl Activations {
    /// Whether a call into wasm is running (the host is inside one).
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.depth != 0
    }

    /// The exit frames of the interrupted activations, innermost last;
    /// `None` if one of them cannot be walked ([`UNKNOWN_WASM_EXIT`]).
    pub(crate) fn outer_exits(&self) -> Option<&[(usize, usize)]> {
        if self.outer_exits.contains(&UNKNOWN_WASM_EXIT) {
            None
        } else {
            Some(&self.outer_exits)
        }
    }

    /// Mark a builtin's store callback as running until
    /// [`end_builtin_callback`](Self::end_builtin_callback) is given the
    /// returned value: a call into wasm from the callback cannot name the
    /// interrupted activation's frames.
    pub(crate) fn begin_builtin_callback(&mut self) -> bool {
        core::mem::replace(&mut self.in_builtin_callback, true)
    }

    /// End what [`begin_builtin_callback`](Self::begin_builtin_callback)
    /// began.
    pub(crate) fn end_builtin_callback(&mut self, outer: bool) {
        self.in_builtin_callback = outer;
    }

    /// Start a fresh chain of activations (on a new stack: a fiber's
    /// work is an outermost entry into wasm there), returning the depth
    /// to give back to [`resume_depth`](Self::resume_depth).
    pub(crate) fn take_depth(&mut self) -> usize {
        core::mem::take(&mut self.depth)
    }

    /// Entering a nested call: record the exit frame of the interrupted
    /// activation (a host function called by wasm is calling, whose exit
    /// frame is current; or a builtin's store callback is, and the frames
    /// are unknown). Out of line: most calls are outermost.
    ///
    /// # Errors
    ///
    /// Out of memory for the entry; nothing is changed then.
    #[cold]
    #[inline(never)]
    fn push_outer_exit(&mut self, context: &VMStoreContext) -> Result<()> {
        if self.outer_exits.try_reserve(1).is_err() {
            anyhow::bail!("out of memory entering a nested call into wasm");
        }
        let exit = if self.in_builtin_callback {
            UNKNOWN_WASM_EXIT
        } else {
            (context.last_wasm_exit_pc, context.last_wasm_exit_fp)
        };
        self.outer_exits.push(exit);
        // The new activation is not inside the callback.
        self.in_builtin_callback = false;
        Ok(())
    }

    /// Leaving a nested call: drop what
    /// [`push_outer_exit`](Self::push_outer_exit) recorded, and be inside
    /// the builtin's callback again if the interrupted activation was.
    #[cold]
    #[inline(never)]
    fn pop_outer_exit(&mut self) {
        let exit = self.outer_exits.pop();
        self.in_builtin_callback = exit == Some(UNKNOWN_WASM_EXIT);
    }

    /// Put back the depth [`take_depth`](Self::take_depth) returned.
    pub(crate) fn resume_depth(&mut self, depth: usize) {
        self.depth = depth;
    }
}

/// What a call into wasm found in the store context and puts back.
struct Saved {
    stack_limit: usize,
    last_wasm_exit_fp: usize,
    last_wasm_exit_pc: usize,
    store: Option<core::ptr::NonNull<dyn VMStore>>,
}

/// An active call into wasm on a store: made by [`EnterWasm::new`] before
/// the call, it undoes on drop what it did (see the module's rules), on
/// every path out of the call, unwinding included.
///
/// It holds raw pointers, not borrows: while wasm runs, the store is
/// reached through the pointer it publishes (VM-5), and Rust code must
/// not hold a `&mut` to it across the call.
pub(crate) struct EnterWasm {
    activations: *mut Activations,
    ctx: *mut VMStoreContext,
    saved: Saved,
    nested: bool,
}

impl EnterWasm {
    /// Enter wasm on a store whose activations are `activations` and
    /// whose store context is `ctx`, publishing `vm_store`; `stack_limit`
    /// is the limit an outermost call sets (this CPU's, for the engine's
    /// `max_wasm_stack`).
    ///
    /// # Errors
    ///
    /// Out of memory for the nested call's exit frame; nothing is changed
    /// then.
    ///
    /// # Safety
    ///
    /// `activations` and `ctx` belong to the store `vm_store` points to,
    /// which is exclusively the caller's (VM-5) and outlives the guard;
    /// they are accessed only inside this call and the guard's drop. The
    /// guards of one store are dropped in the reverse order of creation
    /// (they are scoped to the calls, which nest).
    #[inline]
    pub(crate) unsafe fn new(
        activations: *mut Activations,
        ctx: *mut VMStoreContext,
        vm_store: core::ptr::NonNull<dyn VMStore>,
        stack_limit: impl FnOnce() -> usize,
    ) -> Result<EnterWasm> {
        // SAFETY: per the contract, both are valid and ours for this
        // short access.
        let (acts, context) = unsafe { (&mut *activations, &mut *ctx) };
        let nested = acts.depth != 0;
        if nested {
            acts.push_outer_exit(context)?;
        }
        acts.depth += 1;
        let saved = Saved {
            stack_limit: context.stack_limit,
            last_wasm_exit_fp: context.last_wasm_exit_fp,
            last_wasm_exit_pc: context.last_wasm_exit_pc,
            store: context.store,
        };
        if !nested {
            context.stack_limit = stack_limit();
        }
        context.store = Some(vm_store);
        Ok(EnterWasm {
            activations,
            ctx,
            saved,
            nested,
        })
    }
}

impl Drop for EnterWasm {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: per `new`'s contract; the wasm code and any host
        // functions it called are done, so nothing else accesses these.
        let (acts, context) = unsafe { (&mut *self.activations, &mut *self.ctx) };
        acts.depth -= 1;
        if self.nested {
            acts.pop_outer_exit();
        }
        context.stack_limit = self.saved.stack_limit;
        context.last_wasm_exit_fp = self.saved.last_wasm_exit_fp;
        context.last_wasm_exit_pc = self.saved.last_wasm_exit_pc;
        context.store = self.saved.store;
    }
}
