//! Host info (`wasm_xxx_get_host_info`, `wasm_xxx_set_host_info`,
//! `wasm_xxx_set_host_info_with_finalizer`) and foreign objects
//! (`wasm_foreign_t`): spec "References" and "Foreign Objects" in
//! wasm.h.
//!
//! Host info belongs to the object, not to the handle: every handle of a
//! function, global, table, memory or instance sees the same info (kept
//! in a table of its store, keyed by the object), and a foreign object
//! keeps its own (inside it, so it follows the object through wasm as an
//! `externref`). Finalizers run when the info is replaced or the object
//! is freed: with its store for store objects.

use crate::prelude::*;

use crate::engine::wasm_store_t;
use crate::externs::{wasm_extern_t, wasm_func_t};
use crate::module::wasm_instance_t;
use crate::objects::{wasm_global_t, wasm_memory_t, wasm_table_t};
use crate::val::{Object, wasm_ref_t};
use core::ffi::c_void;
use keel_rt::{Extern, ExternRef, Ref, Rooted};
use spin::Mutex;

/// A finalizer: called with the info it was set with.
pub type Finalizer = Option<extern "C" fn(*mut c_void)>;

/// Host info and its finalizer, which runs when this drops.
#[derive(Debug)]
pub(crate) struct HostInfo {
    info: *mut c_void,
    finalizer: Finalizer,
    /// When it was attached, in its store's count: finalizers run in
    /// this order when the store is deleted.
    pub(crate) seq: u64,
}

// SAFETY: the C API's contract: host info is used from the thread using
// its object's store (a foreign object's, from its store's thread too).
unsafe impl Send for HostInfo {}

impl HostInfo {
    /// `info` with `finalizer`.
    pub(crate) fn new(info: *mut c_void, finalizer: Finalizer) -> Self {
        Self {
            info,
            finalizer,
            seq: 0,
        }
    }

    /// The info.
    pub(crate) fn info(&self) -> *mut c_void {
        self.info
    }
}

impl Drop for HostInfo {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer {
            f(self.info);
        }
    }
}

/// A store object host info can be attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ObjectKey {
    Func(keel_rt::Func),
    Global(keel_rt::Global),
    Table(keel_rt::Table),
    Memory(keel_rt::Memory),
    Instance(keel_rt::Instance),
}

impl ObjectKey {
    /// The key of `e`; `None` for kinds without one (tags, shared
    /// memories).
    fn of_extern(e: &Extern) -> Option<Self> {
        Some(match e {
            Extern::Func(f) => Self::Func(*f),
            Extern::Global(g) => Self::Global(*g),
            Extern::Table(t) => Self::Table(*t),
            Extern::Memory(m) => Self::Memory(*m),
            _ => return None,
        })
    }
}

/// The host info of `key` in `store`, or null.
///
/// # Safety
///
/// `store` is valid.
unsafe fn get(store: *mut wasm_store_t, key: Option<ObjectKey>) -> *mut c_void {
    let Some(key) = key else {
        return core::ptr::null_mut();
    };
    // SAFETY: per the contract.
    let store = unsafe { &(*store).store };
    store
        .data()
        .host_info
        .get(&key)
        .map_or(core::ptr::null_mut(), |h| h.info)
}

/// Set the host info of `key` in `store` (the previous one's finalizer
/// runs).
///
/// # Safety
///
/// `store` is valid.
unsafe fn set(store: *mut wasm_store_t, key: Option<ObjectKey>, new: HostInfo) {
    let Some(key) = key else {
        // Nothing to attach to: the info is dropped (finalized) at once.
        return;
    };
    // SAFETY: per the contract.
    let data = unsafe { &mut (*store).store }.data_mut();
    let mut new = new;
    new.seq = data.next_host_info_seq;
    data.next_host_info_seq += 1;
    let old = data.host_info.insert(key, new);
    drop(old);
}

