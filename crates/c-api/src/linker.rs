//! `keel.h`'s linker (`keel_linker_t`, as Wasmtime's `wasmtime_linker_t`):
//! imports resolved by module and field name, WASI preview 1 included.

use crate::prelude::*;

use crate::engine::{StoreData, wasm_engine_t, wasm_store_t};
use crate::error::keel_error_t;
use crate::externs::wasm_extern_t;
use crate::module::{wasm_instance_t, wasm_module_t};
use crate::trap::wasm_trap_t;
use keel_rt::Linker;

/// Definitions by module and name, for instantiating modules of one
/// engine in its stores.
pub struct keel_linker_t {
    linker: Linker<StoreData>,
}

/// `len` bytes of UTF-8 at `data`; `Err` if they are not UTF-8.
///
/// # Safety
///
/// `data` points at `len` readable bytes, or `len` is 0.
unsafe fn name<'a>(
    data: *const core::ffi::c_char,
    len: usize,
    what: &str,
) -> Result<&'a str, *mut keel_error_t> {
    // SAFETY: per the contract.
    let bytes = unsafe { crate::vec::raw_slice(data.cast::<u8>().cast_mut(), len) };
    core::str::from_utf8(bytes)
        .map_err(|_| keel_error_t::boxed(format_args!("{what}: the name is not UTF-8")))
}

/// A new, empty linker for `engine`'s modules, owned by the caller.
///
/// # Safety
///
/// `engine` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_new(engine: *const wasm_engine_t) -> *mut keel_linker_t {
    // SAFETY: per the contract.
    let engine = unsafe { &(*engine).engine };
    Box::into_raw(Box::new(keel_linker_t {
        linker: Linker::new(engine),
    }))
}

/// Delete `linker` (null is ignored); what it defined lives on.
///
/// # Safety
///
/// `linker` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_delete(linker: *mut keel_linker_t) {
    if !linker.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(linker) });
    }
}

/// Let later definitions replace earlier ones of the same name (default:
/// a second definition is an error).
///
/// # Safety
///
/// `linker` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_allow_shadowing(linker: *mut keel_linker_t, allow: bool) {
    // SAFETY: per the contract.
    unsafe { &mut (*linker).linker }.allow_shadowing(allow);
}

/// Define `module::name` (UTF-8, `module_len` and `name_len` bytes) as
/// `item`, an object of `store` (the definition is usable only with that
/// store). Returns null on success, else an error if the name is taken
/// and shadowing is off.
///
/// # Safety
///
/// `linker`, `store` and `item` are valid; the names point at their
/// lengths of readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_define(
    linker: *mut keel_linker_t,
    store: *const wasm_store_t,
    module: *const core::ffi::c_char,
    module_len: usize,
    name: *const core::ffi::c_char,
    name_len: usize,
    item: *const wasm_extern_t,
) -> *mut keel_error_t {
    const WHAT: &str = "keel_linker_define";
    // SAFETY: per the contract.
    let (module, field) = match (unsafe { self::name(module, module_len, WHAT) }, unsafe {
        self::name(name, name_len, WHAT)
    }) {
        (Ok(m), Ok(n)) => (m, n),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    // SAFETY: per the contract.
    let item = unsafe { &*item };
    if !core::ptr::eq(item.store.cast_const(), store) {
        return keel_error_t::boxed(format_args!(
            "{WHAT}: {module}::{field}: the item belongs to another store"
        ));
    }
    // SAFETY: per the contract.
    let (linker, keel_store) = unsafe { (&mut (*linker).linker, &(*store).store) };
    match linker.define(keel_store, module, field, item.which().clone()) {
        Ok(_) => core::ptr::null_mut(),
        Err(e) => keel_error_t::boxed(format_args!("{WHAT}: {module}::{field}: {e:#}")),
    }
}

/// Define every export of `instance` (of `store`) under the module name
/// `module` (UTF-8, `module_len` bytes). Returns null on success, else an
/// error if a name is taken and shadowing is off.
///
/// # Safety
///
/// `linker`, `store` and `instance` are valid; `module` points at
/// `module_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_define_instance(
    linker: *mut keel_linker_t,
    store: *mut wasm_store_t,
    module: *const core::ffi::c_char,
    module_len: usize,
    instance: *const wasm_instance_t,
) -> *mut keel_error_t {
    const WHAT: &str = "keel_linker_define_instance";
    // SAFETY: per the contract.
    let module = match unsafe { name(module, module_len, WHAT) } {
        Ok(m) => m,
        Err(e) => return e,
    };
    // SAFETY: per the contract.
    let instance = unsafe { &*instance };
    if !core::ptr::eq(instance.store, store) {
        return keel_error_t::boxed(format_args!(
            "{WHAT}: {module}: the instance belongs to another store"
        ));
    }
    // SAFETY: per the contract.
    let (linker, keel_store) = unsafe { (&mut (*linker).linker, &mut (*store).store) };
    match crate::guard(|| {
        linker
            .instance(keel_store, module, instance.instance())
            .map(|_| ())
    }) {
        Some(Ok(())) => core::ptr::null_mut(),
        Some(Err(e)) => keel_error_t::boxed(format_args!("{WHAT}: {module}: {e:#}")),
        None => keel_error_t::boxed(format_args!("{WHAT}: internal error")),
    }
}

