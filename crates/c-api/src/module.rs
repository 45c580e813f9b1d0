//! Modules (`wasm_module_t`) and instances (`wasm_instance_t`): spec
//! "Modules" and "Module Instances" in wasm.h; the core spec's
//! [modules](https://webassembly.github.io/spec/core/syntax/modules.html)
//! and [instantiation](https://webassembly.github.io/spec/core/exec/modules.html#instantiation).

use crate::prelude::*;

use crate::engine::wasm_store_t;
use crate::externs::{wasm_extern_t, wasm_extern_vec_t};
use crate::trap::wasm_trap_t;
use crate::types::{
    wasm_exporttype_t, wasm_exporttype_vec_t, wasm_externtype_t, wasm_importtype_t,
    wasm_importtype_vec_t,
};
use crate::val::{Object, wasm_ref_t};
use crate::{guard, report, wasm_byte_vec_t};
use keel_rt::{Extern, Instance, Module};

/// A compiled module. Not tied to a store: any store of its engine can
/// instantiate it, and `wasm_module_share` hands it to other threads. As
/// every object of wasm.h it is a reference (a transparent [`wasm_ref_t`]
/// of an [`Object::Module`]): copies are new handles to the one module,
/// which they share with its host info.
#[repr(transparent)]
#[derive(Clone)]
pub struct wasm_module_t {
    base: wasm_ref_t,
}

/// What a module handle refers to.
pub(crate) struct ModuleData {
    /// The module.
    module: Module,
    /// Its host info, finalized when the last handle goes.
    pub(crate) info: spin::Mutex<Option<crate::host_info::HostInfo>>,
}

impl core::fmt::Debug for ModuleData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ModuleData").finish_non_exhaustive()
    }
}

impl wasm_module_t {
    /// A new module object of `module`, made in `store` (null for none).
    pub(crate) fn new(store: *mut wasm_store_t, module: Module) -> Self {
        Self {
            base: wasm_ref_t {
                store,
                obj: Object::Module(alloc::sync::Arc::new(ModuleData {
                    module,
                    info: spin::Mutex::new(None),
                })),
            },
        }
    }

    /// The module's data.
    pub(crate) fn data(&self) -> &ModuleData {
        match &self.base.obj {
            Object::Module(data) => data,
            // `new` and `wasm_ref_as_module` make only modules.
            _ => unreachable!("a wasm_module_t that is not a module"),
        }
    }

    /// The module.
    pub(crate) fn module(&self) -> &Module {
        &self.data().module
    }
}

/// Whether `a` and `b` are handles to the same module.
///
/// # Safety
///
/// `a` and `b` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_same(
    a: *const wasm_module_t,
    b: *const wasm_module_t,
) -> bool {
    // SAFETY: per the contract.
    let (a, b) = unsafe { (&*a, &*b) };
    core::ptr::eq(a.data(), b.data())
}

/// The host info of the module `m`, or null.
///
/// # Safety
///
/// `m` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_get_host_info(
    m: *const wasm_module_t,
) -> *mut core::ffi::c_void {
    // SAFETY: per the contract.
    unsafe { &*m }
        .data()
        .info
        .lock()
        .as_ref()
        .map_or(core::ptr::null_mut(), crate::host_info::HostInfo::info)
}

/// Set the host info of the module `m`, without a finalizer.
///
/// # Safety
///
/// `m` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_set_host_info(
    m: *mut wasm_module_t,
    info: *mut core::ffi::c_void,
) {
    // SAFETY: per the contract.
    unsafe { wasm_module_set_host_info_with_finalizer(m, info, None) }
}

/// Set the host info of the module `m`; `finalizer` (if not null) is
/// called with `info` when it is replaced or the last handle of the
/// module is deleted.
///
/// # Safety
///
/// `m` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_set_host_info_with_finalizer(
    m: *mut wasm_module_t,
    info: *mut core::ffi::c_void,
    finalizer: crate::host_info::Finalizer,
) {
    let new = crate::host_info::HostInfo::new(info, finalizer);
    // SAFETY: per the contract.
    let old = unsafe { &*m }.data().info.lock().replace(new);
    drop(old);
}

