//! [`Store`]: owner of instances, host functions and host state, and the
//! context traits that let APIs take a store, a [`Caller`] or a reference.

use crate::func::{Caller, FuncData};
use crate::instance::InstanceData;
use crate::prelude::*;
use crate::{Engine, Func};
use crate::{ResourceLimiter, Result};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use hashbrown::HashMap;
use keel_vm::{StoreTrap, VMHostFuncContext, VMStore, VMStoreContext, VmError};

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
    /// How many host-to-wasm calls are active on this store.
    pub(crate) wasm_depth: usize,
    /// The return address and frame pointer of the wasm frame that called
    /// the host, for each active call but the innermost (`call_raw` saves
    /// them when a host function calls wasm again; (0, 0) when the host
    /// was not called from wasm): where the collector of exception objects
    /// finds the frames of the interrupted activations.
    pub(crate) outer_wasm_exits: Vec<(usize, usize)>,
    /// Whether a builtin is running a store callback (the epoch
    /// callback) in the innermost activation: a call into wasm from there
    /// cannot name the interrupted activation's frames, and pushes
    /// [`UNKNOWN_WASM_EXIT`] (which, popped, sets this again).
    pub(crate) in_builtin_callback: bool,
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

/// In [`StoreOpaque::outer_wasm_exits`]: an activation interrupted by a
/// builtin's callback, whose wasm frames cannot be walked, so exception
/// objects are not collected until it resumes (see
/// [`keel_vm::ExnHeap::defer_collection`]).
pub(crate) const UNKNOWN_WASM_EXIT: (usize, usize) = (usize::MAX, usize::MAX);

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

/// The closure installed by [`Store::limiter`].
type LimiterFn<T> = Box<dyn (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync>;

/// The closure installed by [`Store::epoch_deadline_callback`].
type EpochCallback<T> =
    Box<dyn FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync>;

pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) limiter: Option<LimiterFn<T>>,
    pub(crate) epoch_callback: Option<EpochCallback<T>>,
    /// Counts changes of the epoch deadline behaviour, so that a callback
    /// that changes it is not put back after it returns.
    pub(crate) epoch_behavior_changes: u64,
    pub(crate) data: T,
}

impl<T> StoreInner<T> {
    fn set_epoch_callback(&mut self, callback: Option<EpochCallback<T>>) {
        self.epoch_callback = callback;
        self.epoch_behavior_changes += 1;
    }
}

/// A store's epoch deadline, detached from the store
/// ([`Caller::epoch_deadline`](crate::Caller::epoch_deadline)): a host
/// function that waits polls [`reached`](EpochDeadline::reached) between
/// bounded waits, while it holds borrows of the store's memory or data.
/// It is `Send + Sync` and cheap to clone (an engine handle and a number),
/// so a backend may hand it to another thread.
#[derive(Clone)]
pub struct EpochDeadline {
    pub(crate) engine: Engine,
    /// The epoch at which the deadline is reached; `u64::MAX` (never)
    /// without epoch interruption.
    pub(crate) deadline: u64,
}

impl EpochDeadline {
    /// Whether the engine's epoch has reached the deadline: the guest's
    /// time is up, and the host function should return and call
    /// [`Caller::check_epoch_deadline`](crate::Caller::check_epoch_deadline).
    /// One relaxed atomic load.
    pub fn reached(&self) -> bool {
        self.deadline != u64::MAX && self.engine.current_epoch() >= self.deadline
    }

    /// Whether the deadline can be reached at all: `false` when the
    /// engine has no epoch interruption. A host function waits in bounded
    /// slices only when it is.
    pub fn enabled(&self) -> bool {
        self.deadline != u64::MAX
    }

    /// A deadline that is never reached, for waits outside any store.
    pub fn never(engine: &Engine) -> EpochDeadline {
        EpochDeadline {
            engine: engine.clone(),
            deadline: u64::MAX,
        }
    }
}

