//! [`Store`]: owner of instances, host functions and host state, and the
//! bottom of the API: [`StoreOpaque`] holds one part per concern, each a
//! struct with private fields in a file that imports nothing from the
//! files above the store (`func_state.rs`, `exception_state.rs`,
//! `externref_state.rs`, `fiber_state.rs`, `activations.rs`,
//! `resource_limiter.rs`; the handles in `handles.rs`). Each concern
//! keeps its methods on the store in its own file: fuel in `fuel.rs`,
//! epochs in `epoch.rs`, the builtins' view in `vm_store.rs`, the context
//! traits in `context.rs`, functions and calls in `func.rs`.

use crate::activations::Activations;
use crate::exception_state::ExceptionState;
use crate::fiber_state::AsyncState;
use crate::func_state::FuncState;
use crate::gc_state::GcRootSet;
use crate::handles::{Extern, StoreId};
use crate::module::Module;
use crate::prelude::*;
use crate::resource_limiter::{LimiterFn, ResourceCounts, ResourceLimiter};
use crate::{Engine, Result};
use hashbrown::HashMap;
use keel_vm::VMStoreContext;

/// The part of a store that does not depend on its host data type.
pub(crate) struct StoreOpaque {
    pub(crate) id: StoreId,
    pub(crate) engine: Engine,
    /// Read and written by compiled code through every VMContext, and by
    /// host calls; owned through a raw pointer so those pointers stay
    /// valid (VM-5).
    pub(crate) store_context: RawStoreContext,
    pub(crate) instances: Vec<InstanceData>,
    /// Function handles, and the host functions' contexts.
    pub(crate) funcs: FuncState,
    pub(crate) instance_by_vmctx: HashMap<usize, usize>,
    /// Host data of extern references.
    pub(crate) gc_roots: GcRootSet,
    /// Exception objects, tags and the host's holds on uncaught
    /// exceptions.
    pub(crate) exceptions: ExceptionState,
    /// The calls into wasm running on this store, and the exit frames
    /// the exception collector walks (see [`crate::activations`]).
    pub(crate) activations: Activations,
    /// Fuel beyond what is in the store context's counter (which holds
    /// at most `i64::MAX`, or the yield interval).
    pub(crate) fuel_reserve: u64,
    /// The running async call's fiber, the kept stack, the fuel yield
    /// interval.
    pub(crate) async_state: AsyncState,
    /// An error a [`VMStore`] hook recorded for a builtin that then made
    /// compiled code trap; reported in place of the trap code.
    pub(crate) pending_error: Option<anyhow::Error>,
    /// Instances, memories and tables created so far, and the limits.
    pub(crate) resources: ResourceCounts,
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

/// A store: the part that does not depend on its host data type, and the
/// parts that do.
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
/// functions reach through [`Caller::data`](crate::Caller::data).
///
/// Everything is freed when the store is dropped.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

impl<T> StoreInner<T> {
    /// The installed limiter, if any.
    pub(crate) fn resource_limiter(&mut self) -> Option<&mut dyn ResourceLimiter> {
        let limiter = self.limiter.as_mut()?;
        Some(limiter(&mut self.data))
    }
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
        let mut exceptions = ExceptionState::default();
        exceptions
            .heap_mut()
            .set_limit(engine.config().max_gc_heap_size);
        Store {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: StoreId::fresh(),
                    engine: engine.clone(),
                    store_context: RawStoreContext::new(engine),
                    instances: Vec::new(),
                    funcs: FuncState::default(),
                    instance_by_vmctx: HashMap::new(),
                    gc_roots: GcRootSet::default(),
                    exceptions,
                    activations: Activations::default(),
                    fuel_reserve: 0,
                    async_state: AsyncState::default(),
                    pending_error: None,
                    resources: ResourceCounts::default(),
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

impl<T> Store<T> {
    /// Install a [`ResourceLimiter`]: `limiter` returns it from the
    /// store's data, as Wasmtime's `Store::limiter`. Its instance, memory
    /// and table counts are read now and enforced from the next
    /// instantiation on; its growth decisions apply to every later
    /// creation or growth of a memory or table in this store.
    pub fn limiter(
        &mut self,
        mut limiter: impl (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static,
    ) {
        let inner = &mut *self.inner;
        inner.opaque.resources.set_limits(limiter(&mut inner.data));
        inner.limiter = Some(Box::new(limiter));
    }
}

/// The closure installed by [`Store::epoch_deadline_callback`].
pub(crate) type EpochCallback<T> =
    Box<dyn FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync>;

/// What an [`epoch_deadline_callback`](Store::epoch_deadline_callback)
/// tells the guest to do, as Wasmtime's `UpdateDeadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateDeadline {
    /// Go on running; the new deadline is this many ticks past the
    /// engine's current epoch.
    Continue(u64),
    /// Suspend the guest (its `call_async` future returns `Pending`, with
    /// its waker woken at once); when it is resumed, go on with a deadline
    /// this many ticks past the epoch at that time. Only for async calls
    /// ([`Config::async_support`](crate::Config::async_support)); in a
    /// synchronous call the guest traps with an error saying so.
    Yield(u64),
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

/// What a store keeps of an instance.
pub(crate) struct InstanceData {
    pub(crate) handle: keel_vm::InstanceHandle,
    /// The module, keeping its code alive; `None` for the single-entity
    /// instances behind host-created memories, tables and globals.
    pub(crate) _module: Option<Module>,
    pub(crate) exports: Vec<(String, Extern)>,
}
