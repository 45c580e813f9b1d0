//! The runtime environment: configuration, engine and store (spec:
//! "Runtime Environment" in wasm.h; the store is the core spec's
//! [store](https://webassembly.github.io/spec/core/exec/runtime.html#store)).

use crate::prelude::*;

use crate::guard;

/// Compilation and runtime settings, consumed by
/// `wasm_engine_new_with_config`.
pub struct wasm_config_t {
    pub(crate) config: keel_rt::Config,
}

/// A new configuration with keel's defaults (those of `keel::Config`).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_config_new() -> *mut wasm_config_t {
    let mut config = keel_rt::Config::new();
    if let Some(platform) = crate::platform::registered() {
        config.platform(platform);
    }
    Box::into_raw(Box::new(wasm_config_t { config }))
}

/// Delete `config` (null is ignored).
///
/// # Safety
///
/// `config` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_config_delete(config: *mut wasm_config_t) {
    if !config.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(config) });
    }
}

/// A compiler and its settings, shared by the stores made from it. Safe
/// to use from several threads at once.
pub struct wasm_engine_t {
    pub(crate) engine: keel_rt::Engine,
}

/// A new engine with keel's default settings; null if the host is not
/// supported (the reason is logged at `tracing` error level).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_engine_new() -> *mut wasm_engine_t {
    // SAFETY: a fresh configuration is owned and made by keel.
    unsafe { wasm_engine_new_with_config(wasm_config_new()) }
}

/// A new engine with the settings of `config`, which it takes; null if
/// they are invalid or the host is not supported.
///
/// # Safety
///
/// `config` is owned and made by keel; it is deleted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_new_with_config(
    config: *mut wasm_config_t,
) -> *mut wasm_engine_t {
    if config.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let config = unsafe { Box::from_raw(config) };
    match guard(|| keel_rt::Engine::new(&config.config)) {
        Some(Ok(engine)) => Box::into_raw(Box::new(wasm_engine_t { engine })),
        Some(Err(e)) => {
            crate::report(&format!("wasm_engine_new: {e:#}"));
            core::ptr::null_mut()
        }
        None => core::ptr::null_mut(),
    }
}

/// Delete `engine` (null is ignored); stores and modules made from it
/// keep what they need.
///
/// # Safety
///
/// `engine` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_delete(engine: *mut wasm_engine_t) {
    if !engine.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(engine) });
    }
}

/// What a store keeps for the C API: the host info of its objects
/// (their finalizers run when the store is deleted) and its resource
/// limits.
pub struct StoreData {
    pub(crate) host_info:
        hashbrown::HashMap<crate::host_info::ObjectKey, crate::host_info::HostInfo>,
    pub(crate) limits: keel_rt::StoreLimits,
    /// The WASI context of `keel_linker_define_wasi`'s functions
    /// (`keel_store_set_wasi`; empty by default).
    #[cfg(feature = "std")]
    pub(crate) wasi: keel_wasi::WasiCtx,
    /// The next host info's [`HostInfo::seq`](crate::host_info::HostInfo).
    pub(crate) next_host_info_seq: u64,
}

impl Drop for StoreData {
    /// Runs the finalizers in the order the infos were attached (the
    /// objects' creation order, in the common case), not the map's.
    fn drop(&mut self) {
        let mut infos: Vec<_> = self.host_info.drain().map(|(_, info)| info).collect();
        infos.sort_by_key(|info| info.seq);
        drop(infos);
    }
}

impl Default for StoreData {
    /// No limit on the number of instances, tables and memories (keel's
    /// Rust default is 10,000 each): the standard C API frees an object
    /// only with its store and has no call to set limits, and its users
    /// instantiate as often as its reference implementation, which
    /// collects unreachable instances, lets them (the wasm-c-api's
    /// `finalize` example makes 300,000). Memory and table sizes stay
    /// bounded by the engine's configuration.
    fn default() -> Self {
        Self {
            host_info: Default::default(),
            next_host_info_seq: 0,
            #[cfg(feature = "std")]
            wasi: keel_wasi::WasiCtxBuilder::new().build(),
            limits: keel_rt::StoreLimitsBuilder::new()
                .instances(usize::MAX)
                .tables(usize::MAX)
                .memories(usize::MAX)
                .build(),
        }
    }
}

/// A store: the instances, functions, globals, tables and memories made
/// in it, which live until it is deleted. Used by one thread at a time.
pub struct wasm_store_t {
    pub(crate) store: keel_rt::Store<StoreData>,
}

/// A new store of `engine`.
///
/// # Safety
///
/// `engine` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_new(engine: *mut wasm_engine_t) -> *mut wasm_store_t {
    if engine.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let engine = unsafe { &(*engine).engine };
    let new = || {
        let mut store = keel_rt::Store::new(engine, StoreData::default());
        store.limiter(|data| &mut data.limits);
        store
    };
    match guard(new) {
        Some(store) => Box::into_raw(Box::new(wasm_store_t { store })),
        None => core::ptr::null_mut(),
    }
}

/// Delete `store` and everything made in it (null is ignored).
///
/// # Safety
///
/// `store` is null or owned and made by keel; no object made in it (a
/// function, global, table, memory, instance, extern or reference) is
/// used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_delete(store: *mut wasm_store_t) {
    if !store.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(store) });
    }
}