/// Defines the three host-info functions of `$ty`, whose object key is
/// `$key(&*x)`.
macro_rules! host_info_fns {
    ($ty:ident, $get:ident, $set:ident, $set_fin:ident, |$x:ident| $store:expr, $key:expr) => {
        #[doc = concat!("The host info of the object `", stringify!($ty), "` refers to, or null.")]
        ///
        /// # Safety
        ///
        /// The argument is valid and its store alive.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $get(p: *const $ty) -> *mut c_void {
            // SAFETY: per the contract.
            let $x = unsafe { &*p };
            // SAFETY: per the contract.
            unsafe { get($store, $key) }
        }

        #[doc = concat!("Set the host info of the object `", stringify!($ty), "` refers to, without a finalizer.")]
        ///
        /// # Safety
        ///
        /// The argument is valid and its store alive.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set(p: *mut $ty, info: *mut c_void) {
            // SAFETY: per the contract.
            unsafe { $set_fin(p, info, None) }
        }

        #[doc = concat!("Set the host info of the object `", stringify!($ty), "` refers to; `finalizer` (if not null) is called with `info` when the info is replaced or the object freed (with its store).")]
        ///
        /// # Safety
        ///
        /// The argument is valid and its store alive.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set_fin(p: *mut $ty, info: *mut c_void, finalizer: Finalizer) {
            // SAFETY: per the contract.
            let $x = unsafe { &*p };
            // SAFETY: per the contract.
            unsafe { set($store, $key, HostInfo { info, finalizer, seq: 0 }) }
        }
    };
}

host_info_fns!(
    wasm_extern_t,
    wasm_extern_get_host_info,
    wasm_extern_set_host_info,
    wasm_extern_set_host_info_with_finalizer,
    |e| e.store,
    ObjectKey::of_extern(e.which())
);
host_info_fns!(
    wasm_func_t,
    wasm_func_get_host_info,
    wasm_func_set_host_info,
    wasm_func_set_host_info_with_finalizer,
    |f| f.as_extern().store,
    ObjectKey::of_extern(f.as_extern().which())
);
host_info_fns!(
    wasm_global_t,
    wasm_global_get_host_info,
    wasm_global_set_host_info,
    wasm_global_set_host_info_with_finalizer,
    |g| g.as_extern().store,
    ObjectKey::of_extern(g.as_extern().which())
);
host_info_fns!(
    wasm_table_t,
    wasm_table_get_host_info,
    wasm_table_set_host_info,
    wasm_table_set_host_info_with_finalizer,
    |t| t.as_extern().store,
    ObjectKey::of_extern(t.as_extern().which())
);
host_info_fns!(
    wasm_memory_t,
    wasm_memory_get_host_info,
    wasm_memory_set_host_info,
    wasm_memory_set_host_info_with_finalizer,
    |m| m.as_extern().store,
    ObjectKey::of_extern(m.as_extern().which())
);
host_info_fns!(
    wasm_instance_t,
    wasm_instance_get_host_info,
    wasm_instance_set_host_info,
    wasm_instance_set_host_info_with_finalizer,
    |i| i.store,
    Some(ObjectKey::Instance(i.instance()))
);

/// What a foreign object holds inside its `externref`: its host info.
#[derive(Debug, Default)]
struct ForeignData {
    info: Mutex<Option<HostInfo>>,
}

/// A foreign object: a host object of a store that wasm can hold as an
/// `externref`. It is a [`wasm_ref_t`] (of an `externref` whose data is
/// a `ForeignData`), so `wasm_foreign_as_ref` is a pointer cast.
#[repr(transparent)]
#[derive(Clone, Debug)]
pub struct wasm_foreign_t {
    base: wasm_ref_t,
}

impl core::ops::Deref for wasm_foreign_t {
    type Target = wasm_ref_t;

    fn deref(&self) -> &wasm_ref_t {
        &self.base
    }
}

impl wasm_foreign_t {
    /// The `externref`.
    fn obj(&self) -> Rooted<ExternRef> {
        match self.base.obj {
            Object::Ref(Ref::Extern(Some(obj))) => obj,
            // `wasm_foreign_new` and `wasm_ref_as_foreign` make only these.
            _ => unreachable!("a wasm_foreign_t that is not an externref"),
        }
    }
}