impl core::fmt::Debug for EpochDeadline {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EpochDeadline")
            .field("deadline", &self.deadline)
            .field("epoch", &self.engine.current_epoch())
            .finish()
    }
}

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
                    wasm_depth: 0,
                    outer_wasm_exits: Vec::new(),
                    in_builtin_callback: false,
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

    /// Set the fuel left for wasm in this store to `fuel` units
    /// ([`Config::consume_fuel`](crate::Config::consume_fuel)).
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.inner.opaque.set_fuel(fuel)
    }

    /// The exception objects this store holds: `(count, bytes)`. An
    /// exception caught by `catch` or `catch_all` is freed by its handler.
    /// One that became an `exnref` value (caught with `catch_ref` or
    /// `catch_all_ref`, or stored in a payload) is freed by a collection
    /// once no `exnref` in a wasm frame, global, table or live payload
    /// refers to it; collections run inside `throw`, when the count has
    /// doubled since the last one (and is at least 1024). An exception the
    /// host has seen lives as long as the store.
    pub fn exception_heap_usage(&self) -> (usize, usize) {
        let heap = &self.inner.opaque.exn_heap;
        (heap.len(), heap.bytes())
    }

    /// Collect now the exception objects no root reaches (see
    /// [`Store::exception_heap_usage`] for what they are) instead of at a
    /// later throw. Does nothing while a call into wasm is running (from a
    /// host function or a callback): there the references in the wasm
    /// frames are only known at throws, where collections run anyway.
    pub fn gc(&mut self) {
        let inner = &mut *self.inner;
        if inner.opaque.wasm_depth != 0 {
            return;
        }
        let mut roots = keel_vm::ExnRoots::default();
        let complete = keel_vm::VMStore::trace_exn_roots(inner, &mut |raw| roots.visit(raw));
        debug_assert!(complete, "no activation outside calls");
        // SAFETY: no wasm runs on this store, so no frame holds a
        // reference; the roots are its globals, tables and live
        // `ThrownException`s, besides the pinned and unescaped objects.
        unsafe { inner.opaque.exn_heap.collect(&roots) };
    }

    /// The fuel left; 0 once wasm has trapped with
    /// [`Trap::OutOfFuel`](crate::Trap::OutOfFuel).
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn get_fuel(&self) -> Result<u64> {
        self.inner.opaque.get_fuel()
    }

    /// Set the epoch deadline to `ticks_beyond_current` ticks after the
    /// engine's current epoch
    /// ([`Config::epoch_interruption`](crate::Config::epoch_interruption)).
    /// Wasm reaching it traps or runs the callback, see
    /// [`epoch_deadline_trap`](Store::epoch_deadline_trap) and
    /// [`epoch_deadline_callback`](Store::epoch_deadline_callback).
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.inner.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// Reaching the epoch deadline suspends the guest and, when it is
    /// resumed, moves the deadline `delta` ticks past the epoch at that
    /// time (a time slice of `delta` ticks per resumption), as Wasmtime's
    /// method of the same name: an async call ([`Func::call_async`],
    /// [`TypedFunc::call_async`](crate::TypedFunc::call_async)) returns
    /// `Pending` and wakes its task at once, so an executor can run other
    /// guests before it polls this one again. A synchronous call that
    /// reaches the deadline traps with an error saying it cannot yield.
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.inner
            .set_epoch_callback(Some(Box::new(move |_| Ok(UpdateDeadline::Yield(delta)))));
    }

    /// In async calls, suspend the guest every `interval` units of fuel
    /// it consumes (as Wasmtime's method of the same name): its future
    /// returns `Pending` and wakes its task at once. The store's fuel
    /// still bounds the guest as a whole. `None` (the default) never
    /// yields. Synchronous calls are not affected.
    ///
    /// # Errors
    ///
    /// If fuel or async support is not enabled in the engine's
    /// configuration, or `interval` is `Some(0)`.
    pub fn fuel_async_yield_interval(&mut self, interval: Option<u64>) -> Result<()> {
        let opaque = &mut self.inner.opaque;
        opaque.ensure_fuel()?;
        crate::fiber::ensure_async_support(&opaque.engine, "fuel yields")?;
        anyhow::ensure!(interval != Some(0), "a fuel yield interval must not be 0");
        let left = opaque.fuel_left();
        opaque.fuel_yield_interval = interval;
        opaque.inject_fuel(left);
        Ok(())
    }

    /// Reaching the epoch deadline traps with
    /// [`Trap::Interrupt`](crate::Trap::Interrupt) (the default).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.set_epoch_callback(None);
    }

    /// Reaching the epoch deadline calls `callback` with the store. It
    /// returns [`UpdateDeadline::Continue`]`(ticks)` to let the guest go
    /// on with a deadline `ticks` past the current epoch, or an error,
    /// which stops the guest: the wasm call returns that error (with the
    /// wasm backtrace attached).
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync + 'static,
    ) {
        self.inner.set_epoch_callback(Some(Box::new(callback)));
    }

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
        let l = limiter(&mut inner.data);
        (
            inner.opaque.instance_limit,
            inner.opaque.memory_limit,
            inner.opaque.table_limit,
        ) = (l.instances(), l.memories(), l.tables());
        inner.limiter = Some(Box::new(limiter));
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

    fn ensure_fuel(&self) -> Result<()> {
        anyhow::ensure!(
            self.engine.config().consume_fuel,
            "fuel is not configured in this store: enable `Config::consume_fuel`"
        );
        Ok(())
    }

    pub(crate) fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.ensure_fuel()?;
        self.inject_fuel(fuel);
        Ok(())
    }

    /// Put up to `i64::MAX` of `fuel` in the counter compiled code uses
    /// and the rest in the reserve.
    fn inject_fuel(&mut self, fuel: u64) {
        let injected = fuel
            .min(i64::MAX as u64)
            .min(self.fuel_yield_interval.unwrap_or(u64::MAX));
        self.fuel_reserve = fuel - injected;
        // SAFETY: the store context is the store's own allocation; no
        // wasm runs while the store is borrowed here, or the running wasm
        // has written its counter back (before calls and builtins).
        unsafe { (*self.store_context.as_ptr()).fuel_consumed = -(injected as i64) };
    }

    pub(crate) fn get_fuel(&self) -> Result<u64> {
        self.ensure_fuel()?;
        Ok(self.fuel_left())
    }

    fn fuel_left(&self) -> u64 {
        // SAFETY: as in `inject_fuel`.
        let consumed = unsafe { (*self.store_context.as_ptr()).fuel_consumed };
        self.fuel_reserve
            .saturating_add_signed(consumed.saturating_neg())
    }

    /// The store's epoch deadline as it stands, detached from the store
    /// (never reached when the engine has no epoch interruption).
    pub(crate) fn epoch_deadline(&self) -> crate::EpochDeadline {
        let deadline = if self.engine.config().epoch_interruption {
            // SAFETY: as in `inject_fuel`.
            unsafe { (*self.store_context.as_ptr()).epoch_deadline }
        } else {
            u64::MAX
        };
        crate::EpochDeadline {
            engine: self.engine.clone(),
            deadline,
        }
    }

    pub(crate) fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        let deadline = self
            .engine
            .current_epoch()
            .saturating_add(ticks_beyond_current);
        // SAFETY: as in `inject_fuel`.
        unsafe { (*self.store_context.as_ptr()).epoch_deadline = deadline };
    }

    /// Count a new instance with `memories` memories and `tables` tables
    /// against the store's limits.
    pub(crate) fn bump_resource_counts(
        &mut self,
        memories: usize,
        tables: usize,
        instances: usize,
    ) -> Result<()> {
        fn bump(count: &mut usize, limit: usize, n: usize, what: &str) -> Result<()> {
            let new = count.saturating_add(n);
            if new > limit {
                anyhow::bail!(
                    "resource limit exceeded: {what} count too high at {new} (the store allows {limit})"
                );
            }
            *count = new;
            Ok(())
        }
        bump(
            &mut self.instance_count,
            self.instance_limit,
            instances,
            "instance",
        )?;
        bump(
            &mut self.memory_count,
            self.memory_limit,
            memories,
            "memory",
        )?;
        bump(&mut self.table_count, self.table_limit, tables, "table")?;
        Ok(())
    }

    /// The error a [`VMStore`] hook recorded when it returned
    /// [`StoreTrap`].
    pub(crate) fn take_pending_error(&mut self) -> anyhow::Error {
        self.pending_error
            .take()
            .unwrap_or_else(|| anyhow::anyhow!("the store failed an operation without an error"))
    }
}

