//! [`Func`]: wasm and host functions, calls into wasm, and [`Caller`].
//! The handle is defined in `handles.rs`; the store's record of its
//! functions and host contexts is `func_state.rs`.

use crate::activations::EnterWasm;
use crate::prelude::*;
use crate::store::{StoreContext, StoreContextMut, StoreInner, StoreOpaque};
use crate::typed::{IntoFunc, TypedFunc, WasmParams, WasmResults};
use crate::{
    AsContext, AsContextMut, Extern, Func, FuncType, Instance, Result, Trap, Val, WasmBacktrace,
};
use keel_trap::UnwindReason;
use keel_vm::{VMFuncRef, VMHostFuncContext, ValRaw};

/// A host function body, type-erased.
type HostBody<T> = dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync;

/// The body of a host function after parameter decoding was set up: it
/// reads its parameters from and writes its results to the slots. Shared
/// by every store the function is created in (a [`Linker`](crate::Linker)
/// definition), with the array-call entry monomorphized for the body's
/// type: wasm calls the body directly, without a virtual call. Public only
/// because [`IntoFunc`] names it; it cannot be named outside keel.
#[doc(hidden)]
pub struct HostFn<T> {
    /// The body, kept alive (and type-erased) here.
    body: alloc::sync::Arc<HostBody<T>>,
    /// `host_array_call::<T, B>` for the body's type `B`.
    entry: keel_vm::VMArrayCallFn,
}

impl<T> Clone for HostFn<T> {
    fn clone(&self) -> Self {
        Self {
            body: self.body.clone(),
            entry: self.entry,
        }
    }
}

impl<T: 'static> HostFn<T> {
    /// A host function body with its own array-call entry.
    pub(crate) fn new<B>(body: B) -> Self
    where
        B: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    {
        Self {
            body: alloc::sync::Arc::new(body),
            entry: host_array_call::<T, B>,
        }
    }
}

/// What a host function's context holds: where to find its store while
/// it runs, and its body.
struct HostFuncState<T> {
    store_context: StoreContextPtr,
    /// The body's data, of the type the context's entry was instantiated
    /// for (inside `func`'s allocation).
    body: BodyPtr,
    /// Owns the body `body` points into.
    _func: HostFn<T>,
    _store: core::marker::PhantomData<fn(T)>,
}

/// A host function body's data ([`HostFuncState::body`]).
struct BodyPtr(*const ());
// SAFETY: it points to a body that is `Send + Sync` ([`HostFn::new`]),
// kept alive by the `HostFn` next to it.
unsafe impl Send for BodyPtr {}
// SAFETY: as above.
unsafe impl Sync for BodyPtr {}

/// The store's `VMStoreContext` (its raw owning pointer, VM-5); while a
/// call runs, its `store` field is the running store.
struct StoreContextPtr(*mut keel_vm::VMStoreContext);
// SAFETY: only dereferenced by host functions, which run on the thread
// that is running the store's wasm code with exclusive access to it.
unsafe impl Send for StoreContextPtr {}
// SAFETY: as above.
unsafe impl Sync for StoreContextPtr {}

/// Run a host function body, catching a panic (with `std`; without it
/// panics abort).
fn catch_host_panic<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn core::any::Any + Send>> {
    #[cfg(feature = "std")]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
    }
    #[cfg(not(feature = "std"))]
    {
        Ok(f())
    }
}