/// A new foreign object of `store`, owned by the caller; null if the
/// store's heap cannot hold it.
///
/// # Safety
///
/// `store` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_new(store: *mut wasm_store_t) -> *mut wasm_foreign_t {
    if store.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let keel_store = unsafe { &mut (*store).store };
    match crate::guard(|| ExternRef::new(&mut *keel_store, ForeignData::default())) {
        Some(Ok(obj)) => Box::into_raw(Box::new(wasm_foreign_t {
            base: wasm_ref_t::new(store, Ref::Extern(Some(obj))),
        })),
        _ => core::ptr::null_mut(),
    }
}

/// Delete `f` (null is ignored); the object lives while something refers
/// to it.
///
/// # Safety
///
/// `f` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_delete(f: *mut wasm_foreign_t) {
    if !f.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(f) });
    }
}

/// A new handle to the foreign object `f`, owned by the caller.
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_copy(f: *const wasm_foreign_t) -> *mut wasm_foreign_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*f).clone() }))
}

/// Whether `a` and `b` are handles to the same foreign object.
///
/// # Safety
///
/// `a` and `b` are valid and their store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_same(
    a: *const wasm_foreign_t,
    b: *const wasm_foreign_t,
) -> bool {
    // SAFETY: per the contract.
    let (a, b) = unsafe { (&*a, &*b) };
    // SAFETY: per the contract.
    a.store == b.store
        && Rooted::ref_eq(unsafe { &(*a.store).store }, &a.obj(), &b.obj()).unwrap_or(false)
}

/// `f` as a reference (an `externref`): the same object (a pointer
/// cast; deleting either deletes it).
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_as_ref(f: *mut wasm_foreign_t) -> *mut wasm_ref_t {
    f.cast()
}

/// `f` as a const reference: the same object.
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_as_ref_const(f: *const wasm_foreign_t) -> *const wasm_ref_t {
    f.cast()
}

/// `r` as a foreign object: the same object, or null if it refers to
/// something else (or is null).
///
/// # Safety
///
/// `r` is null or valid, and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_as_foreign(r: *mut wasm_ref_t) -> *mut wasm_foreign_t {
    // SAFETY: per the contract.
    unsafe { wasm_ref_as_foreign_const(r) }.cast_mut()
}

/// `r` as a const foreign object: the same object, or null if it refers
/// to something else (or is null).
///
/// # Safety
///
/// `r` is null or valid, and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_as_foreign_const(r: *const wasm_ref_t) -> *const wasm_foreign_t {
    // SAFETY: per the contract.
    let Some(rr) = (unsafe { r.as_ref() }) else {
        return core::ptr::null();
    };
    let Object::Ref(Ref::Extern(Some(obj))) = rr.obj else {
        return core::ptr::null();
    };
    // SAFETY: per the contract, the store is alive.
    let foreign = unsafe { foreign_data(rr.store, &obj) }.is_some();
    // `wasm_foreign_t` is a transparent `wasm_ref_t` of such an
    // `externref`.
    if foreign { r.cast() } else { core::ptr::null() }
}

/// The foreign data of the `externref` `obj` of `store`, if it is a
/// foreign object.
///
/// # Safety
///
/// `store` is valid.
unsafe fn foreign_data<'a>(
    store: *mut wasm_store_t,
    obj: &Rooted<ExternRef>,
) -> Option<&'a ForeignData> {
    // SAFETY: per the contract; the data lives in the store's heap as
    // long as the object, which the caller's handle roots.
    let store = unsafe { &(*store).store };
    obj.data(store)
        .ok()
        .flatten()?
        .downcast_ref::<ForeignData>()
}

/// The host info of the foreign object `f`, or null.
///
/// # Safety
///
/// `f` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_get_host_info(f: *const wasm_foreign_t) -> *mut c_void {
    // SAFETY: per the contract.
    let f = unsafe { &*f };
    // SAFETY: per the contract.
    unsafe { foreign_info(f.store, &f.obj()) }
}

/// Set the host info of the foreign object `f`, without a finalizer.
///
/// # Safety
///
/// `f` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_set_host_info(f: *mut wasm_foreign_t, info: *mut c_void) {
    // SAFETY: per the contract.
    unsafe { wasm_foreign_set_host_info_with_finalizer(f, info, None) }
}