impl<T> StoreInner<T> {
    /// The store as the runtime's builtins see it, with its lifetime
    /// erased: only stored in the store context while a call borrows the
    /// store exclusively (VM-5), and cleared when the call returns.
    pub(crate) fn as_vm_store(&mut self) -> core::ptr::NonNull<dyn VMStore> {
        let ptr: core::ptr::NonNull<dyn VMStore + '_> = core::ptr::NonNull::from(self);
        // SAFETY: only the trait object's lifetime bound changes; the
        // pointer is used only while the store is alive and borrowed by
        // the call that published it.
        unsafe {
            core::mem::transmute::<
                core::ptr::NonNull<dyn VMStore + '_>,
                core::ptr::NonNull<dyn VMStore + 'static>,
            >(ptr)
        }
    }

    /// The installed limiter, if any.
    pub(crate) fn resource_limiter(&mut self) -> Option<&mut dyn ResourceLimiter> {
        let limiter = self.limiter.as_mut()?;
        Some(limiter(&mut self.data))
    }

    /// Record `result`'s error (if any) for the builtin's caller to report.
    fn record<R>(&mut self, result: Result<R>) -> Result<R, StoreTrap> {
        result.map_err(|e| {
            self.opaque.pending_error = Some(e);
            StoreTrap
        })
    }

