//! [`Store`]: owner of instances, host functions and host state. Each
//! concern keeps its methods in its own file: fuel in `fuel.rs`, epochs in
//! `epoch.rs`, limits in `resource_limiter.rs`, the builtins' view in
//! `vm_store.rs`, calls into wasm in `activations.rs`, the context traits
//! in `context.rs`.

use crate::Result;
use crate::activations::Activations;
use crate::epoch::EpochCallback;
use crate::func::FuncData;
use crate::instance::InstanceData;
use crate::prelude::*;
use crate::resource_limiter::LimiterFn;
use crate::{Engine, Func};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use hashbrown::HashMap;
use keel_vm::{VMHostFuncContext, VMStoreContext};

/// Identifies a store; handles carry it so a handle from another store is
/// detected instead of misused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// The part of a store that does not depend on its host data type.
pub(crate) struct StoreOpaque {
    pub(crate) id: StoreId,
    pub(crate) engine: Engine,
    /// Read and written by compiled code through every VMContext, and by
    /// host calls; owned through a raw pointer so those pointers stay
    /// valid (VM-5).
    pub(crate) store_context: RawStoreContext,
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) funcs: Vec<FuncData>,
    pub(crate) func_by_ref: HashMap<usize, Func>,
    /// Boxed: compiled code and tables hold pointers into each context.
    #[expect(clippy::vec_box, reason = "the contexts' addresses must not change")]
    pub(crate) host_contexts: Vec<Box<VMHostFuncContext>>,
    /// Indices into `host_contexts` of host functions created before the
    /// engine had a wasm-to-array trampoline for their type (only without
    /// the compiler); [`StoreOpaque::fill_wasm_calls`] completes them.
    pub(crate) host_funcs_without_wasm_call: Vec<usize>,
    pub(crate) instance_by_vmctx: HashMap<usize, usize>,
    /// Host data of extern references; boxed so raw references stay valid.
    #[expect(clippy::vec_box, reason = "raw externrefs are the boxes' addresses")]
    pub(crate) externrefs: Vec<Box<crate::externref::ExternData>>,
    pub(crate) externref_by_ptr: HashMap<usize, crate::ExternRef>,
    /// Exception objects (exception handling).
    pub(crate) exn_heap: keel_vm::ExnHeap,
    /// Tags handed out as [`crate::Tag`]s, and their indices by the
    /// address of their definition.
    pub(crate) tags: Vec<crate::exception::TagData>,
    pub(crate) tag_by_def: HashMap<usize, usize>,
    /// The calls into wasm running on this store, and the exit frames
    /// the exception collector walks (see [`crate::activations`]).
    pub(crate) activations: Activations,
    /// The uncaught exceptions handed to the host as
    /// [`ThrownException`](crate::ThrownException)s, by hold id: roots of
    /// the exception collector while an error shares the `Arc`.
    pub(crate) exn_holds: HashMap<u64, (usize, Arc<()>)>,
    /// The last hold id given out (ids start at 1; 0 means pinned).
    pub(crate) next_exn_hold: u64,
    /// Fuel beyond what is in the store context's counter (which holds
    /// at most `i64::MAX`, or the yield interval).
    pub(crate) fuel_reserve: u64,
    /// Yield every this many units of fuel in async calls
    /// ([`Store::fuel_async_yield_interval`]).
    pub(crate) fuel_yield_interval: Option<u64>,
    /// The fiber running this store's async call, or null (see
    /// [`crate::fiber`]).
    pub(crate) async_cx: *const crate::fiber::AsyncCx,
    /// A stack kept from the last async call for the next one.
    pub(crate) fiber_stack: Option<keel_trap::FiberStack>,
    /// An error a [`VMStore`] hook recorded for a builtin that then made
    /// compiled code trap; reported in place of the trap code.
    pub(crate) pending_error: Option<anyhow::Error>,
    /// Instances, memories and tables created in this store so far.
    pub(crate) instance_count: usize,
    pub(crate) memory_count: usize,
    pub(crate) table_count: usize,
    /// Their limits, read from the limiter when it is installed.
    pub(crate) instance_limit: usize,
    pub(crate) memory_limit: usize,
    pub(crate) table_limit: usize,
}

/// The store's [`VMStoreContext`], owned through a raw pointer: compiled
/// code, trampolines and host calls all reach it through copies of this
/// one pointer, and Rust code only ever accesses it through the pointer
/// too (never through a `Box` whose reborrows would invalidate the copies).
pub(crate) struct RawStoreContext(core::ptr::NonNull<VMStoreContext>);

impl RawStoreContext {
    fn new(engine: &Engine) -> Self {
        let ctx = VMStoreContext {
            epoch_ptr: &engine.inner.epoch,
            ..VMStoreContext::default()
        };
        // SAFETY: `Box::into_raw` never returns null.
        Self(unsafe { core::ptr::NonNull::new_unchecked(Box::into_raw(Box::new(ctx))) })
    }

    /// The pointer every VMContext of the store holds.
    pub(crate) fn as_ptr(&self) -> *mut VMStoreContext {
        self.0.as_ptr()
    }
}

