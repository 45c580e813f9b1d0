/*
 * keel/config.h: settings of a wasm_config_t beyond wasm.h's (as
 * Wasmtime's wasmtime_config_*_set), and an engine constructor that
 * says why it fails.
 */
#ifndef KEEL_CONFIG_H
#define KEEL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <keel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Count fuel: a store starts with none and wasm traps with
 * KEEL_TRAP_CODE_OUT_OF_FUEL when its fuel runs out (keel_store_set_fuel).
 * Default off. */
WASM_API_EXTERN void keel_config_consume_fuel_set(wasm_config_t *config, bool enable);
/* Check epoch deadlines at function entries and loop headers
 * (keel_store_set_epoch_deadline, keel_engine_increment_epoch). Default
 * off. */
WASM_API_EXTERN void keel_config_epoch_interruption_set(wasm_config_t *config, bool enable);
/* The most bytes of native stack wasm may use before a call traps with
 * KEEL_TRAP_CODE_STACK_OVERFLOW. Default 512 KiB. */
WASM_API_EXTERN void keel_config_max_wasm_stack_set(wasm_config_t *config, size_t bytes);
/* Bytes of address space reserved for each 32-bit linear memory; where
 * the reservation plus the guard covers every offset, bounds checks are
 * left to the MMU. Default 4 GiB on 64-bit hosts. */
WASM_API_EXTERN void keel_config_memory_reservation_set(wasm_config_t *config, uint64_t bytes);
/* Bytes of inaccessible guard region after each linear memory. Default
 * 32 MiB. */
WASM_API_EXTERN void keel_config_memory_guard_size_set(wasm_config_t *config, uint64_t bytes);
/* The bounds-check mode: true (default) lets out-of-bounds accesses fault
 * and become traps in keel's signal handler; false checks every access
 * in the code (no signal handler needed; slower). */
WASM_API_EXTERN void keel_config_signals_based_traps_set(wasm_config_t *config, bool enable);
/* Compile a module's functions on several threads. Default on. */
WASM_API_EXTERN void keel_config_parallel_compilation_set(wasm_config_t *config, bool enable);
/* Compile each function at its first call instead of with its module.
 * Default off. */
WASM_API_EXTERN void keel_config_lazy_compilation_set(wasm_config_t *config, bool enable);
/* Canonicalize the NaNs floating-point operations produce (the same bits
 * on every host). Default off. */
WASM_API_EXTERN void keel_config_cranelift_nan_canonicalization_set(wasm_config_t *config, bool enable);

/* WebAssembly features (proposals), each on or off; keel's defaults are
 * Wasmtime's (WebAssembly 2.0 and the finished 3.0 proposals on). */
WASM_API_EXTERN void keel_config_wasm_bulk_memory_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_multi_value_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_simd_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_reference_types_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_tail_call_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_function_references_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_multi_memory_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_memory64_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_relaxed_simd_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_extended_const_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_threads_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_exceptions_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_gc_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_wide_arithmetic_set(wasm_config_t *config, bool enable);
WASM_API_EXTERN void keel_config_wasm_custom_page_sizes_set(wasm_config_t *config, bool enable);

/* Compile for the target `triple` (NUL-terminated, e.g.
 * "riscv64gc-unknown-linux-gnu") instead of the host, for
 * keel_engine_precompile_module artifacts of another machine. Returns
 * null, or an error (owned by the caller) if Cranelift does not know the
 * triple. */
WASM_API_EXTERN keel_error_t *keel_config_target_set(wasm_config_t *config, const char *triple);

/* Enable the Cranelift ISA flag `flag` (NUL-terminated, e.g.
 * "has_sse41"): a CPU feature compiled code may use. Give the CPU's
 * features this way with keel_config_target_set, and in the freestanding
 * library, which cannot probe the CPU (x86_64 needs has_sse3, has_ssse3,
 * has_sse41 and has_sse42 for wasm SIMD). Returns null, or an error if the
 * target has no such flag. */
WASM_API_EXTERN keel_error_t *keel_config_cranelift_flag_enable(wasm_config_t *config,
                                                                const char *flag);

/* Make `*out` a new engine (owned by the caller) with the settings of
 * `config`, which is taken (deleted, also on failure). Returns null on
 * success, else an error saying why the settings are invalid or the host
 * is not supported. */
WASM_API_EXTERN keel_error_t *keel_engine_new_with_config(wasm_config_t *config,
                                                         wasm_engine_t **out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_CONFIG_H */
