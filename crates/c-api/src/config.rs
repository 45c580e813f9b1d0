//! `keel.h`'s configuration setters (`keel_config_*_set`, as Wasmtime's
//! `wasmtime_config_*_set`) and `keel_engine_new_with_config`, which
//! returns the reason an engine cannot be made.

use crate::prelude::*;

use crate::engine::{wasm_config_t, wasm_engine_t};
use crate::error::keel_error_t;
use core::ffi::{CStr, c_char};

/// Defines `keel_config_<name>_set(config, value)` calling
/// `keel::Config::<method>(value)`.
macro_rules! config_setters {
    ($($(#[$doc:meta])* $c:ident => $method:ident($ty:ty);)*) => {$(
        $(#[$doc])*
        ///
        /// # Safety
        ///
        /// `config` is valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $c(config: *mut wasm_config_t, value: $ty) {
            // SAFETY: per the contract.
            unsafe { (*config).config.$method(value) };
        }
    )*};
}

config_setters! {
    /// Count fuel: every store starts with none, and wasm traps when its
    /// fuel runs out (`keel_store_set_fuel`). Default off.
    keel_config_consume_fuel_set => consume_fuel(bool);
    /// Check epoch deadlines at function entries and loop headers
    /// (`keel_store_set_epoch_deadline`, `keel_engine_increment_epoch`).
    /// Default off.
    keel_config_epoch_interruption_set => epoch_interruption(bool);
    /// The most bytes of native stack wasm may use before it traps with
    /// stack overflow. Default 512 KiB.
    keel_config_max_wasm_stack_set => max_wasm_stack(usize);
    /// Bytes of address space reserved for each 32-bit linear memory
    /// (bounds checks are elided where the reservation and guard cover
    /// every offset). Default 4 GiB on 64-bit hosts.
    keel_config_memory_reservation_set => memory_reservation(u64);
    /// Bytes of inaccessible guard region after each linear memory.
    /// Default 32 MiB.
    keel_config_memory_guard_size_set => memory_guard_size(u64);
    /// Let out-of-bounds accesses fault and become traps in keel's signal
    /// handler (true, the default) or check every access explicitly
    /// (false: no signal handlers needed, slower code).
    keel_config_signals_based_traps_set => signals_based_traps(bool);
    /// Compile a module's functions on several threads. Default on.
    keel_config_parallel_compilation_set => parallel_compilation(bool);
    /// Compile each function at its first call instead of with the
    /// module. Default off.
    keel_config_lazy_compilation_set => lazy_compilation(bool);
    /// Canonicalize NaNs that floating-point operations produce
    /// (deterministic results across hosts). Default off.
    keel_config_cranelift_nan_canonicalization_set => cranelift_nan_canonicalization(bool);
    /// The [bulk memory](https://github.com/WebAssembly/bulk-memory-operations) proposal. Default on.
    keel_config_wasm_bulk_memory_set => wasm_bulk_memory(bool);
    /// The [multi-value](https://github.com/WebAssembly/multi-value) proposal. Default on.
    keel_config_wasm_multi_value_set => wasm_multi_value(bool);
    /// The [SIMD](https://github.com/WebAssembly/simd) proposal. Default on.
    keel_config_wasm_simd_set => wasm_simd(bool);
    /// The [reference types](https://github.com/WebAssembly/reference-types) proposal. Default on.
    keel_config_wasm_reference_types_set => wasm_reference_types(bool);
    /// The [tail call](https://github.com/WebAssembly/tail-call) proposal. Default on.
    keel_config_wasm_tail_call_set => wasm_tail_call(bool);
    /// The [typed function references](https://github.com/WebAssembly/function-references) proposal.
    keel_config_wasm_function_references_set => wasm_function_references(bool);
    /// The [multi-memory](https://github.com/WebAssembly/multi-memory) proposal.
    keel_config_wasm_multi_memory_set => wasm_multi_memory(bool);
    /// The [memory64](https://github.com/WebAssembly/memory64) proposal.
    keel_config_wasm_memory64_set => wasm_memory64(bool);
    /// The [relaxed SIMD](https://github.com/WebAssembly/relaxed-simd) proposal.
    keel_config_wasm_relaxed_simd_set => wasm_relaxed_simd(bool);
    /// The [extended constant expressions](https://github.com/WebAssembly/extended-const) proposal.
    keel_config_wasm_extended_const_set => wasm_extended_const(bool);
    /// The [threads](https://github.com/WebAssembly/threads) proposal.
    keel_config_wasm_threads_set => wasm_threads(bool);
    /// The [exception handling](https://github.com/WebAssembly/exception-handling) proposal.
    keel_config_wasm_exceptions_set => wasm_exceptions(bool);
    /// The [garbage collection](https://github.com/WebAssembly/gc) proposal.
    keel_config_wasm_gc_set => wasm_gc(bool);
    /// The [wide arithmetic](https://github.com/WebAssembly/wide-arithmetic) proposal.
    keel_config_wasm_wide_arithmetic_set => wasm_wide_arithmetic(bool);
    /// The [custom page sizes](https://github.com/WebAssembly/custom-page-sizes) proposal.
    keel_config_wasm_custom_page_sizes_set => wasm_custom_page_sizes(bool);
}

/// Compile for the target `triple` (a target-lexicon triple such as
/// `riscv64gc-unknown-linux-gnu`) instead of the host: for
/// `keel_engine_precompile_module` artifacts of another machine. Returns
/// null on success, else an error if Cranelift does not know the triple.
///
/// # Safety
///
/// `config` is valid; `triple` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_config_target_set(
    config: *mut wasm_config_t,
    triple: *const c_char,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    unsafe {
        set_str(config, triple, "keel_config_target_set", |c, t| {
            c.target(t).map(drop)
        })
    }
}

