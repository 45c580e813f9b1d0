/*
 * keel/error.h: keel_error_t, the error of keel.h's functions (as
 * Wasmtime's wasmtime_error_t).
 */
#ifndef KEEL_ERROR_H
#define KEEL_ERROR_H

#include <wasm.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An error: what failed and why, with its causes ("outer: inner").
 * Returned owned by the functions of keel.h (null means success).
 */
typedef struct keel_error_t keel_error_t;

/* Free `error` (null is ignored). */
WASM_API_EXTERN void keel_error_delete(keel_error_t *error);

/*
 * Write the error's message to `*message`: NUL-terminated UTF-8, its
 * `size` counting the NUL, owned by the caller (free it with
 * wasm_byte_vec_delete).
 */
WASM_API_EXTERN void keel_error_message(const keel_error_t *error,
                                        wasm_name_t *message);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_ERROR_H */
