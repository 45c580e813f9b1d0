//! External values (`wasm_extern_t`) and function instances
//! (`wasm_func_t`): spec "Externals" and "Function Instances" in wasm.h;
//! the core spec's
//! [external values](https://webassembly.github.io/spec/core/exec/runtime.html#external-values)
//! and [function instances](https://webassembly.github.io/spec/core/exec/runtime.html#function-instances).
//!
//! A `wasm_func_t` (and a global, table or memory) *is* a
//! `wasm_extern_t` of that kind, so the standard's non-owning
//! conversions between them are pointer casts.

use crate::prelude::*;

use crate::engine::{StoreData, wasm_store_t};
use crate::guard;
use crate::trap::wasm_trap_t;
use crate::types::{wasm_externkind_t, wasm_externtype_t, wasm_functype_t};
use crate::val::{Object, wasm_ref_t};
use crate::val::{wasm_val_t, wasm_val_vec_t};
use crate::vec::{ValueElem, declare_vec};
use core::ffi::c_void;
use keel_rt::{Caller, Extern, Func, Val};

/// An external value of a store: a function, global, table or memory.
/// It is a [`wasm_ref_t`] (always of an [`Object::Extern`]).
#[repr(transparent)]
#[derive(Clone, Debug)]
pub struct wasm_extern_t {
    base: wasm_ref_t,
}

impl core::ops::Deref for wasm_extern_t {
    type Target = wasm_ref_t;

    fn deref(&self) -> &wasm_ref_t {
        &self.base
    }
}

impl wasm_extern_t {
    /// A handle to `which`, of `store`.
    pub(crate) fn new(store: *mut wasm_store_t, which: Extern) -> Self {
        Self {
            base: wasm_ref_t {
                store,
                obj: Object::Extern(which),
            },
        }
    }

    /// What it is.
    pub(crate) fn which(&self) -> &Extern {
        match &self.base.obj {
            Object::Extern(e) => e,
            // `new` and the `wasm_ref_as_*` casts make only externs.
            _ => unreachable!("a wasm_extern_t that is not an extern"),
        }
    }

    /// The store, for a call.
    ///
    /// # Safety
    ///
    /// The store is alive (the C API's rule: objects go before their
    /// store) and not borrowed elsewhere on this thread.
    #[allow(
        clippy::mut_from_ref,
        reason = "the store is reached through the handle's raw pointer; exclusive use is the C caller's contract"
    )]
    pub(crate) unsafe fn store_mut(&self) -> &mut keel_rt::Store<StoreData> {
        // SAFETY: per the contract.
        unsafe { &mut (*self.store).store }
    }
}

/// Delete `e` (null is ignored); the object lives on in its store.
///
/// # Safety
///
/// `e` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_delete(e: *mut wasm_extern_t) {
    if !e.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(e) });
    }
}

/// A new handle to the object `e` is, owned by the caller.
///
/// # Safety
///
/// `e` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_copy(e: *const wasm_extern_t) -> *mut wasm_extern_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*e).clone() }))
}

declare_vec!(
    /// `wasm_extern_vec_t`: owned externs (imports, an instance's
    /// exports).
    wasm_extern_vec_t of owned wasm_extern_t,
    wasm_extern_vec_new_empty,
    wasm_extern_vec_new_uninitialized,
    wasm_extern_vec_new,
    wasm_extern_vec_copy,
    wasm_extern_vec_delete
);

/// The kind of `e`: `WASM_EXTERN_FUNC` (0), `WASM_EXTERN_GLOBAL`,
/// `WASM_EXTERN_TABLE`, `WASM_EXTERN_MEMORY`; keel's shared memories
/// count as memories and tags as 4 (`KEEL_EXTERN_TAG`).
///
/// # Safety
///
/// `e` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_kind(e: *const wasm_extern_t) -> wasm_externkind_t {
    // SAFETY: per the contract.
    match unsafe { (*e).which() } {
        Extern::Func(_) => 0,
        Extern::Global(_) => 1,
        Extern::Table(_) => 2,
        Extern::Memory(_) | Extern::SharedMemory(_) => 3,
        Extern::Tag(_) => 4,
    }
}

/// The type of `e`, owned by the caller; null for a tag (wasm.h has no
/// tag type).
///
/// # Safety
///
/// `e` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_type(e: *const wasm_extern_t) -> *mut wasm_externtype_t {
    // SAFETY: per the contract.
    let e = unsafe { &*e };
    // SAFETY: per the contract.
    let store = unsafe { e.store_mut() };
    match guard(|| wasm_externtype_t::from_keel(e.which().ty(&*store))) {
        Some(Some(ty)) => Box::into_raw(Box::new(ty)),
        _ => core::ptr::null_mut(),
    }
}

