/*
 * keel/wasi.h: the WASI preview 1 context a store's programs see
 * (arguments, environment, standard streams, preopened directories), as
 * Wasmtime's wasi_config_t. Give it to a store with keel_store_set_wasi;
 * link the functions with keel_linker_define_wasi.
 *
 * Strings are NUL-terminated UTF-8.
 */
#ifndef KEEL_WASI_H
#define KEEL_WASI_H

#include <stddef.h>

#include <keel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A WASI context being configured. */
typedef struct keel_wasi_config_t keel_wasi_config_t;

/* A new configuration (owned by the caller): no arguments, no environment,
 * standard streams that read nothing and drop what is written, no
 * directories. */
WASM_API_EXTERN keel_wasi_config_t *keel_wasi_config_new(void);

/* Free `config` (null is ignored). */
WASM_API_EXTERN void keel_wasi_config_delete(keel_wasi_config_t *config);

/* Set the program's arguments to `argv[0..argc]` (argv[0] is by
 * convention the program's name). Returns null, or an error naming an
 * argument that is not UTF-8 (the arguments are then unchanged). */
WASM_API_EXTERN keel_error_t *keel_wasi_config_set_argv(keel_wasi_config_t *config, size_t argc,
                                                        const char *const argv[]);

/* Give the program this process's arguments (the UTF-8 ones). */
WASM_API_EXTERN void keel_wasi_config_inherit_argv(keel_wasi_config_t *config);

/* Add `count` environment variables `names[i]=values[i]`. Returns null,
 * or an error naming one that is not UTF-8 (none is then added). */
WASM_API_EXTERN keel_error_t *keel_wasi_config_set_env(keel_wasi_config_t *config, size_t count,
                                                       const char *const names[],
                                                       const char *const values[]);

/* Give the program this process's environment (the UTF-8 variables). */
WASM_API_EXTERN void keel_wasi_config_inherit_env(keel_wasi_config_t *config);

/* Give the program this process's standard input, output, error. */
WASM_API_EXTERN void keel_wasi_config_inherit_stdin(keel_wasi_config_t *config);
WASM_API_EXTERN void keel_wasi_config_inherit_stdout(keel_wasi_config_t *config);
WASM_API_EXTERN void keel_wasi_config_inherit_stderr(keel_wasi_config_t *config);

/* Preopen the host directory `host_path` as `guest_path`, readable and
 * writable. The program reaches the files under it and nothing outside:
 * ".." past it, absolute paths and symbolic links out of it are refused.
 * Returns null, or why the directory cannot be opened. */
WASM_API_EXTERN keel_error_t *keel_wasi_config_preopen_dir(keel_wasi_config_t *config,
                                                           const char *host_path,
                                                           const char *guest_path);

/* Make `config` (taken: do not use or free it afterwards) the WASI
 * context of `store`'s programs. A store without one gives them an empty
 * context. */
WASM_API_EXTERN void keel_store_set_wasi(wasm_store_t *store, keel_wasi_config_t *config);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_WASI_H */
