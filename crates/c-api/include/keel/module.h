/*
 * keel/module.h: compiling and validating modules with errors, artifacts
 * (compiled code saved and loaded without recompiling), and
 * precompilation for another machine (as Wasmtime's wasmtime_module_*).
 */
#ifndef KEEL_MODULE_H
#define KEEL_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include <keel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compile the module in `wasm` (`len` bytes, binary or text format) for
 * `engine`; on success set `*out` (owned by the caller) and return null,
 * else return why it is malformed, invalid or cannot be compiled (with
 * the byte offset of a binary's error). */
WASM_API_EXTERN keel_error_t *keel_module_new(const wasm_engine_t *engine, const uint8_t *wasm,
                                              size_t len, wasm_module_t **out);

/* Return null if `wasm` (`len` bytes, binary format) is a valid module
 * for `engine`'s features, else why not; nothing is compiled. */
WASM_API_EXTERN keel_error_t *keel_module_validate(const wasm_engine_t *engine,
                                                   const uint8_t *wasm, size_t len);

/* Write the artifact of `module` (its compiled code and metadata, an ELF
 * file) to `*out` (owned by the caller), for keel_module_deserialize with
 * an engine of the same settings and keel build. Returns null on success,
 * else why it cannot be written. */
WASM_API_EXTERN keel_error_t *keel_module_serialize(const wasm_module_t *module,
                                                    wasm_byte_vec_t *out);

/* Load the artifact `bytes` (`len` bytes, from keel_module_serialize or
 * keel_engine_precompile_module) without compiling; on success set `*out`
 * (owned by the caller) and return null, else return why the bytes are
 * not an artifact this engine can load (another format version, keel
 * build, target or settings; truncated or corrupted: every table is
 * checked).
 *
 * UNSAFE: the artifact's machine code runs as it is. Load only artifacts
 * from a trusted source (ones you wrote), as you would a shared library. */
WASM_API_EXTERN keel_error_t *keel_module_deserialize(const wasm_engine_t *engine,
                                                      const uint8_t *bytes, size_t len,
                                                      wasm_module_t **out);

/* Compile `wasm` (`len` bytes) for `engine`'s target, possibly another
 * machine's (keel_config_target_set), and write its artifact to `*out`
 * (owned by the caller). Returns null on success, else why it cannot be
 * compiled. */
WASM_API_EXTERN keel_error_t *keel_engine_precompile_module(const wasm_engine_t *engine,
                                                            const uint8_t *wasm, size_t len,
                                                            wasm_byte_vec_t *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_MODULE_H */