crate::externs::ref_conversions!(
    wasm_module_t,
    |obj| matches!(obj, Object::Module(_)),
    wasm_module_as_ref,
    wasm_module_as_ref_const,
    wasm_ref_as_module,
    wasm_ref_as_module_const
);

/// A module handed to another thread (`wasm_module_share`), which makes
/// its own `wasm_module_t` of it with `wasm_module_obtain`.
pub struct wasm_shared_module_t {
    module: Module,
}

/// The bytes of `binary`.
///
/// # Safety
///
/// `binary` is null or a valid vector.
unsafe fn bytes<'a>(binary: *const wasm_byte_vec_t) -> &'a [u8] {
    // SAFETY: per the contract.
    match unsafe { binary.as_ref() } {
        // SAFETY: per the contract, a valid vector.
        Some(b) => unsafe { b.as_slice() },
        None => &[],
    }
}

/// Compile `binary` (a WebAssembly binary module) for `store`'s engine;
/// null if it is malformed or invalid, or cannot be compiled (the reason
/// is reported on standard error).
///
/// # Safety
///
/// `store` is valid; `binary` is null or a valid vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_new(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    if store.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let (engine, bytes) = (unsafe { (*store).store.engine() }, unsafe { bytes(binary) });
    match guard(|| Module::new(engine, bytes)) {
        Some(Ok(module)) => Box::into_raw(Box::new(wasm_module_t::new(store, module))),
        Some(Err(e)) => {
            report(&format!("wasm_module_new: {e:#}"));
            core::ptr::null_mut()
        }
        None => core::ptr::null_mut(),
    }
}

/// Whether `binary` is a valid module for `store`'s engine (its
/// features).
///
/// # Safety
///
/// `store` is valid; `binary` is null or a valid vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_validate(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> bool {
    if store.is_null() {
        return false;
    }
    // SAFETY: per the contract.
    let (engine, bytes) = (unsafe { (*store).store.engine() }, unsafe { bytes(binary) });
    matches!(guard(|| Module::validate(engine, bytes)), Some(Ok(())))
}

/// Delete `m` (null is ignored); instances made from it live on.
///
/// # Safety
///
/// `m` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_delete(m: *mut wasm_module_t) {
    if !m.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(m) });
    }
}

/// A new handle to the module `m`, owned by the caller.
///
/// # Safety
///
/// `m` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_copy(m: *const wasm_module_t) -> *mut wasm_module_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*m).clone() }))
}

/// Make `*out` the imports of `m`, in order, owned by the caller (tag
/// imports, which wasm.h has no type for, are left out).
///
/// # Safety
///
/// `m` is valid; `out` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_imports(
    m: *const wasm_module_t,
    out: *mut wasm_importtype_vec_t,
) {
    // SAFETY: per the contract.
    let m = unsafe { &(*m).module() };
    let imports = m
        .imports()
        .filter_map(|i| {
            let ty = wasm_externtype_t::from_keel(i.ty())?;
            Some(Box::new(wasm_importtype_t::new(i.module(), i.name(), ty)))
        })
        .collect();
    // SAFETY: per the contract.
    unsafe { out.write(wasm_importtype_vec_t::from_boxes(imports)) };
}

/// Make `*out` the exports of `m`, in order, owned by the caller (tag
/// exports are left out, as from `wasm_instance_exports`).
///
/// # Safety
///
/// `m` is valid; `out` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_exports(
    m: *const wasm_module_t,
    out: *mut wasm_exporttype_vec_t,
) {
    // SAFETY: per the contract.
    let m = unsafe { &(*m).module() };
    let exports = m
        .exports()
        .filter_map(|e| {
            let ty = wasm_externtype_t::from_keel(e.ty())?;
            Some(Box::new(wasm_exporttype_t::new(e.name(), ty)))
        })
        .collect();
    // SAFETY: per the contract.
    unsafe { out.write(wasm_exporttype_vec_t::from_boxes(exports)) };
}