impl Drop for RawStoreContext {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `new`; dropped once, with the store,
        // after which no instance or host function of the store runs.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl StoreOpaque {
    /// Panic unless `id` is this store's.
    #[track_caller]
    pub(crate) fn check(&self, id: StoreId) {
        assert!(id == self.id, "object used with the wrong store");
    }
}

// SAFETY: every raw pointer in a store points either into memory the
// store itself owns (instances and their VMContexts, memories and tables,
// host function contexts, extern reference data: all freed with the store)
// or into engine data shared through `Arc`s that are `Send + Sync` (code,
// type ids, builtins). Nothing refers to the creating thread: the stack
// limit is set on each outermost entry into wasm, on the entering thread,
// and no call is in progress when the store can move (calls borrow it
// exclusively). Host closures and extern reference data are required to
// be `Send + Sync` when they are added. So moving the store moves
// exclusive ownership of all of it (VM-5).
unsafe impl Send for StoreOpaque {}
// SAFETY: a shared `&StoreOpaque` only reads plain fields; every mutation
// of the store or of anything its pointers reach needs `&mut` (VM-5).
unsafe impl Sync for StoreOpaque {}

pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) limiter: Option<LimiterFn<T>>,
    pub(crate) epoch_callback: Option<EpochCallback<T>>,
    /// Counts changes of the epoch deadline behaviour, so that a callback
    /// that changes it is not put back after it returns.
    pub(crate) epoch_behavior_changes: u64,
    pub(crate) data: T,
}

/// Owns everything instantiated in it (instances, memories, tables,
/// globals, host functions) and the embedder's data `T`, which host
/// functions reach through [`Caller::data`].
///
/// Everything is freed when the store is dropped.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

impl<T> core::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.opaque.id)
            .finish_non_exhaustive()
    }
}

impl<T> Store<T> {
    /// A new, empty store for modules of `engine`, holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        Store {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: StoreId::fresh(),
                    engine: engine.clone(),
                    store_context: RawStoreContext::new(engine),
                    instances: Vec::new(),
                    funcs: Vec::new(),
                    func_by_ref: HashMap::new(),
                    host_contexts: Vec::new(),
                    host_funcs_without_wasm_call: Vec::new(),
                    instance_by_vmctx: HashMap::new(),
                    externrefs: Vec::new(),
                    externref_by_ptr: HashMap::new(),
                    exn_heap: keel_vm::ExnHeap::default(),
                    tags: Vec::new(),
                    tag_by_def: HashMap::new(),
                    activations: Activations::default(),
                    exn_holds: HashMap::new(),
                    next_exn_hold: 0,
                    fuel_reserve: 0,
                    fuel_yield_interval: None,
                    async_cx: core::ptr::null(),
                    fiber_stack: None,
                    pending_error: None,
                    instance_count: 0,
                    memory_count: 0,
                    table_count: 0,
                    instance_limit: crate::DEFAULT_INSTANCE_LIMIT,
                    memory_limit: crate::DEFAULT_MEMORY_LIMIT,
                    table_limit: crate::DEFAULT_TABLE_LIMIT,
                },
                limiter: None,
                epoch_callback: None,
                epoch_behavior_changes: 0,
                data,
            }),
        }
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Take the host data out, dropping the store.
    pub fn into_data(self) -> T {
        self.inner.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }
}

impl StoreOpaque {
    /// Give host functions that were created without a wasm-to-array
    /// trampoline the one the engine now has for their type (a module
    /// loaded since brought it). Called before each instantiation: a
    /// module can only call a host function through a signature it has a
    /// trampoline for, and it is registered with the engine when loaded,
    /// so by the time its code runs in this store, every host function it
    /// could reach has its entry.
    pub(crate) fn fill_wasm_calls(&mut self) -> Result<()> {
        if self.host_funcs_without_wasm_call.is_empty() {
            return Ok(());
        }
        let mut pending = core::mem::take(&mut self.host_funcs_without_wasm_call);
        let mut result = Ok(());
        pending.retain(|&i| {
            let ctx = &self.host_contexts[i];
            // SAFETY: the func ref of a live host context.
            let type_index = unsafe { (*ctx.func_ref()).type_index };
            let Some(ty) = self.engine.lookup_type(type_index) else {
                return true;
            };
            match self.engine.host_trampoline(&ty) {
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
        self.host_funcs_without_wasm_call = pending;
        result
    }

    /// The error a [`VMStore`] hook recorded when it returned
    /// [`StoreTrap`].
    pub(crate) fn take_pending_error(&mut self) -> anyhow::Error {
        self.pending_error
            .take()
            .unwrap_or_else(|| anyhow::anyhow!("the store failed an operation without an error"))
    }
}

impl<T: Default> Default for Store<T> {
    /// A store for the default [`Engine`] holding `T::default()`.
    ///
    /// # Panics
    ///
    /// As [`Engine::default`], if the host CPU is not supported.
    fn default() -> Self {
        Store::new(&Engine::default(), T::default())
    }
}