/// The host function's side of the array-call convention, for a body of
/// type `B`.
unsafe extern "C" fn host_array_call<T: 'static, B>(
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    _wasm_call: *const u8,
    values: *mut ValRaw,
    values_len: usize,
) where
    B: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    let reason = {
        // SAFETY: `callee_vmctx` is the context this entry was registered
        // with in `new_host_func`, kept alive by the store.
        let ctx = unsafe { VMHostFuncContext::from_vmctx(callee_vmctx) };
        // SAFETY: `host_array_call::<T, B>` is only installed, by
        // `new_host_func::<T>` from a `HostFn::<T>::new::<B>`, together
        // with a `HostFuncState<T>` whose `body` is that `B`.
        let state = unsafe { ctx.host_state_unchecked::<HostFuncState<T>>() };
        // SAFETY: as above; `func` keeps the body alive.
        let body = unsafe { &*state.body.0.cast::<B>() };
        // SAFETY: the store context outlives the store's host functions
        // (VM-5). Every call into wasm (`call_raw`) publishes the store it
        // runs in as `store`, derived from that call's own exclusive
        // borrow, which it does not use until we return; `T` is that
        // store's data type (`new_host_func::<T>` registered us in it).
        //
        // Host functions are only reached through `call_raw` (called by it
        // or by the wasm it runs), so `store` is `Some` here. Release
        // builds do not check it: the check would keep the loads alive for
        // bodies that never look at their `Caller`.
        let store = unsafe {
            let running = (*state.store_context.0).store;
            debug_assert!(running.is_some(), "host function called outside call_raw");
            &mut *running.unwrap_unchecked().cast::<StoreInner<T>>().as_ptr()
        };
        // SAFETY: the trampoline passes `values_len` valid slots.
        let values = unsafe { core::slice::from_raw_parts_mut(values, values_len) };
        // The references the host function roots are unrooted when it
        // returns (Wasmtime's scope for host calls).
        let roots = store.opaque.gc_roots.depth();
        let caller = Caller {
            store,
            caller_vmctx,
        };
        let result = catch_host_panic(|| body(caller, values));
        store.opaque.gc_roots.truncate(roots);
        match result {
            Ok(Ok(())) => return,
            Ok(Err(e)) => {
                // SAFETY: the store context is alive (as above); these are
                // plain integers no one writes while the host function runs.
                let ctx = unsafe { &*state.store_context.0 };
                // `to_raw` refuses an exception of another store, or one a
                // dropped `ThrownException` held that was collected since.
                if let Some(Ok(exn)) = e
                    .downcast_ref::<crate::ThrownException>()
                    .map(|thrown| thrown.exn().to_raw(&store.opaque))
                {
                    // A wasm exception: it unwinds the wasm frames above
                    // this call as if the calling wasm had thrown it.
                    let (pc, fp) = (ctx.last_wasm_exit_pc, ctx.last_wasm_exit_fp);
                    drop(e);
                    tracing::debug!("host function threw a wasm exception");
                    // SAFETY: the exception is a live object of the running
                    // store (`to_raw` checked it); the wasm-to-host trampoline
                    // stored its caller's return address and frame pointer
                    // (TRAP-3); nothing in this frame needs dropping.
                    unsafe {
                        keel_vm::throw(
                            core::ptr::NonNull::new_unchecked(exn as *mut keel_vm::VMExnObject),
                            pc,
                            fp,
                        )
                    }
                }
                tracing::debug!(error = %e, "host function returned an error; unwinding the wasm frames");
                // SAFETY: the wasm-to-host trampoline that called us stored
                // the calling wasm frame's fp and return address (TRAP-3).
                let bt = unsafe {
                    keel_trap::RawBacktrace::capture(
                        ctx.last_wasm_exit_pc,
                        ctx.last_wasm_exit_fp,
                        true,
                    )
                };
                UnwindReason::User(Box::new(e), bt)
            }
            Err(payload) => {
                tracing::debug!("host function panicked; unwinding the wasm frames");
                UnwindReason::Panic(payload)
            }
        }
    };
    // SAFETY: we were called from wasm under `catch_traps` (every entry
    // goes through `call_raw`), and nothing in this frame needs dropping.
    unsafe { keel_trap::raise(reason) }
}

/// Parameters and results a [`Func::new`] call keeps on the stack (more
/// take one allocation per call).
const INLINE_VALS: usize = 8;

/// Register a host function in `store`.
pub(crate) fn new_host_func<T: 'static>(
    store: &mut StoreInner<T>,
    ty: FuncType,
    func: HostFn<T>,
) -> Result<Func> {
    let engine = store.opaque.engine.clone();
    let type_index = engine.register_type(&ty.0);
    let wasm_call = engine.host_trampoline(&ty.0)?;
    let entry = func.entry;
    let state = HostFuncState::<T> {
        store_context: StoreContextPtr(store.opaque.store_context.as_ptr()),
        body: BodyPtr(alloc::sync::Arc::as_ptr(&func.body).cast::<()>()),
        _func: func,
        _store: core::marker::PhantomData,
    };
    let ctx = VMHostFuncContext::new(
        entry,
        wasm_call.unwrap_or(core::ptr::null()),
        type_index,
        Box::new(state),
    );
    let func_ref = ctx.func_ref();
    store
        .opaque
        .funcs
        .push_host_context(ctx, wasm_call.is_some());
    Ok(Func::register(&mut store.opaque, func_ref, ty))
}