/// Make `*out` `m` serialized (keel's artifact format: the compiled code
/// and what loading it checks), owned by the caller; empty if it cannot
/// be serialized (reported on standard error).
///
/// # Safety
///
/// `m` is valid; `out` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_serialize(m: *const wasm_module_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: per the contract.
    let m = unsafe { &(*m).module() };
    let bytes = match guard(|| crate::module_ext::serialize(m)) {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => {
            report(&format!("wasm_module_serialize: {e:#}"));
            Vec::new()
        }
        None => Vec::new(),
    };
    // SAFETY: per the contract.
    unsafe { out.write(wasm_byte_vec_t::from_vec(bytes)) };
}

/// The module `bytes` serialize (from `wasm_module_serialize` of this
/// keel build and engine settings); null if they are not such an
/// artifact (reported on standard error).
///
/// # Safety
///
/// `store` is valid; `bytes` is null or a valid vector holding an
/// artifact that `wasm_module_serialize` wrote: loading runs its code, so
/// bytes from elsewhere must be as trusted as code (keel checks the
/// artifact's format, version and settings, not its code).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_deserialize(
    store: *mut wasm_store_t,
    bytes: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    if store.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let (engine, bytes) = (unsafe { (*store).store.engine() }, unsafe {
        self::bytes(bytes)
    });
    // SAFETY: per the contract, the bytes are a trusted artifact.
    match guard(|| unsafe { Module::deserialize(engine, bytes) }) {
        Some(Ok(module)) => Box::into_raw(Box::new(wasm_module_t::new(store, module))),
        Some(Err(e)) => {
            report(&format!("wasm_module_deserialize: {e:#}"));
            core::ptr::null_mut()
        }
        None => core::ptr::null_mut(),
    }
}

/// `m`, to hand to another thread, owned by the caller.
///
/// # Safety
///
/// `m` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_share(m: *const wasm_module_t) -> *mut wasm_shared_module_t {
    // SAFETY: per the contract.
    let module = unsafe { (*m).module().clone() };
    Box::into_raw(Box::new(wasm_shared_module_t { module }))
}

/// A module of `shared` for use with `store`, owned by the caller; null if
/// `store` belongs to another engine.
///
/// # Safety
///
/// `store` and `shared` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_obtain(
    store: *mut wasm_store_t,
    shared: *const wasm_shared_module_t,
) -> *mut wasm_module_t {
    if store.is_null() || shared.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let (engine, module) = (unsafe { (*store).store.engine() }, unsafe {
        &(*shared).module
    });
    if !keel_rt::Engine::same(engine, module.engine()) {
        return core::ptr::null_mut();
    }
    Box::into_raw(Box::new(wasm_module_t::new(store, module.clone())))
}

/// Delete `m` (null is ignored).
///
/// # Safety
///
/// `m` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_shared_module_delete(m: *mut wasm_shared_module_t) {
    if !m.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(m) });
    }
}

/// An instance of a module in a store. It is a [`wasm_ref_t`] (of an
/// [`Object::Instance`]), so `wasm_instance_as_ref` is a pointer cast.
#[repr(transparent)]
#[derive(Clone)]
pub struct wasm_instance_t {
    base: wasm_ref_t,
}

impl core::ops::Deref for wasm_instance_t {
    type Target = wasm_ref_t;

    fn deref(&self) -> &wasm_ref_t {
        &self.base
    }
}

impl wasm_instance_t {
    /// A handle to `instance`, of `store`.
    pub(crate) fn new(store: *mut wasm_store_t, instance: Instance) -> Self {
        Self {
            base: wasm_ref_t {
                store,
                obj: Object::Instance(instance),
            },
        }
    }

    /// The instance.
    pub(crate) fn instance(&self) -> Instance {
        match self.base.obj {
            Object::Instance(i) => i,
            // `new` and `wasm_ref_as_instance` make only instances.
            _ => unreachable!("a wasm_instance_t that is not an instance"),
        }
    }
}

crate::externs::ref_conversions!(
    wasm_instance_t,
    |obj| matches!(obj, Object::Instance(_)),
    wasm_instance_as_ref,
    wasm_instance_as_ref_const,
    wasm_ref_as_instance,
    wasm_ref_as_instance_const
);