    /// Ask the limiter, at creation, whether a memory of type `ty` (its
    /// minimum, and its declared maximum) may exist; `what` names it in
    /// errors.
    pub(crate) fn check_new_memory(
        &mut self,
        what: impl FnOnce() -> String,
        ty: &keel_translate::MemoryType,
    ) -> Result<()> {
        let (minimum, maximum) = (ty.limits.min, ty.limits.max);
        let bytes = |p: u64| usize::try_from(ty.pages_to_bytes(p)).unwrap_or(usize::MAX);
        let Some(limiter) = self.resource_limiter() else {
            return Ok(());
        };
        if !limiter.memory_growing(0, bytes(minimum), maximum.map(bytes))? {
            let limit = match limiter.memory_size_limit() {
                Some(l) => format!("the store's limit of {l} bytes"),
                None => "the store's resource limiter".into(),
            };
            anyhow::bail!(
                "{}: minimum size of {minimum} pages ({} bytes) exceeds {limit}",
                what(),
                bytes(minimum)
            );
        }
        Ok(())
    }

    /// As [`check_new_memory`](Self::check_new_memory) for a table of
    /// `minimum` elements.
    pub(crate) fn check_new_table(
        &mut self,
        what: impl FnOnce() -> String,
        minimum: u64,
        maximum: Option<u64>,
    ) -> Result<()> {
        let n = |e: u64| usize::try_from(e).unwrap_or(usize::MAX);
        let Some(limiter) = self.resource_limiter() else {
            return Ok(());
        };
        if !limiter.table_growing(0, n(minimum), maximum.map(n))? {
            let limit = match limiter.table_elements_limit() {
                Some(l) => format!("the store's limit of {l} elements"),
                None => "the store's resource limiter".into(),
            };
            anyhow::bail!(
                "{}: minimum size of {minimum} elements exceeds {limit}",
                what()
            );
        }
        Ok(())
    }
}

impl<T> StoreInner<T> {
    /// Ask the limiter with `ask` (`allow` without one), recording an
    /// error for the builtin's caller to report.
    fn ask_limiter<R>(
        &mut self,
        allow: R,
        ask: impl FnOnce(&mut dyn ResourceLimiter) -> Result<R>,
    ) -> Result<R, StoreTrap> {
        let result = match self.resource_limiter() {
            Some(limiter) => ask(limiter),
            None => Ok(allow),
        };
        self.record(result)
    }
}

impl<T> VMStore for StoreInner<T> {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap> {
        self.ask_limiter(true, |l| l.memory_growing(current, desired, maximum))
    }