impl Func {
    pub(crate) fn register(
        store: &mut StoreOpaque,
        func_ref: *const VMFuncRef,
        ty: FuncType,
    ) -> Func {
        store.funcs.register(store.id, func_ref, ty)
    }

    /// The engine-wide id of this function's type.
    pub(crate) fn type_index(&self, store: &StoreOpaque) -> keel_translate::SharedTypeIndex {
        store.check(self.store);
        // SAFETY: the store owns the function, whose func ref is live and
        // built (it is built before its handle exists).
        unsafe { (*store.funcs.func_ref(self.index)).type_index }
    }

    /// The handle of the function behind `func_ref`.
    pub(crate) fn from_func_ref(store: &mut StoreOpaque, func_ref: *const VMFuncRef) -> Func {
        if let Some(f) = store.funcs.by_func_ref(func_ref) {
            return f;
        }
        // SAFETY: `func_ref` came from a table or global of this store, so
        // it points into a live VMContext or host context; the store is
        // borrowed exclusively. The runtime builds a reference before it
        // hands out its address, so it is built.
        let type_index = unsafe {
            debug_assert!((*func_ref).is_built());
            (*func_ref).type_index
        };
        let ty = store
            .engine
            .lookup_type(type_index)
            .map(FuncType::from_wasm)
            .unwrap_or_else(|| FuncType::new([], []));
        Func::register(store, func_ref, ty)
    }

