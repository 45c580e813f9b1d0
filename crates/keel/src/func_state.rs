//! A store's functions ([`FuncState`]): the [`Func`] handles given out,
//! and the contexts of the host functions created in the store. The
//! functions' API is in `func.rs`.

use crate::handles::StoreId;
use crate::prelude::*;
use crate::{Func, FuncType, Result};
use hashbrown::HashMap;
use keel_vm::{VMFuncRef, VMHostFuncContext};

struct FuncData {
    func_ref: *const VMFuncRef,
    ty: FuncType,
}

/// A store's functions: the handles given out (each a func ref and its
/// type), the handle of each func ref, and the host functions' contexts.
#[derive(Default)]
pub(crate) struct FuncState {
    data: Vec<FuncData>,
    by_ref: HashMap<usize, Func>,
    /// Boxed: compiled code and tables hold pointers into each context.
    #[expect(clippy::vec_box, reason = "the contexts' addresses must not change")]
    host_contexts: Vec<Box<VMHostFuncContext>>,
    /// Indices into `host_contexts` of host functions created before the
    /// engine had a wasm-to-array trampoline for their type (only without
    /// the compiler); [`FuncState::fill_wasm_calls`] completes them.
    without_wasm_call: Vec<usize>,
}

impl FuncState {
    /// Keep host function context `ctx`; `has_wasm_call` says whether it
    /// has its wasm-to-array trampoline (else
    /// [`fill_wasm_calls`](Self::fill_wasm_calls) gives it one).
    pub(crate) fn push_host_context(&mut self, ctx: Box<VMHostFuncContext>, has_wasm_call: bool) {
        if !has_wasm_call {
            self.without_wasm_call.push(self.host_contexts.len());
        }
        self.host_contexts.push(ctx);
    }

    /// Give out a handle of store `store` for the function behind
    /// `func_ref`, of type `ty`.
    pub(crate) fn register(
        &mut self,
        store: StoreId,
        func_ref: *const VMFuncRef,
        ty: FuncType,
    ) -> Func {
        let f = Func {
            store,
            index: self.data.len(),
        };
        self.data.push(FuncData { func_ref, ty });
        self.by_ref.insert(func_ref as usize, f);
        f
    }

    /// The func ref of this store's function `index` (a [`Func`]'s).
    #[inline]
    pub(crate) fn func_ref(&self, index: usize) -> *const VMFuncRef {
        self.data[index].func_ref
    }

    /// The type of this store's function `index`.
    #[inline]
    pub(crate) fn ty(&self, index: usize) -> &FuncType {
        &self.data[index].ty
    }

    /// The handle already given out for `func_ref`, if any.
    pub(crate) fn by_func_ref(&self, func_ref: *const VMFuncRef) -> Option<Func> {
        self.by_ref.get(&(func_ref as usize)).copied()
    }

    /// Give host functions that were created without a wasm-to-array
    /// trampoline the one `engine` now has for their type (a module
    /// loaded since brought it). Called before each instantiation: a
    /// module can only call a host function through a signature it has a
    /// trampoline for, and it is registered with the engine when loaded,
    /// so by the time its code runs in this store, every host function it
    /// could reach has its entry.
    ///
    /// # Errors
    ///
    /// If compiling or mapping a trampoline fails.
    pub(crate) fn fill_wasm_calls(&mut self, engine: &crate::Engine) -> Result<()> {
        if self.without_wasm_call.is_empty() {
            return Ok(());
        }
        let mut pending = core::mem::take(&mut self.without_wasm_call);
        let mut result = Ok(());
        pending.retain(|&i| {
            let ctx = &self.host_contexts[i];
            // SAFETY: the func ref of a live host context.
            let type_index = unsafe { (*ctx.func_ref()).type_index };
            let Some(ty) = engine.lookup_type(type_index) else {
                return true;
            };
            match engine.host_trampoline(&ty) {
                Ok(Some(wasm_call)) => {
                    // SAFETY: a trampoline for this function's type that
                    // the engine keeps alive; no wasm reads the func ref
                    // while the store's owner instantiates.
                    unsafe { ctx.set_wasm_call(wasm_call) };
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    result = Err(e);
                    true
                }
            }
        });
        self.without_wasm_call = pending;
        result
    }
}
