//! `keel.h`'s WASI preview 1 configuration (`keel_wasi_config_t`, as
//! Wasmtime's `wasi_config_t`): arguments, environment, standard streams
//! and preopened directories of the store's WASI context
//! (`keel_store_set_wasi`), whose functions a linker provides
//! (`keel_linker_define_wasi`).

use crate::prelude::*;

use crate::engine::wasm_store_t;
use crate::error::keel_error_t;
use core::ffi::{CStr, c_char};
use keel_wasi::{DirPerms, FilePerms, WasiCtxBuilder};

/// A WASI configuration being built; `keel_store_set_wasi` takes it.
pub struct keel_wasi_config_t {
    builder: WasiCtxBuilder,
}

/// A new WASI configuration: no arguments, no environment, standard
/// streams that read nothing and discard what is written, no directories.
#[unsafe(no_mangle)]
pub extern "C" fn keel_wasi_config_new() -> *mut keel_wasi_config_t {
    Box::into_raw(Box::new(keel_wasi_config_t {
        builder: WasiCtxBuilder::new(),
    }))
}

/// Delete `config` (null is ignored).
///
/// # Safety
///
/// `config` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_delete(config: *mut keel_wasi_config_t) {
    if !config.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(config) });
    }
}

/// The strings `items[0..count]` (NUL-terminated UTF-8); `Err` names the
/// first that is not UTF-8.
///
/// # Safety
///
/// `items` points at `count` NUL-terminated strings, or `count` is 0.
unsafe fn strings<'a>(
    items: *const *const c_char,
    count: usize,
    what: &str,
) -> Result<Vec<&'a str>, String> {
    // SAFETY: per the contract.
    let items = unsafe { crate::vec::raw_slice(items.cast_mut(), count) };
    items
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            // SAFETY: per the contract, each is a NUL-terminated string.
            unsafe { CStr::from_ptr(p) }
                .to_str()
                .map_err(|_| format!("{what} {i} is not UTF-8"))
        })
        .collect()
}

/// Set the program's arguments (`argv[0]` is the program's name, by
/// convention) to the `argc` NUL-terminated UTF-8 strings of `argv`.
/// Returns null on success, else an error naming an argument that is not
/// UTF-8 (and the arguments are unchanged).
///
/// # Safety
///
/// `config` is valid; `argv` points at `argc` NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_set_argv(
    config: *mut keel_wasi_config_t,
    argc: usize,
    argv: *const *const c_char,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    match unsafe { strings(argv, argc, "argument") } {
        Ok(args) => {
            // SAFETY: per the contract.
            unsafe { &mut (*config).builder }.args(&args);
            core::ptr::null_mut()
        }
        Err(e) => keel_error_t::boxed(format_args!("keel_wasi_config_set_argv: {e}")),
    }
}

/// Give the program this process's arguments (those that are UTF-8).
///
/// # Safety
///
/// `config` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_inherit_argv(config: *mut keel_wasi_config_t) {
    // SAFETY: per the contract.
    unsafe { &mut (*config).builder }.inherit_args();
}

/// Add `count` environment variables: `names[i]=values[i]`, each a
/// NUL-terminated UTF-8 string. Returns null on success, else an error
/// naming one that is not UTF-8 (and none is added).
///
/// # Safety
///
/// `config` is valid; `names` and `values` point at `count`
/// NUL-terminated strings each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_set_env(
    config: *mut keel_wasi_config_t,
    count: usize,
    names: *const *const c_char,
    values: *const *const c_char,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let pairs = unsafe { strings(names, count, "name") }
        // SAFETY: per the contract.
        .and_then(|n| Ok((n, unsafe { strings(values, count, "value") }?)));
    match pairs {
        Ok((names, values)) => {
            // SAFETY: per the contract.
            let builder = unsafe { &mut (*config).builder };
            for (name, value) in names.iter().zip(values) {
                builder.env(name, value);
            }
            core::ptr::null_mut()
        }
        Err(e) => keel_error_t::boxed(format_args!("keel_wasi_config_set_env: {e}")),
    }
}

/// Give the program this process's environment (the UTF-8 variables).
///
/// # Safety
///
/// `config` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_inherit_env(config: *mut keel_wasi_config_t) {
    // SAFETY: per the contract.
    unsafe { &mut (*config).builder }.inherit_env();
}

/// Give the program this process's standard input.
///
/// # Safety
///
/// `config` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_inherit_stdin(config: *mut keel_wasi_config_t) {
    // SAFETY: per the contract.
    unsafe { &mut (*config).builder }.inherit_stdin();
}

/// Give the program this process's standard output.
///
/// # Safety
///
/// `config` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_inherit_stdout(config: *mut keel_wasi_config_t) {
    // SAFETY: per the contract.
    unsafe { &mut (*config).builder }.inherit_stdout();
}

/// Give the program this process's standard error.
///
/// # Safety
///
/// `config` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_inherit_stderr(config: *mut keel_wasi_config_t) {
    // SAFETY: per the contract.
    unsafe { &mut (*config).builder }.inherit_stderr();
}

/// Preopen the host directory `host_path` as `guest_path` (both
/// NUL-terminated UTF-8), readable and writable: the program reaches
/// files under it and nothing outside (`..` past it, absolute paths and
/// symbolic links out of it are refused). Returns null on success, else
/// why the directory cannot be opened.
///
/// # Safety
///
/// `config` is valid; the paths are NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wasi_config_preopen_dir(
    config: *mut keel_wasi_config_t,
    host_path: *const c_char,
    guest_path: *const c_char,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let (Ok(host), Ok(guest)) = (
        unsafe { CStr::from_ptr(host_path) }.to_str(),
        unsafe { CStr::from_ptr(guest_path) }.to_str(),
    ) else {
        return keel_error_t::boxed("keel_wasi_config_preopen_dir: a path is not UTF-8");
    };
    // SAFETY: per the contract.
    let builder = unsafe { &mut (*config).builder };
    match builder.preopened_dir(host, guest, DirPerms::all(), FilePerms::all()) {
        Ok(_) => core::ptr::null_mut(),
        Err(e) => keel_error_t::boxed(format_args!(
            "keel_wasi_config_preopen_dir: `{host}`: {e:#}"
        )),
    }
}

/// Make `config` (which it takes) the store's WASI context: what the
/// WASI functions of `keel_linker_define_wasi` see when called from this
/// store. A store without one gives its programs an empty context (no
/// arguments, environment, streams or directories).
///
/// # Safety
///
/// `store` is valid and not in use; `config` is owned and made by keel.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_store_set_wasi(
    store: *mut wasm_store_t,
    config: *mut keel_wasi_config_t,
) {
    // SAFETY: per the contract.
    let mut config = unsafe { Box::from_raw(config) };
    // SAFETY: per the contract.
    unsafe { &mut (*store).store }.data_mut().wasi = config.builder.build();
}