    /// A host function from a Rust closure; parameter and result types
    /// come from the closure's signature.
    ///
    /// The closure takes `i32`, `i64`, `f32` or `f64` parameters,
    /// optionally preceded by a [`Caller`], and returns `()`, one such
    /// value, a tuple of them, or a [`Result`] of those. An `Err` becomes
    /// the error of the wasm call that reached it.
    ///
    /// # Panics
    ///
    /// If the store is of another engine type, or the host call
    /// trampoline cannot be compiled (an internal code generator failure).
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, body) = func.into_func();
        match new_host_func(store.as_context_mut().0, ty, body) {
            Ok(f) => f,
            Err(e) => panic!("cannot create a host function: {e:#}"),
        }
    }

    /// An async host function from a Rust closure that returns a boxed
    /// future, as Wasmtime's `Func::wrap_async`: `Params` is a tuple of
    /// `i32`, `i64`, `f32`, `f64`, and the future's output is a value, a
    /// tuple of them, or a [`Result`] of those. While the future is
    /// pending, the guest is suspended and its `call_async` future returns
    /// `Pending`; the guest goes on with the output when it is ready.
    ///
    /// # Panics
    ///
    /// If async support is not enabled
    /// ([`Config::async_support`](crate::Config::async_support)), and as
    /// [`Func::wrap`].
    pub fn wrap_async<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl for<'a> Fn(
            Caller<'a, T>,
            Params,
        ) -> Box<dyn core::future::Future<Output = Results> + Send + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Func
    where
        Params: WasmParams,
        Results: crate::WasmRet,
    {
        let inner = store.as_context_mut().0;
        if let Err(e) =
            crate::fiber::ensure_async_support(&inner.opaque.engine, "async host functions")
        {
            panic!("cannot create an async host function: {e}");
        }
        let (ty, body) = crate::typed::async_host_fn(func);
        match new_host_func(inner, ty, body) {
            Ok(f) => f,
            Err(e) => panic!("cannot create a host function: {e:#}"),
        }
    }

    /// A host function of type `ty` taking and returning [`Val`]s.
    ///
    /// # Panics
    ///
    /// As [`Func::wrap`].
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let fty = ty.clone();
        let body: HostFn<T> =
            HostFn::new(move |mut caller: Caller<'_, T>, slots: &mut [ValRaw]| {
                let (n_params, n_results) = (fty.0.params.len(), fty.0.results.len());
                // Values of small signatures live on the stack: no
                // allocation per call, and only the slots used are
                // written.
                let mut inline = [core::mem::MaybeUninit::<Val>::uninit(); INLINE_VALS];
                let mut heap = Vec::new();
                let buffer: &mut [core::mem::MaybeUninit<Val>] =
                    if n_params + n_results <= INLINE_VALS {
                        &mut inline[..n_params + n_results]
                    } else {
                        heap.resize(n_params + n_results, core::mem::MaybeUninit::uninit());
                        &mut heap
                    };
                for ((slot, raw), t) in buffer.iter_mut().zip(slots.iter()).zip(fty.params()) {
                    slot.write(Val::from_raw(&mut caller.store.opaque, *raw, t)?);
                }
                for (slot, t) in buffer[n_params..].iter_mut().zip(fty.results()) {
                    slot.write(Val::default_for(t));
                }
                // SAFETY: every element was written just above (the type
                // has `n_params` parameters and `n_results` results), and
                // `Val` is `Copy`: nothing needs dropping.
                let vals = unsafe {
                    core::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<Val>(), buffer.len())
                };
                let (params, results) = vals.split_at_mut(n_params);
                func(caller.reborrow(), params, results)?;
                for (i, (r, t)) in results.iter().zip(fty.results()).enumerate() {
                    if !r.matches(&caller.store.opaque, t) {
                        anyhow::bail!("host function result {i}: expected {t}, got {}", r.ty());
                    }
                    slots[i] = r.to_raw(&caller.store.opaque)?;
                }
                Ok(())
            });
        match new_host_func(store.as_context_mut().0, ty, body) {
            Ok(f) => f,
            Err(e) => panic!("cannot create a host function: {e:#}"),
        }
    }

    /// The function's type.
    ///
    /// # Panics
    ///
    /// If `store` does not own this function.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = &store.as_context().0.opaque;
        store.check(self.store);
        store.funcs.ty(self.index).clone()
    }

    /// Call the function with `params`, writing its results to `results`.
    ///
    /// # Errors
    ///
    /// If the number or types of `params` or the length of `results` do
    /// not match the function's type, or the call traps ([`Trap`]) or a
    /// host function it calls returns an error.
    ///
    /// # Panics
    ///
    /// If `store` does not own this function, or a host function it calls
    /// panics (the panic resumes here).
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let inner = store.as_context_mut().0;
        // The value slots: on the stack for up to 8 (most calls), as
        // `TypedFunc::call`.
        let n = params.len().max(results.len());
        let mut inline = [ValRaw::default(); 8];
        let mut heap;
        let values: &mut [ValRaw] = if n <= inline.len() {
            &mut inline[..n]
        } else {
            heap = vec![ValRaw::default(); n];
            &mut heap
        };
        let func_ref = self.prepare_call(&inner.opaque, params, results, values)?;
        // SAFETY: `func_ref` belongs to this store and `values` has room
        // for the parameters and results of its type (`prepare_call`).
        unsafe { call_raw(inner, func_ref, values)? };
        self.finish_call(&mut inner.opaque, values, results)
    }

    /// As [`Func::call`], on a stack of its own that async host functions
    /// and async yields can suspend (see
    /// [`Config::async_support`](crate::Config::async_support)). The
    /// future is `Send` when the store's data is; dropping it while the
    /// guest is suspended cancels the call (the guest unwinds as if the
    /// pending host function had failed) and frees what it used.
    ///
    /// # Errors
    ///
    /// If async support is not enabled, the stack for the call cannot be
    /// allocated, and every error of [`Func::call`].
    ///
    /// # Panics
    ///
    /// As [`Func::call`].
    pub async fn call_async(
        &self,
        mut store: impl AsContextMut<Data: Send>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let inner = store.as_context_mut().0;
        crate::fiber::ensure_async_support(&inner.opaque.engine, "async calls")?;
        let mut values = vec![ValRaw::default(); params.len().max(results.len())];
        let func_ref = self.prepare_call(&inner.opaque, params, results, &mut values)?;
        let func_ref = crate::fiber::SendPtr(func_ref);
        let values = crate::fiber::on_fiber(&mut *inner, move |store| {
            let func_ref = func_ref.get();
            // SAFETY: as in `call`.
            unsafe { call_raw(store, func_ref, &mut values) }.map(|()| values)
        })
        .await??;
        self.finish_call(&mut inner.opaque, &values, results)
    }

    /// Check `params` and `results` against the function's type and
    /// encode the parameters into `values` (which has
    /// `max(params.len(), results.len())` slots); returns the function
    /// reference to call. Allocates nothing unless it fails.
    fn prepare_call(
        &self,
        store: &StoreOpaque,
        params: &[Val],
        results: &[Val],
        values: &mut [ValRaw],
    ) -> Result<*const VMFuncRef> {
        store.check(self.store);
        let ty = store.funcs.ty(self.index);
        if params.len() != ty.0.params.len() {
            anyhow::bail!(
                "function of type {ty} expects {} arguments, got {}",
                ty.0.params.len(),
                params.len()
            );
        }
        if results.len() != ty.0.results.len() {
            anyhow::bail!(
                "function of type {ty} has {} results, but {} result slots were given",
                ty.0.results.len(),
                results.len()
            );
        }
        for (i, (p, t)) in params.iter().zip(ty.params()).enumerate() {
            if !p.matches(store, t) {
                anyhow::bail!(
                    "argument {i} of function of type {ty}: expected {t}, got {}",
                    p.ty()
                );
            }
            values[i] = p.to_raw(store)?;
        }
        Ok(store.funcs.func_ref(self.index))
    }

    /// Decode the results the call left in `values` into `results`
    /// (as many as the function's type has, which `prepare_call`
    /// checked).
    fn finish_call(
        &self,
        store: &mut StoreOpaque,
        values: &[ValRaw],
        results: &mut [Val],
    ) -> Result<()> {
        for (i, result) in results.iter_mut().enumerate() {
            // Looked up again for each result: decoding may register an
            // extern reference, which needs the store mutably.
            let Some(t) = store.funcs.ty(self.index).results().nth(i) else {
                break;
            };
            *result = Val::from_raw(store, values[i], t)?;
        }
        Ok(())
    }

    /// A typed view of this function for calls without boxing.
    ///
    /// # Errors
    ///
    /// If `P` and `R` do not match the function's type.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let ty = self.ty(store);
        P::typecheck(&ty.0.params).map_err(|e| anyhow::anyhow!("parameters of {ty}: {e}"))?;
        R::typecheck(&ty.0.results).map_err(|e| anyhow::anyhow!("results of {ty}: {e}"))?;
        Ok(TypedFunc::new(*self))
    }
}