/// A function of a store (defined by wasm or by the host).
#[repr(transparent)]
#[derive(Clone, Debug)]
pub struct wasm_func_t {
    ext: wasm_extern_t,
}

impl wasm_func_t {
    /// The extern this is.
    pub(crate) fn as_extern(&self) -> &wasm_extern_t {
        &self.ext
    }

    /// The function.
    fn func(&self) -> Func {
        match self.ext.which() {
            Extern::Func(f) => *f,
            _ => unreachable!("a wasm_func_t that is not a function"),
        }
    }
}

/// Defines the conversions between `wasm_extern_t` and one of its kinds.
macro_rules! extern_conversions {
    ($ty:ident, $variant:ident, $as_ext:ident, $as_ext_const:ident, $ext_as:ident, $ext_as_const:ident) => {
        #[doc = concat!("`f` viewed as an extern (the same object, not a copy).")]
        ///
        /// # Safety
        ///
        /// `f` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext(f: *mut $ty) -> *mut wasm_extern_t {
            f.cast()
        }

        #[doc = concat!("`f` viewed as a const extern (the same object).")]
        ///
        /// # Safety
        ///
        /// `f` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext_const(f: *const $ty) -> *const wasm_extern_t {
            f.cast()
        }

        #[doc = concat!("`e` viewed as a `", stringify!($ty), "` (the same object), or null if it is of another kind.")]
        ///
        /// # Safety
        ///
        /// `e` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $ext_as(e: *mut wasm_extern_t) -> *mut $ty {
            // SAFETY: per the contract.
            match unsafe { (*e).which() } {
                Extern::$variant(_) => e.cast(),
                _ => core::ptr::null_mut(),
            }
        }

        #[doc = concat!("`e` viewed as a const `", stringify!($ty), "`, or null if it is of another kind.")]
        ///
        /// # Safety
        ///
        /// `e` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $ext_as_const(e: *const wasm_extern_t) -> *const $ty {
            // SAFETY: per the contract.
            match unsafe { (*e).which() } {
                Extern::$variant(_) => e.cast(),
                _ => core::ptr::null(),
            }
        }
    };
}

pub(crate) use extern_conversions;

/// Defines the conversions between `wasm_ref_t` and an object type
/// (`$is` says whether an [`Object`] `$obj` is of it): `wasm_xxx_as_ref`
/// and `wasm_ref_as_xxx` with their const forms, pointer casts (every
/// object type wraps `wasm_ref_t` transparently).
macro_rules! ref_conversions {
    ($ty:ident, |$obj:ident| $is:expr, $as_ref:ident, $as_ref_const:ident, $ref_as:ident, $ref_as_const:ident) => {
        #[doc = concat!("`x` as a reference: the same object (a pointer cast; deleting either deletes it).")]
        ///
        /// # Safety
        ///
        /// `x` is valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ref(x: *mut $ty) -> *mut $crate::val::wasm_ref_t {
            x.cast()
        }

        #[doc = concat!("`x` as a const reference: the same object.")]
        ///
        /// # Safety
        ///
        /// `x` is valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ref_const(x: *const $ty) -> *const $crate::val::wasm_ref_t {
            x.cast()
        }

        #[doc = concat!("`r` as a `", stringify!($ty), "`: the same object, or null if it refers to something else (or is null).")]
        ///
        /// # Safety
        ///
        /// `r` is null or valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $ref_as(r: *mut $crate::val::wasm_ref_t) -> *mut $ty {
            // SAFETY: per the contract.
            unsafe { $ref_as_const(r) }.cast_mut()
        }

        #[doc = concat!("`r` as a const `", stringify!($ty), "`: the same object, or null if it refers to something else (or is null).")]
        ///
        /// # Safety
        ///
        /// `r` is null or valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $ref_as_const(r: *const $crate::val::wasm_ref_t) -> *const $ty {
            // SAFETY: per the contract.
            match unsafe { r.as_ref() }.map(|r| &r.obj) {
                // The type is a transparent `wasm_ref_t` of such objects.
                Some($obj) if $is => r.cast(),
                _ => core::ptr::null(),
            }
        }
    };
}

pub(crate) use ref_conversions;

ref_conversions!(
    wasm_extern_t,
    |obj| matches!(obj, Object::Extern(_)),
    wasm_extern_as_ref,
    wasm_extern_as_ref_const,
    wasm_ref_as_extern,
    wasm_ref_as_extern_const
);

