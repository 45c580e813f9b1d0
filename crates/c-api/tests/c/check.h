/* Tiny assertion helpers for keel's C tests: a failed check prints its
 * place and expression and exits with status 1. */
#ifndef KEEL_TEST_CHECK_H
#define KEEL_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel.h>

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* Fail with the error's message if `error` is not null. */
static inline void check_ok(keel_error_t *error, const char *what) {
  if (error) {
    wasm_name_t message;
    keel_error_message(error, &message);
    fprintf(stderr, "%s: %s\n", what, message.data);
    exit(1);
  }
}

/* Compile the text `wat` in `store` (failing the test if it does not). */
static inline wasm_module_t *compile_wat(wasm_store_t *store, const char *wat) {
  wasm_byte_vec_t wasm;
  check_ok(keel_wat2wasm(wat, strlen(wat), &wasm), "keel_wat2wasm");
  wasm_module_t *module = wasm_module_new(store, &wasm);
  wasm_byte_vec_delete(&wasm);
  CHECK(module != NULL);
  return module;
}

/* Whether the trap's message contains `needle`. */
static inline int trap_says(const wasm_trap_t *trap, const char *needle) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  int found = strstr(message.data, needle) != NULL;
  wasm_byte_vec_delete(&message);
  return found;
}

#endif