    fn memory_grow_failed(&mut self, error: VmError) -> Result<(), StoreTrap> {
        self.ask_limiter((), |l| l.memory_grow_failed(error.into()))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap> {
        self.ask_limiter(true, |l| l.table_growing(current, desired, maximum))
    }

    fn table_grow_failed(&mut self, error: VmError) -> Result<(), StoreTrap> {
        self.ask_limiter((), |l| l.table_grow_failed(error.into()))
    }

    fn out_of_gas(&mut self) -> Result<(), StoreTrap> {
        // Move fuel from the reserve into the counter, if any is left.
        let left = self.opaque.fuel_left();
        if left == 0 {
            return Err(StoreTrap);
        }
        self.opaque.inject_fuel(left);
        // The counter ran out at a yield interval: let other work run.
        // A synchronous call just goes on.
        if self.opaque.fuel_yield_interval.is_some() && !self.opaque.async_cx.is_null() {
            // SAFETY: the store's `async_cx` is its running fiber's.
            let result = unsafe { crate::fiber::yield_now(self.opaque.async_cx) };
            self.record(result)?;
        }
        Ok(())
    }

    fn exn_heap(&mut self) -> &mut keel_vm::ExnHeap {
        &mut self.opaque.exn_heap
    }

    fn trace_exn_roots(&mut self, visit: &mut dyn FnMut(usize)) -> bool {
        if self.opaque.outer_wasm_exits.contains(&UNKNOWN_WASM_EXIT) {
            return false;
        }
        // An uncaught exception lives while its `ThrownException` does:
        // the store's hold is the last one once the error was dropped.
        self.opaque.exn_holds.retain(|_, (raw, hold)| {
            let alive = Arc::get_mut(hold).is_none();
            if alive {
                visit(*raw);
            }
            alive
        });
        for &(pc, fp) in &self.opaque.outer_wasm_exits {
            // SAFETY: each is the exit frame of an activation that called
            // the host, which called wasm again (`call_raw`): its wasm
            // frames are live below the running one, at calls.
            unsafe { keel_trap::unwind::trace_stack_roots(pc, fp, visit) };
        }
        for instance in &self.opaque.instances {
            instance.handle.trace_exn_roots(visit);
        }
        true
    }

    fn epoch_deadline_reached(&self) -> bool {
        self.opaque.epoch_deadline().reached()
    }

    fn epoch_interruption(&self) -> bool {
        self.opaque.engine.config().epoch_interruption
    }

    fn new_epoch(&mut self) -> Result<(), StoreTrap> {
        let Some(mut callback) = self.epoch_callback.take() else {
            // Trap with `Interrupt`.
            return Err(StoreTrap);
        };
        let changes = self.epoch_behavior_changes;
        // The callback may call into wasm while the interrupted wasm's
        // frames have no recorded exit frame (a builtin called us, not a
        // wasm-to-host trampoline).
        let outer = core::mem::replace(&mut self.opaque.in_builtin_callback, true);
        let result = callback(StoreContextMut(self));
        self.opaque.in_builtin_callback = outer;
        // Put the callback back unless it chose another behaviour.
        if self.epoch_behavior_changes == changes {
            self.epoch_callback = Some(callback);
        }
        match self.record(result)? {
            UpdateDeadline::Continue(ticks) => self.opaque.set_epoch_deadline(ticks),
            UpdateDeadline::Yield(ticks) => {
                // SAFETY: the store's `async_cx` is null or its running
                // fiber's.
                let result = unsafe { crate::fiber::yield_now(self.opaque.async_cx) };
                self.record(result)?;
                // Counted from when the guest runs again, so that each
                // resumption gets a whole time slice (as Wasmtime does).
                self.opaque.set_epoch_deadline(ticks);
            }
        }
        Ok(())
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

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }

    /// As [`Store::set_fuel`].
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.0.opaque.set_fuel(fuel)
    }

    /// As [`Store::get_fuel`].
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn get_fuel(&self) -> Result<u64> {
        self.0.opaque.get_fuel()
    }

    /// As [`Store::set_epoch_deadline`].
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.0.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// As [`Store::epoch_deadline_trap`]; called from the epoch callback,
    /// the next deadline traps.
    pub fn epoch_deadline_trap(&mut self) {
        self.0.set_epoch_callback(None);
    }
}

/// Something that gives shared access to a store: [`Store`],
/// [`StoreContext`], [`StoreContextMut`], [`Caller`], or a reference to one.
pub trait AsContext {
    /// The store's host data type.
    type Data;

    /// Borrow the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Something that gives exclusive access to a store.
pub trait AsContextMut: AsContext {
    /// Borrow the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

impl<'a, T> From<&'a Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<&'a Caller<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a Caller<'_, T>) -> Self {
        StoreContext(c.store)
    }
}

impl<'a, T> From<&'a mut Caller<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a mut Caller<'_, T>) -> Self {
        StoreContext(c.store)
    }
}

impl<'a, T> From<StoreContextMut<'a, T>> for StoreContext<'a, T> {
    fn from(c: StoreContextMut<'a, T>) -> Self {
        StoreContext(c.0)
    }
}

impl<'a, T> From<&'a StoreContextMut<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a StoreContextMut<'_, T>) -> Self {
        StoreContext(c.0)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContextMut<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContextMut(&mut s.inner)
    }
}

impl<'a, T> From<&'a mut Caller<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut Caller<'_, T>) -> Self {
        StoreContextMut(c.store)
    }
}

impl<'a, T> From<&'a mut StoreContextMut<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut StoreContextMut<'_, T>) -> Self {
        StoreContextMut(c.0)
    }
}