#[cfg(feature = "std")]
/// Define the functions of WASI preview 1 (module
/// `wasi_snapshot_preview1`), working on the calling store's WASI context
/// (`keel_store_set_wasi`). Returns null on success, else an error if a
/// name is taken and shadowing is off.
///
/// # Safety
///
/// `linker` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_define_wasi(linker: *mut keel_linker_t) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let linker = unsafe { &mut (*linker).linker };
    match keel_wasi::p1::add_to_linker_sync(linker, |data: &mut StoreData| &mut data.wasi) {
        Ok(()) => core::ptr::null_mut(),
        Err(e) => keel_error_t::boxed(format_args!("keel_linker_define_wasi: {e:#}")),
    }
}

/// Instantiate `module` in `store`, each import resolved by its module
/// and field name. On success returns null and sets `*instance` (owned
/// by the caller). If the start function traps (or a WASI program
/// exits in it), returns null, sets `*instance` to null and `*trap` to
/// the trap (owned by the caller). Otherwise returns the error (an
/// import without definition, named; a definition of the wrong type; a
/// segment out of bounds; a limit of the store) and sets neither.
///
/// # Safety
///
/// `linker`, `store` and `module` are valid; `instance` and `trap` point
/// at writable memory for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_instantiate(
    linker: *const keel_linker_t,
    store: *mut wasm_store_t,
    module: *const wasm_module_t,
    instance: *mut *mut wasm_instance_t,
    trap: *mut *mut wasm_trap_t,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let (linker, keel_store, keel_module) =
        unsafe { (&(*linker).linker, &mut (*store).store, (*module).module()) };
    match crate::guard(|| linker.instantiate(&mut *keel_store, keel_module)) {
        Some(Ok(i)) => {
            // SAFETY: per the contract.
            unsafe { instance.write(Box::into_raw(Box::new(wasm_instance_t::new(store, i)))) };
            core::ptr::null_mut()
        }
        Some(Err(e)) if wasm_trap_t::is_trap(&e) => {
            // SAFETY: per the contract.
            unsafe {
                instance.write(core::ptr::null_mut());
                trap.write(Box::into_raw(Box::new(wasm_trap_t::from_error(store, e))));
            }
            core::ptr::null_mut()
        }
        Some(Err(e)) => keel_error_t::boxed(format_args!("keel_linker_instantiate: {e:#}")),
        None => keel_error_t::boxed("keel_linker_instantiate: internal error"),
    }
}

/// Make `*item` the definition of `module::name` (UTF-8, their lengths in
/// bytes) for `store`, owned by the caller; false if there is none (or a
/// name is not UTF-8).
///
/// # Safety
///
/// `linker` and `store` are valid; the names point at their lengths of
/// readable bytes; `item` points at writable memory for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_linker_get(
    linker: *const keel_linker_t,
    store: *mut wasm_store_t,
    module: *const core::ffi::c_char,
    module_len: usize,
    name: *const core::ffi::c_char,
    name_len: usize,
    item: *mut *mut wasm_extern_t,
) -> bool {
    // SAFETY: per the contract.
    let (Ok(module), Ok(field)) = (unsafe { self::name(module, module_len, "") }, unsafe {
        self::name(name, name_len, "")
    }) else {
        return false;
    };
    // SAFETY: per the contract.
    let (linker, keel_store) = unsafe { (&(*linker).linker, &mut (*store).store) };
    match crate::guard(|| linker.get(&mut *keel_store, module, field)) {
        Some(Some(ext)) => {
            // SAFETY: per the contract.
            unsafe { item.write(Box::into_raw(Box::new(wasm_extern_t::new(store, ext)))) };
            true
        }
        _ => false,
    }
}