/// Instantiate `module` in `store` with `imports` (in the module's import
/// order); null on failure, with `*trap` (if `trap` is not null) set to
/// an owned trap saying why (a start function's trap, a missing or
/// mistyped import, a segment out of bounds).
///
/// # Safety
///
/// `store` and `module` are valid; `imports` is null or holds valid
/// externs of `store`; `trap` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_new(
    store: *mut wasm_store_t,
    module: *const wasm_module_t,
    imports: *const wasm_extern_vec_t,
    trap: *mut *mut wasm_trap_t,
) -> *mut wasm_instance_t {
    let fail = |message: String| {
        if trap.is_null() {
            report(&message);
        } else {
            // SAFETY: per the contract.
            unsafe { trap.write(Box::into_raw(Box::new(wasm_trap_t::new(message)))) };
        }
        core::ptr::null_mut()
    };
    if store.is_null() || module.is_null() {
        return fail("wasm_instance_new: a null store or module".into());
    }
    let mut externs = Vec::new();
    // SAFETY: per the contract.
    let given = if imports.is_null() {
        &[][..]
    } else {
        // SAFETY: per the contract.
        unsafe { (*imports).as_slice() }
    };
    for (i, &e) in given.iter().enumerate() {
        // SAFETY: per the contract.
        match unsafe { e.as_ref() } {
            Some(e) if e.store == store => externs.push(e.which().clone()),
            Some(_) => {
                return fail(format!(
                    "wasm_instance_new: import {i} belongs to another store"
                ));
            }
            None => return fail(format!("wasm_instance_new: import {i} is null")),
        }
    }
    // SAFETY: per the contract.
    let (keel_store, module) = (unsafe { &mut (*store).store }, unsafe {
        (*module).module()
    });
    match guard(|| Instance::new(&mut *keel_store, module, &externs)) {
        Some(Ok(instance)) => Box::into_raw(Box::new(wasm_instance_t::new(store, instance))),
        Some(Err(e)) => {
            if trap.is_null() {
                report(&format!("wasm_instance_new: {e:#}"));
            } else {
                // SAFETY: per the contract.
                unsafe { trap.write(Box::into_raw(Box::new(wasm_trap_t::from_error(store, e)))) };
            }
            core::ptr::null_mut()
        }
        None => fail("wasm_instance_new: instantiation panicked".into()),
    }
}

/// Delete `i` (null is ignored); the instance lives on in its store.
///
/// # Safety
///
/// `i` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_delete(i: *mut wasm_instance_t) {
    if !i.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(i) });
    }
}

/// A new handle to the instance `i`, owned by the caller.
///
/// # Safety
///
/// `i` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_copy(i: *const wasm_instance_t) -> *mut wasm_instance_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*i).clone() }))
}

/// Make `*out` the exports of `i`, in the module's export order, owned by
/// the caller (tags are left out, as from `wasm_module_exports`).
///
/// # Safety
///
/// `i` is valid and its store alive; `out` points at writable memory for
/// a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_exports(
    i: *const wasm_instance_t,
    out: *mut wasm_extern_vec_t,
) {
    // SAFETY: per the contract.
    let i = unsafe { &*i };
    // SAFETY: per the contract.
    let store = unsafe { &mut (*i.store).store };
    let externs = i
        .instance()
        .exports(&mut *store)
        .filter_map(|e| {
            let which = e.into_extern();
            (!matches!(which, Extern::Tag(_))).then(|| Box::new(wasm_extern_t::new(i.store, which)))
        })
        .collect();
    // SAFETY: per the contract.
    unsafe { out.write(wasm_extern_vec_t::from_boxes(externs)) };
}

/// Whether `a` and `b` are handles to the same instance.
///
/// # Safety
///
/// `a` and `b` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_same(
    a: *const wasm_instance_t,
    b: *const wasm_instance_t,
) -> bool {
    // SAFETY: per the contract.
    unsafe { (*a).instance() == (*b).instance() }
}
