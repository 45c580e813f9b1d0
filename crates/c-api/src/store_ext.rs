//! `keel.h`'s store controls: fuel, epoch deadlines and resource limits
//! (as Wasmtime's `wasmtime_context_set_fuel`, `..._set_epoch_deadline`,
//! `wasmtime_engine_increment_epoch`, `wasmtime_store_limiter`).

use crate::engine::{wasm_engine_t, wasm_store_t};
use crate::error::keel_error_t;

/// Give the store `fuel` units of fuel (replacing what it had left):
/// each wasm operator costs about one; a call traps with
/// `KEEL_TRAP_CODE_OUT_OF_FUEL` when none is left. Returns null on
/// success, else an error if the engine does not count fuel
/// (`keel_config_consume_fuel_set`).
///
/// # Safety
///
/// `store` is valid and not in use (no call into it is running).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_store_set_fuel(
    store: *mut wasm_store_t,
    fuel: u64,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    match unsafe { &mut (*store).store }.set_fuel(fuel) {
        Ok(()) => core::ptr::null_mut(),
        Err(e) => keel_error_t::boxed(format_args!("keel_store_set_fuel: {e:#}")),
    }
}

/// Write the fuel the store has left to `*fuel`. Returns null on
/// success, else an error if the engine does not count fuel.
///
/// # Safety
///
/// `store` is valid and not in use; `fuel` points at writable memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_store_get_fuel(
    store: *const wasm_store_t,
    fuel: *mut u64,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    match unsafe { &(*store).store }.get_fuel() {
        Ok(left) => {
            // SAFETY: per the contract.
            unsafe { fuel.write(left) };
            core::ptr::null_mut()
        }
        Err(e) => keel_error_t::boxed(format_args!("keel_store_get_fuel: {e:#}")),
    }
}

/// Make wasm in this store trap with `KEEL_TRAP_CODE_INTERRUPT` once the
/// engine's epoch has advanced `ticks_beyond_current` times from now
/// (`keel_engine_increment_epoch`); checked at function entries and loop
/// headers when the engine has epoch interruption on
/// (`keel_config_epoch_interruption_set`). A new store's deadline is 0
/// ticks beyond its creation: set one before calling.
///
/// # Safety
///
/// `store` is valid and not in use.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_store_set_epoch_deadline(
    store: *mut wasm_store_t,
    ticks_beyond_current: u64,
) {
    // SAFETY: per the contract.
    unsafe { &mut (*store).store }.set_epoch_deadline(ticks_beyond_current);
}

/// Advance the engine's epoch by one tick. Safe to call from any thread
/// (a timer thread, a signal handler: it is one atomic increment), also
/// while wasm of the engine's stores runs.
///
/// # Safety
///
/// `engine` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_engine_increment_epoch(engine: *const wasm_engine_t) {
    // SAFETY: per the contract.
    unsafe { &(*engine).engine }.increment_epoch();
}

/// Bound what the store may hold: `memory_size` bytes per linear memory,
/// `table_elements` elements per table, and `instances`, `tables`,
/// `memories` objects in all. A negative value means no limit (a new
/// `wasm_store_new` store has none on counts; sizes are bounded by the
/// engine's settings and the memory types). A `memory.grow` or
/// `table.grow` past a limit fails (returns -1 to wasm); an
/// instantiation past one fails with an error saying which.
///
/// # Safety
///
/// `store` is valid and not in use.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_store_limiter(
    store: *mut wasm_store_t,
    memory_size: i64,
    table_elements: i64,
    instances: i64,
    tables: i64,
    memories: i64,
) {
    let limit = |v: i64| usize::try_from(v).ok();
    let mut builder = keel_rt::StoreLimitsBuilder::new()
        .instances(limit(instances).unwrap_or(usize::MAX))
        .tables(limit(tables).unwrap_or(usize::MAX))
        .memories(limit(memories).unwrap_or(usize::MAX));
    if let Some(bytes) = limit(memory_size) {
        builder = builder.memory_size(bytes);
    }
    if let Some(elements) = limit(table_elements) {
        builder = builder.table_elements(elements);
    }
    // SAFETY: per the contract.
    let store = unsafe { &mut (*store).store };
    store.data_mut().limits = builder.build();
    // keel reads the counts when the limiter is installed: install it
    // again.
    store.limiter(|data| &mut data.limits);
}