/// Call `set` with the configuration and the string `value` (NUL-terminated
/// UTF-8), turning a bad string or `set`'s error into an owned error
/// prefixed with `what`.
///
/// # Safety
///
/// `config` is valid; `value` is a NUL-terminated string.
unsafe fn set_str(
    config: *mut wasm_config_t,
    value: *const c_char,
    what: &str,
    set: impl FnOnce(&mut keel_rt::Config, &str) -> anyhow::Result<()>,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let Ok(value) = unsafe { CStr::from_ptr(value) }.to_str() else {
        return keel_error_t::boxed(format_args!("{what}: the string is not UTF-8"));
    };
    // SAFETY: per the contract.
    match set(unsafe { &mut (*config).config }, value) {
        Ok(()) => core::ptr::null_mut(),
        Err(e) => keel_error_t::boxed(format_args!("{what}: {e:#}")),
    }
}

/// Enable the Cranelift ISA flag `flag` (NUL-terminated, e.g.
/// `has_sse41`): a CPU feature the code may use. Needed with
/// `keel_config_target_set`, and in the freestanding library, which
/// cannot probe the CPU. Returns null, or an error if the target has no
/// such flag.
///
/// # Safety
///
/// `config` is valid; `flag` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_config_cranelift_flag_enable(
    config: *mut wasm_config_t,
    flag: *const c_char,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    unsafe {
        set_str(config, flag, "keel_config_cranelift_flag_enable", |c, f| {
            c.cranelift_flag_enable(f).map(drop)
        })
    }
}

/// Make `*out` a new engine with the settings of `config`, which it
/// takes (deleted, also on failure). Returns null on success, else why
/// the settings are invalid or the host is not supported.
///
/// # Safety
///
/// `config` is owned and made by keel; `out` points at writable memory
/// for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_engine_new_with_config(
    config: *mut wasm_config_t,
    out: *mut *mut wasm_engine_t,
) -> *mut keel_error_t {
    if config.is_null() {
        return keel_error_t::boxed("keel_engine_new_with_config: null configuration");
    }
    // SAFETY: per the contract.
    let config = unsafe { Box::from_raw(config) };
    match crate::guard(|| keel_rt::Engine::new(&config.config)) {
        Some(Ok(engine)) => {
            // SAFETY: per the contract.
            unsafe { out.write(Box::into_raw(Box::new(wasm_engine_t { engine }))) };
            core::ptr::null_mut()
        }
        Some(Err(e)) => keel_error_t::boxed(format_args!("keel_engine_new_with_config: {e:#}")),
        None => keel_error_t::boxed("keel_engine_new_with_config: internal error"),
    }
}