/// Call `func_ref` with the array-call convention under `cpu`'s
/// `catch_traps`, with `values` (`len` slots) as its parameters and
/// results. Returns whether it returned normally; otherwise it wrote how
/// it ended to `reason`.
///
/// An `extern "C"` function that is never inlined, so the compiler knows
/// the call cannot unwind: `catch_traps` hands back every panic of the
/// code it runs as [`UnwindReason::Panic`], and one escaping anyway
/// would abort at this boundary. [`call_raw`]'s [`EnterWasm`] guard is
/// then only ever left by its normal path, and the compiler keeps it in
/// registers instead of also laying it out for an unwinding path that
/// cannot happen (measured with callgrind: about 20 instructions per
/// call).
///
/// # Safety
///
/// `func_ref` is a live function reference; `values` holds its
/// parameters and has room for its results; `cpu` is this CPU's (CPU-1).
#[inline(never)]
unsafe extern "C" fn run_wasm_call(
    cpu: &keel_trap::ThisCpu,
    func_ref: *const VMFuncRef,
    values: *mut ValRaw,
    len: usize,
    reason: &mut core::mem::MaybeUninit<UnwindReason>,
) -> bool {
    // SAFETY: per the contract.
    let fr = unsafe { *func_ref };
    let result = match fr.array_call {
        // SAFETY: the closure only copies raw pointers (TRAP-1); the entry
        // point and its vmctx come from a live function reference.
        Some(array_call) => unsafe {
            let (vmctx, wasm_call) = (fr.vmctx, fr.wasm_call);
            cpu.catch_traps(move || {
                array_call(vmctx, core::ptr::null_mut(), wasm_call, values, len)
            })
        },
        // Every function reference keel hands out has an entry point; a
        // missing one is an internal error, never a silent no-op call.
        None => Err(UnwindReason::User(
            Box::new(anyhow::anyhow!(
                "internal error: the called function has no array-call entry point"
            )),
            Default::default(),
        )),
    };
    match result {
        Ok(()) => true,
        Err(r) => {
            reason.write(r);
            false
        }
    }
}