/// Set the host info of the foreign object `f`; `finalizer` (if not
/// null) is called with `info` when it is replaced or the object freed.
///
/// # Safety
///
/// `f` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_set_host_info_with_finalizer(
    f: *mut wasm_foreign_t,
    info: *mut c_void,
    finalizer: Finalizer,
) {
    // SAFETY: per the contract.
    let f = unsafe { &*f };
    // SAFETY: per the contract.
    unsafe {
        set_foreign_info(
            f.store,
            &f.obj(),
            HostInfo {
                info,
                finalizer,
                seq: 0,
            },
        )
    };
}

/// The host info of foreign object `obj`, or null.
///
/// # Safety
///
/// `store` is valid.
unsafe fn foreign_info(store: *mut wasm_store_t, obj: &Rooted<ExternRef>) -> *mut c_void {
    // SAFETY: per the contract.
    match unsafe { foreign_data(store, obj) } {
        Some(d) => d
            .info
            .lock()
            .as_ref()
            .map_or(core::ptr::null_mut(), |h| h.info),
        None => core::ptr::null_mut(),
    }
}

/// Set the host info of foreign object `obj` (dropped, so finalized at
/// once, if `obj` is not a foreign object).
///
/// # Safety
///
/// `store` is valid.
unsafe fn set_foreign_info(store: *mut wasm_store_t, obj: &Rooted<ExternRef>, info: HostInfo) {
    // SAFETY: per the contract.
    if let Some(d) = unsafe { foreign_data(store, obj) } {
        let old = d.info.lock().replace(info);
        drop(old);
    }
}

/// The host info of the object `r` refers to, or null.
///
/// # Safety
///
/// `r` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_get_host_info(r: *const wasm_ref_t) -> *mut c_void {
    // SAFETY: per the contract.
    let r = unsafe { &*r };
    match &r.obj {
        // SAFETY: per the contract.
        Object::Ref(Ref::Extern(Some(obj))) => unsafe { foreign_info(r.store, obj) },
        // SAFETY: per the contract.
        Object::Extern(e) => unsafe { get(r.store, ObjectKey::of_extern(e)) },
        // SAFETY: per the contract.
        Object::Instance(i) => unsafe { get(r.store, Some(ObjectKey::Instance(*i))) },
        Object::Trap(t) => t
            .info
            .lock()
            .as_ref()
            .map_or(core::ptr::null_mut(), |h| h.info),
        Object::Module(m) => m
            .info
            .lock()
            .as_ref()
            .map_or(core::ptr::null_mut(), |h| h.info),
        Object::Ref(_) => core::ptr::null_mut(),
    }
}

/// Set the host info of the object `r` refers to, without a finalizer.
///
/// # Safety
///
/// `r` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_set_host_info(r: *mut wasm_ref_t, info: *mut c_void) {
    // SAFETY: per the contract.
    unsafe { wasm_ref_set_host_info_with_finalizer(r, info, None) }
}

/// Set the host info of the object `r` refers to; `finalizer` (if not
/// null) is called with `info` when it is replaced or the object freed.
/// Foreign objects, functions, globals, tables and memories keep host
/// info; for other objects (`anyref`s, plain `externref`s) the info is
/// finalized at once.
///
/// # Safety
///
/// `r` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_set_host_info_with_finalizer(
    r: *mut wasm_ref_t,
    info: *mut c_void,
    finalizer: Finalizer,
) {
    // SAFETY: per the contract.
    let r = unsafe { &*r };
    let new = HostInfo {
        info,
        finalizer,
        seq: 0,
    };
    match &r.obj {
        // SAFETY: per the contract.
        Object::Ref(Ref::Extern(Some(obj))) => unsafe { set_foreign_info(r.store, obj, new) },
        // SAFETY: per the contract.
        Object::Extern(e) => unsafe { set(r.store, ObjectKey::of_extern(e), new) },
        // SAFETY: per the contract.
        Object::Instance(i) => unsafe { set(r.store, Some(ObjectKey::Instance(*i)), new) },
        Object::Trap(t) => drop(t.info.lock().replace(new)),
        Object::Module(m) => drop(m.info.lock().replace(new)),
        Object::Ref(_) => drop(new),
    }
}
