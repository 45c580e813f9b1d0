/*
 * keel/linker.h: a linker resolves a module's imports by module and
 * field name (as Wasmtime's wasmtime_linker_t), including the functions
 * of WASI preview 1.
 *
 * Names are UTF-8 with explicit lengths (not NUL-terminated).
 */
#ifndef KEEL_LINKER_H
#define KEEL_LINKER_H

#include <stdbool.h>
#include <stddef.h>

#include <keel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Definitions by module and name for the modules of one engine. */
typedef struct keel_linker_t keel_linker_t;

/* A new, empty linker for `engine` (owned by the caller). */
WASM_API_EXTERN keel_linker_t *keel_linker_new(const wasm_engine_t *engine);

/* Free `linker` (null is ignored); what was defined lives on. */
WASM_API_EXTERN void keel_linker_delete(keel_linker_t *linker);

/* Let a later definition replace an earlier one of the same name
 * (default: it is an error). */
WASM_API_EXTERN void keel_linker_allow_shadowing(keel_linker_t *linker, bool allow);

/* Define `module::name` as `item`, an object of `store` (the definition
 * is then usable with that store only). Returns null, or an error if the
 * name is taken and shadowing is off, or `item` is of another store. */
WASM_API_EXTERN keel_error_t *keel_linker_define(keel_linker_t *linker, const wasm_store_t *store,
                                                 const char *module, size_t module_len,
                                                 const char *name, size_t name_len,
                                                 const wasm_extern_t *item);

/* Define every export of `instance` (of `store`) under the module name
 * `module`. Returns null, or an error if a name is taken and shadowing is
 * off. */
WASM_API_EXTERN keel_error_t *keel_linker_define_instance(keel_linker_t *linker,
                                                          wasm_store_t *store,
                                                          const char *module, size_t module_len,
                                                          const wasm_instance_t *instance);

/* Define WASI preview 1 (module "wasi_snapshot_preview1"); its functions
 * use the calling store's WASI context (keel_store_set_wasi). Returns
 * null, or an error if a name is taken and shadowing is off. */
WASM_API_EXTERN keel_error_t *keel_linker_define_wasi(keel_linker_t *linker);

/* Instantiate `module` in `store`, resolving its imports by name.
 * On success: returns null and sets `*instance` (owned by the caller).
 * If the start function traps (or a WASI program exits in it): returns
 * null, sets `*instance` to null and `*trap` to the trap (owned).
 * Otherwise returns the error (an import without definition, named; a
 * definition of the wrong type; a segment out of bounds; a store limit)
 * and sets neither. */
WASM_API_EXTERN keel_error_t *keel_linker_instantiate(const keel_linker_t *linker,
                                                      wasm_store_t *store,
                                                      const wasm_module_t *module,
                                                      wasm_instance_t **instance,
                                                      wasm_trap_t **trap);

/* If `module::name` is defined, set `*item` to it (owned by the caller)
 * and return true; else return false. */
WASM_API_EXTERN bool keel_linker_get(const keel_linker_t *linker, wasm_store_t *store,
                                     const char *module, size_t module_len, const char *name,
                                     size_t name_len, wasm_extern_t **item);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_LINKER_H */