extern_conversions!(
    wasm_func_t,
    Func,
    wasm_func_as_extern,
    wasm_func_as_extern_const,
    wasm_extern_as_func,
    wasm_extern_as_func_const
);
ref_conversions!(
    wasm_func_t,
    |obj| matches!(obj, Object::Extern(Extern::Func(_))),
    wasm_func_as_ref,
    wasm_func_as_ref_const,
    wasm_ref_as_func,
    wasm_ref_as_func_const
);

/// Delete `f` (null is ignored); the function lives on in its store.
///
/// # Safety
///
/// `f` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_delete(f: *mut wasm_func_t) {
    if !f.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(f) });
    }
}

/// A new handle to the function `f`, owned by the caller.
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_copy(f: *const wasm_func_t) -> *mut wasm_func_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*f).clone() }))
}

/// A host function's callback without environment (`wasm_func_callback_t`).
pub type wasm_func_callback_t =
    extern "C" fn(args: *const wasm_val_vec_t, results: *mut wasm_val_vec_t) -> *mut wasm_trap_t;

/// A host function's callback with environment
/// (`wasm_func_callback_with_env_t`).
pub type wasm_func_callback_with_env_t = extern "C" fn(
    env: *mut c_void,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t;

/// What a host function made through the C API calls: its callback, its
/// environment and the environment's finalizer, which runs when the
/// function is freed (with its store).
struct HostCallback {
    call: Callback,
    env: *mut c_void,
    finalizer: Option<extern "C" fn(*mut c_void)>,
    store: *mut wasm_store_t,
}

enum Callback {
    Plain(wasm_func_callback_t),
    WithEnv(wasm_func_callback_with_env_t),
}

// SAFETY: the C API's contract: a callback and its environment may be
// used from the thread that uses the store (stores move between threads
// only as a whole, as the C side guarantees for every store object).
unsafe impl Send for HostCallback {}
// SAFETY: as above; keel calls a host function only from the thread
// running its store.
unsafe impl Sync for HostCallback {}

impl Drop for HostCallback {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            finalizer(self.env);
        }
    }
}

/// The error a host function's trap becomes while it unwinds through
/// wasm; `wasm_func_call` turns it back into that trap.
#[derive(Debug)]
pub(crate) struct HostTrap(pub(crate) Box<wasm_trap_t>);

// SAFETY: a host function's trap travels as an error from the callback
// back to `wasm_func_call` or the instantiation on the thread that uses
// its store, and is never touched by another thread.
unsafe impl Send for HostTrap {}
// SAFETY: as above.
unsafe impl Sync for HostTrap {}

impl core::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0.message())
    }
}

impl core::error::Error for HostTrap {}

/// Values a host function call or `wasm_func_call` keeps on the stack
/// (more take one allocation per call).
const INLINE_VALS: usize = 8;

/// Release the references `vals` own, leaving plain values.
fn release_vals(vals: &mut [wasm_val_t]) {
    for v in vals {
        // SAFETY: each value is one of ours: a reference value owns its
        // reference (or holds null).
        unsafe { ValueElem::release(v) };
    }
}

