/*
 * keel/wat.h: the WebAssembly text format
 * (https://webassembly.github.io/spec/core/text/index.html) to its binary
 * encoding, for wasm_module_new and friends (as Wasmtime's
 * wasmtime_wat2wasm).
 */
#ifndef KEEL_WAT_H
#define KEEL_WAT_H

#include <keel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Encode the module in `wat` (`wat_len` bytes of UTF-8 text, not
 * necessarily NUL-terminated) and write its binary to `*out`, owned by
 * the caller. Returns null on success; else an error saying where the
 * text is malformed (line and column), and `*out` is left untouched.
 */
WASM_API_EXTERN keel_error_t *keel_wat2wasm(const char *wat, size_t wat_len,
                                                wasm_byte_vec_t *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_WAT_H */