/// Call `func_ref` with the array-call convention under `catch_traps`.
///
/// The store is used only through a raw pointer derived from `store` from
/// here on, and that pointer is what host functions called by the wasm
/// code receive (published in the store context's `store` field, VM-5):
/// so the host function's `&mut StoreInner<T>` is derived from this
/// call's borrow, not from a pointer captured earlier.
///
/// # Safety
///
/// `func_ref` must be a live function of `store`, and `values` must hold
/// its parameters and have room for its results.
pub(crate) unsafe fn call_raw<T>(
    store: &mut StoreInner<T>,
    func_ref: *const VMFuncRef,
    values: &mut [ValRaw],
) -> Result<()> {
    let store: *mut StoreInner<T> = store;
    // SAFETY: used below before the call into wasm, and by `catch_traps`,
    // which fetches it again where the call may have moved (CPU-1).
    let cpu = unsafe { keel_trap::ThisCpu::get() };
    // SAFETY: `store` is valid and exclusively ours for this call, and
    // outlives the guard, which this frame drops after the call (before
    // the store is used again); the activations and the store context are
    // the store's own (VM-5).
    let entered = unsafe {
        let vm_store = (*store).as_vm_store();
        let opaque = &raw mut (*store).opaque;
        EnterWasm::new(
            &raw mut (*opaque).activations,
            (*opaque).store_context.as_ptr(),
            vm_store,
            // Only an outermost call reads the engine's setting.
            || cpu.wasm_stack_limit((*opaque).engine.config().max_wasm_stack),
        )?
    };
    let mut reason = core::mem::MaybeUninit::<UnwindReason>::uninit();
    // SAFETY: per the caller's contract; `cpu` was fetched on this CPU
    // and is only used by `catch_traps`, which fetches it again where
    // the call may have moved (CPU-1).
    let ok = unsafe {
        run_wasm_call(
            &cpu,
            func_ref,
            values.as_mut_ptr(),
            values.len(),
            &mut reason,
        )
    };
    // The wasm code and any host functions are done: leave wasm before
    // the store is used again.
    drop(entered);
    let result = if ok {
        Ok(())
    } else {
        // SAFETY: `run_wasm_call` wrote the reason when it failed.
        Err(unsafe { reason.assume_init() })
    };
    match result {
        Ok(()) => Ok(()),
        Err(UnwindReason::Trap(t)) => {
            // SAFETY: the call is over; the store is ours again.
            let opaque = unsafe { &mut (*store).opaque };
            // A builtin whose store hook failed with an error (a resource
            // limiter or epoch callback error) made the code trap: report
            // that error.
            let error = match opaque.pending_error.take() {
                Some(e) => e,
                None => t.code.into(),
            };
            Err(WasmBacktrace::from_raw(&t.backtrace).attach(error))
        }
        Err(UnwindReason::User(e, bt)) => {
            // An embedder's error, or a builtin's message (`throw` out of
            // memory).
            let e = match e.downcast::<anyhow::Error>() {
                Ok(e) => *e,
                Err(e) => match e.downcast::<&'static str>() {
                    Ok(message) => anyhow::anyhow!(*message),
                    Err(_) => anyhow::anyhow!("host function failed"),
                },
            };
            Err(WasmBacktrace::from_raw(&bt).attach(e))
        }
        Err(UnwindReason::Exception(raw, bt)) => {
            // SAFETY: the call is over; the store is ours again.
            let opaque = unsafe { &mut (*store).opaque };
            let thrown = crate::ThrownException::uncaught(opaque, raw);
            Err(WasmBacktrace::from_raw(&bt).attach(thrown.into()))
        }
        #[cfg(feature = "std")]
        Err(UnwindReason::Panic(payload)) => std::panic::resume_unwind(payload),
        // Without std, panics abort before they could be carried here.
        #[cfg(not(feature = "std"))]
        Err(UnwindReason::Panic(_)) => Err(anyhow::anyhow!("host function panicked")),
    }
}

/// The context of a host function call: the store and the calling
/// instance.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    pub(crate) caller_vmctx: *mut u8,
}