impl HostCallback {
    /// Call the callback with `params`, writing `results`.
    fn invoke(
        &self,
        params: &[Val],
        results: &mut [Val],
        ty: &keel_rt::FuncType,
    ) -> anyhow::Result<()> {
        // Small signatures' values live on the stack: no allocation per
        // call. The vectors the callback sees are views of these buffers
        // (never dropped as vectors; the arguments' references are
        // released below).
        let (n_params, n_results) = (params.len(), results.len());
        let mut inline = [core::mem::MaybeUninit::<wasm_val_t>::uninit(); INLINE_VALS];
        let mut heap = Vec::new();
        let buffer: &mut [core::mem::MaybeUninit<wasm_val_t>] =
            if n_params + n_results <= INLINE_VALS {
                &mut inline[..n_params + n_results]
            } else {
                heap.resize(n_params + n_results, core::mem::MaybeUninit::uninit());
                &mut heap
            };
        for i in 0..n_params {
            match wasm_val_t::from_keel(self.store, &params[i]) {
                Ok(v) => {
                    buffer[i].write(v);
                }
                Err(e) => {
                    for v in &mut buffer[..i] {
                        // SAFETY: written above.
                        release_vals(core::slice::from_mut(unsafe { v.assume_init_mut() }));
                    }
                    return Err(anyhow::Error::msg(e));
                }
            }
        }
        for slot in &mut buffer[n_params..] {
            slot.write(wasm_val_t::zeroed());
        }
        // SAFETY: every element was written above; `wasm_val_t` is `Copy`.
        let vals = unsafe {
            core::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<wasm_val_t>(), buffer.len())
        };
        let (args, out) = vals.split_at_mut(n_params);
        let args_view = core::mem::ManuallyDrop::new(wasm_val_vec_t {
            size: n_params,
            data: args.as_mut_ptr(),
        });
        let mut out_view = core::mem::ManuallyDrop::new(wasm_val_vec_t {
            size: n_results,
            data: out.as_mut_ptr(),
        });
        let trap = match self.call {
            Callback::Plain(f) => f(&*args_view, &mut *out_view),
            Callback::WithEnv(f) => f(self.env, &*args_view, &mut *out_view),
        };
        release_vals(args);
        if !trap.is_null() {
            // SAFETY: a callback returns an owned trap made by keel.
            return Err(anyhow::Error::new(HostTrap(unsafe { Box::from_raw(trap) })));
        }
        // The callback wrote values into `out`; their references are
        // owned by this call now.
        let converted = results
            .iter_mut()
            .zip(out.iter())
            .zip(ty.results())
            .try_for_each(|((slot, v), expected)| {
                // SAFETY: a value the callback wrote: a reference is null
                // or valid.
                *slot = unsafe { v.to_keel(expected) }.map_err(anyhow::Error::msg)?;
                Ok::<(), anyhow::Error>(())
            });
        release_vals(out);
        converted
    }
}

/// A host function of type `ty` in `store`, calling `callback`.
///
/// # Safety
///
/// `store` and `ty` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: wasm_func_callback_t,
) -> *mut wasm_func_t {
    // SAFETY: per the contract.
    unsafe {
        new_host_func(
            store,
            ty,
            Callback::Plain(callback),
            core::ptr::null_mut(),
            None,
        )
    }
}

/// A host function of type `ty` in `store`, calling `callback` with
/// `env`; `finalizer` (if not null) is called with `env` when the
/// function is freed, with its store.
///
/// # Safety
///
/// `store` and `ty` are valid; `env` is what `callback` and `finalizer`
/// expect.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new_with_env(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: wasm_func_callback_with_env_t,
    env: *mut c_void,
    finalizer: Option<extern "C" fn(*mut c_void)>,
) -> *mut wasm_func_t {
    // SAFETY: per the contract.
    unsafe { new_host_func(store, ty, Callback::WithEnv(callback), env, finalizer) }
}

/// The host function behind `wasm_func_new` and `wasm_func_new_with_env`.
///
/// # Safety
///
/// As `wasm_func_new_with_env`.
unsafe fn new_host_func(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    call: Callback,
    env: *mut c_void,
    finalizer: Option<extern "C" fn(*mut c_void)>,
) -> *mut wasm_func_t {
    let host = HostCallback {
        call,
        env,
        finalizer,
        store,
    };
    if store.is_null() || ty.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let fty = unsafe { &*ty }.view().ty.clone();
    let ty2 = fty.clone();
    // SAFETY: per the contract.
    let keel_store = unsafe { &mut (*store).store };
    let func = guard(move || {
        Func::new(
            &mut *keel_store,
            fty,
            move |_caller: Caller<'_, StoreData>, params: &[Val], results: &mut [Val]| {
                host.invoke(params, results, &ty2)
            },
        )
    });
    match func {
        Some(func) => Box::into_raw(Box::new(wasm_func_t {
            ext: wasm_extern_t::new(store, Extern::Func(func)),
        })),
        None => core::ptr::null_mut(),
    }
}

/// The type of `f`, owned by the caller.
///
/// # Safety
///
/// `f` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_type(f: *const wasm_func_t) -> *mut wasm_functype_t {
    // SAFETY: per the contract.
    let f = unsafe { &*f };
    // SAFETY: per the contract.
    let ty = f.func().ty(unsafe { &*f.ext.store_mut() });
    wasm_functype_t::boxed(wasm_externtype_t::func(ty))
}

/// The number of parameters of `f`.
///
/// # Safety
///
/// `f` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_param_arity(f: *const wasm_func_t) -> usize {
    // SAFETY: per the contract.
    let f = unsafe { &*f };
    // SAFETY: per the contract.
    f.func().ty(unsafe { &*f.ext.store_mut() }).params().len()
}

/// The number of results of `f`.
///
/// # Safety
///
/// `f` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_result_arity(f: *const wasm_func_t) -> usize {
    // SAFETY: per the contract.
    let f = unsafe { &*f };
    // SAFETY: per the contract.
    f.func().ty(unsafe { &*f.ext.store_mut() }).results().len()
}

