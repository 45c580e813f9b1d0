/*
 * keel/store.h: bounding a store's guests: fuel, epoch deadlines and
 * resource limits (as Wasmtime's wasmtime_context_set_fuel,
 * wasmtime_context_set_epoch_deadline, wasmtime_engine_increment_epoch,
 * wasmtime_store_limiter).
 *
 * A store is used by one thread at a time, and "not in use" below means
 * no call into it is running; keel_engine_increment_epoch is the
 * exception, made to be called from any thread at any time.
 */
#ifndef KEEL_STORE_H
#define KEEL_STORE_H

#include <stdint.h>

#include <keel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Give `store` `fuel` units (replacing what it had left): each wasm
 * operator costs about one; a call traps with KEEL_TRAP_CODE_OUT_OF_FUEL
 * when none is left. Returns null, or an error if the engine does not
 * count fuel (keel_config_consume_fuel_set). */
WASM_API_EXTERN keel_error_t *keel_store_set_fuel(wasm_store_t *store, uint64_t fuel);

/* Write the fuel `store` has left to `*fuel`. Returns null, or an error
 * if the engine does not count fuel. */
WASM_API_EXTERN keel_error_t *keel_store_get_fuel(const wasm_store_t *store, uint64_t *fuel);

/* Make wasm in `store` trap with KEEL_TRAP_CODE_INTERRUPT once the
 * engine's epoch has advanced `ticks_beyond_current` ticks from now;
 * checked at function entries and loop headers when the engine has epoch
 * interruption on. A new store's deadline is the current epoch: set one
 * before calling. */
WASM_API_EXTERN void keel_store_set_epoch_deadline(wasm_store_t *store,
                                                   uint64_t ticks_beyond_current);

/* Advance `engine`'s epoch by one tick. One atomic increment: call it
 * from any thread (a timer thread) while wasm runs. */
WASM_API_EXTERN void keel_engine_increment_epoch(const wasm_engine_t *engine);

/* Bound what `store` may hold: `memory_size` bytes per linear memory,
 * `table_elements` elements per table, and `instances`, `tables` and
 * `memories` in all. A negative value is no limit (wasm_store_new's
 * stores have no count limits; sizes are bounded by the engine's
 * settings and the types). memory.grow and table.grow past a limit
 * return -1 to wasm; an instantiation past one fails with an error
 * saying which. */
WASM_API_EXTERN void keel_store_limiter(wasm_store_t *store, int64_t memory_size,
                                        int64_t table_elements, int64_t instances,
                                        int64_t tables, int64_t memories);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_STORE_H */