// SAFETY: a `Caller` is an exclusive borrow of the store plus the address
// of the calling instance's VMContext, which the store owns; sending it
// sends that exclusive borrow, which is sound when the store's data is
// `Send` (VM-5). An async host function's future holds its `Caller`
// across awaits, and the call's future may move between threads.
unsafe impl<T: Send> Send for Caller<'_, T> {}

impl<T> Caller<'_, T> {
    /// The store's host data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The store's host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &crate::Engine {
        &self.store.opaque.engine
    }

    /// As [`Store::set_fuel`](crate::Store::set_fuel): takes effect when
    /// the host function returns to wasm.
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.store.opaque.set_fuel(fuel)
    }

    /// As [`Store::get_fuel`](crate::Store::get_fuel): the fuel left when
    /// wasm called this host function.
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn get_fuel(&self) -> Result<u64> {
        self.store.opaque.get_fuel()
    }

    /// As [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline).
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.store.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// The store's epoch deadline as it stands, as a value a host function
    /// that blocks (waits for input, sleeps, does a long computation) can
    /// poll while it holds other borrows of the store (its memory, its
    /// data): when [`EpochDeadline::reached`](crate::EpochDeadline::reached) says so, the function stops
    /// what it does without side effects, lets go of those borrows and
    /// calls [`Caller::check_epoch_deadline`], which decides as compiled
    /// code would at a loop header. Never reached when the engine has no
    /// [epoch interruption](crate::Config::epoch_interruption).
    pub fn epoch_deadline(&self) -> crate::EpochDeadline {
        self.store.opaque.epoch_deadline()
    }

    /// Do what compiled code does when it finds the store's epoch deadline
    /// reached, if it is: run the
    /// [epoch deadline callback](crate::Store::epoch_deadline_callback)
    /// (which may move the deadline, or suspend an async call when it
    /// returns [`UpdateDeadline::Yield`](crate::UpdateDeadline::Yield)),
    /// or fail with [`Trap::Interrupt`](crate::Trap::Interrupt) when the
    /// store has none. `Ok(())` when the deadline is not reached (or
    /// epochs are off) or the callback let the guest go on.
    ///
    /// A host function returns the error to end the call, as wasm would
    /// trap: this is how blocking host calls (WASI's `poll_oneoff`,
    /// `fd_read` on a pipe) are bounded by `keel run -W timeout` and by
    /// epoch deadlines.
    ///
    /// # Errors
    ///
    /// The `Interrupt` trap, or the callback's error.
    pub fn check_epoch_deadline(&mut self) -> Result<()> {
        use keel_vm::VMStore as _;
        if !self.store.epoch_deadline_reached() {
            return Ok(());
        }
        match self.store.new_epoch() {
            Ok(()) => Ok(()),
            Err(_) => Err(self
                .store
                .opaque
                .pending_error
                .take()
                .unwrap_or_else(|| Trap::Interrupt.into())),
        }
    }

    /// Ask the store's [`ResourceLimiter`](crate::ResourceLimiter) whether
    /// this host call may allocate `bytes` of host memory on the guest's
    /// behalf ([`ResourceLimiter::host_memory_allocating`](crate::ResourceLimiter::host_memory_allocating)):
    /// `Ok(true)` without a limiter. keel-wasi asks before it copies a
    /// large `poll_oneoff` request. (A keel addition.)
    ///
    /// # Errors
    ///
    /// The limiter's error, which should end the call.
    pub fn host_memory_allocating(&mut self, bytes: usize) -> Result<bool> {
        match self.store.resource_limiter() {
            Some(limiter) => limiter.host_memory_allocating(bytes),
            None => Ok(true),
        }
    }

    /// An export of the calling instance, e.g. its `"memory"`. `None` if
    /// there is no such export or the caller is the host.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let index = *self
            .store
            .opaque
            .instance_by_vmctx
            .get(&(self.caller_vmctx as usize))?;
        let instance = Instance {
            store: self.store.opaque.id,
            index,
        };
        instance.get_export(&mut *self, name)
    }

    pub(crate) fn reborrow(&mut self) -> Caller<'_, T> {
        Caller {
            store: self.store,
            caller_vmctx: self.caller_vmctx,
        }
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

impl<'a, T> From<&'a mut Caller<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut Caller<'_, T>) -> Self {
        StoreContextMut(c.store)
    }
}