/// Call `f` with `args`, writing its results into `results` (whose
/// `size` must be the function's result count; each element is
/// overwritten, so it must own nothing). Returns null on success, else
/// an owned trap: the wasm trap (with its frames), the host function's
/// trap, or one saying what was wrong with the arguments or, after a
/// call that returned, with the room for results.
///
/// # Safety
///
/// `f` is valid and its store alive; `args` holds valid values;
/// `results` points at `size` writable values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_call(
    f: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t {
    // SAFETY: per the contract.
    let f = unsafe { &*f };
    let store_ptr = f.ext.store;
    // SAFETY: per the contract.
    let store = unsafe { f.ext.store_mut() };
    let func = f.func();
    let ty = func.ty(&*store);
    let fail = |message: String| Box::into_raw(Box::new(wasm_trap_t::new(message)));
    // SAFETY: per the contract.
    let args = if args.is_null() {
        &[][..]
    } else {
        // SAFETY: per the contract, valid values.
        unsafe { (*args).as_slice() }
    };
    if args.len() != ty.params().len() {
        return fail(format!(
            "wasm_func_call: {} arguments for a function of {} parameters",
            args.len(),
            ty.params().len()
        ));
    }
    // Small signatures' values live on the stack.
    let n_results = ty.results().len();
    let mut inline = [Val::I32(0); INLINE_VALS];
    let mut heap = Vec::new();
    let keel_vals: &mut [Val] = if args.len() + n_results <= INLINE_VALS {
        &mut inline[..args.len() + n_results]
    } else {
        heap.resize(args.len() + n_results, Val::I32(0));
        &mut heap
    };
    let (params, vals) = keel_vals.split_at_mut(args.len());
    for (i, (a, t)) in args.iter().zip(ty.params()).enumerate() {
        // SAFETY: per the contract, valid values.
        match unsafe { a.to_keel(t) } {
            Ok(v) => params[i] = v,
            Err(e) => return fail(format!("wasm_func_call: argument {i}: {e}")),
        }
    }
    for (slot, t) in vals.iter_mut().zip(ty.results()) {
        *slot = Val::default_for(t);
    }
    // SAFETY: per the contract.
    let out_len = if results.is_null() {
        0
    } else {
        // SAFETY: per the contract.
        unsafe { (*results).size }
    };
    // The room for results matters only once there are results to write:
    // a call that traps reports its trap whatever the room (the
    // wasm-c-api's own trap example passes none).
    let outcome = guard(|| func.call(&mut *store, params, vals));
    match outcome {
        Some(Ok(())) if out_len != vals.len() => fail(format!(
            "wasm_func_call: room for {out_len} results for a function of {} results",
            vals.len()
        )),
        Some(Ok(())) => {
            for (i, v) in vals.iter().enumerate() {
                match wasm_val_t::from_keel(store_ptr, v) {
                    // SAFETY: per the contract, `results` has room for
                    // `out_len` values.
                    Ok(c) => unsafe { (*results).data.add(i).write(c) },
                    Err(e) => return fail(format!("wasm_func_call: result {i}: {e}")),
                }
            }
            core::ptr::null_mut()
        }
        Some(Err(e)) => Box::into_raw(Box::new(wasm_trap_t::from_error(store_ptr, e))),
        None => fail("wasm_func_call: a host function panicked".into()),
    }
}

/// Whether `a` and `b` are handles to the same function.
///
/// # Safety
///
/// `a` and `b` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_same(a: *const wasm_func_t, b: *const wasm_func_t) -> bool {
    // SAFETY: per the contract.
    unsafe { (*a).func() == (*b).func() }
}

/// Whether `a` and `b` are handles to the same object.
///
/// # Safety
///
/// `a` and `b` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_same(
    a: *const wasm_extern_t,
    b: *const wasm_extern_t,
) -> bool {
    // SAFETY: per the contract.
    unsafe { extern_same((*a).which(), (*b).which()) }
}

/// Whether `a` and `b` are the same object.
pub(crate) fn extern_same(a: &Extern, b: &Extern) -> bool {
    match (a, b) {
        (Extern::Func(x), Extern::Func(y)) => x == y,
        (Extern::Global(x), Extern::Global(y)) => x == y,
        (Extern::Table(x), Extern::Table(y)) => x == y,
        (Extern::Memory(x), Extern::Memory(y)) => x == y,
        (Extern::Tag(x), Extern::Tag(y)) => x == y,
        _ => false,
    }
}
