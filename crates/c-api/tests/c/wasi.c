/* A WASI program through keel.h's linker: arguments and environment from
 * the configuration, a file written in a preopened directory, a path out
 * of it refused, and its proc_exit status. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

static const char *WAT =
    "(module"
    " (import \"wasi_snapshot_preview1\" \"args_sizes_get\" (func $args (param i32 i32) (result i32)))"
    " (import \"wasi_snapshot_preview1\" \"environ_sizes_get\" (func $envs (param i32 i32) (result i32)))"
    " (import \"wasi_snapshot_preview1\" \"path_open\""
    "   (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"
    " (import \"wasi_snapshot_preview1\" \"fd_write\" (func $write (param i32 i32 i32 i32) (result i32)))"
    " (import \"wasi_snapshot_preview1\" \"fd_close\" (func $close (param i32) (result i32)))"
    " (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))"
    " (memory (export \"memory\") 1)"
    " (data (i32.const 64) \"argc=? envc=? ?\\n\")"
    " (data (i32.const 128) \"out.txt\")"
    " (data (i32.const 144) \"../escape.txt\")"
    " (func (export \"_start\")"
    "  (drop (call $args (i32.const 0) (i32.const 4)))"
    "  (drop (call $envs (i32.const 8) (i32.const 12)))"
    "  (i32.store8 (i32.const 69) (i32.add (i32.const 48) (i32.load (i32.const 0))))"
    "  (i32.store8 (i32.const 76) (i32.add (i32.const 48) (i32.load (i32.const 8))))"
    /* 'E' if opening a path out of the directory fails, 'X' if not. */
    "  (i32.store8 (i32.const 78) (select (i32.const 69) (i32.const 88)"
    "    (call $open (i32.const 3) (i32.const 0) (i32.const 144) (i32.const 13) (i32.const 9)"
    "      (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 16))))"
    "  (if (call $open (i32.const 3) (i32.const 0) (i32.const 128) (i32.const 7) (i32.const 9)"
    "      (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 16))"
    "    (then (call $exit (i32.const 1))))"
    "  (i32.store (i32.const 32) (i32.const 64))"
    "  (i32.store (i32.const 36) (i32.const 16))"
    "  (drop (call $write (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 20)))"
    "  (drop (call $close (i32.load (i32.const 16))))"
    "  (call $exit (i32.const 7))))";

int main(void) {
  char dir[] = "/tmp/keel-wasi-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);

  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  keel_wasi_config_t *wasi = keel_wasi_config_new();
  const char *argv[] = {"prog", "a", "b"};
  check_ok(keel_wasi_config_set_argv(wasi, 3, argv), "set_argv");
  const char *names[] = {"KEY"}, *values[] = {"value"};
  check_ok(keel_wasi_config_set_env(wasi, 1, names, values), "set_env");
  check_ok(keel_wasi_config_preopen_dir(wasi, dir, "/sandbox"), "preopen_dir");
  /* A directory that does not exist: an error, the configuration intact. */
  keel_error_t *error = keel_wasi_config_preopen_dir(wasi, "/nonexistent/keel", "/x");
  CHECK(error != NULL);
  keel_error_delete(error);
  keel_store_set_wasi(store, wasi);

  keel_linker_t *linker = keel_linker_new(engine);
  check_ok(keel_linker_define_wasi(linker), "define_wasi");
  /* Defining WASI twice without shadowing is an error. */
  error = keel_linker_define_wasi(linker);
  CHECK(error != NULL);
  keel_error_delete(error);

  wasm_module_t *module;
  check_ok(keel_module_new(engine, (const uint8_t *)WAT, strlen(WAT), &module), "module_new");
  wasm_instance_t *instance = NULL;
  wasm_trap_t *trap = NULL;
  check_ok(keel_linker_instantiate(linker, store, module, &instance, &trap), "instantiate");
  CHECK(instance != NULL);

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  CHECK(exports.size == 2);
  wasm_func_t *start = wasm_extern_as_func(exports.data[1]);
  CHECK(start != NULL);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  trap = wasm_func_call(start, &none, &none);
  CHECK(trap != NULL);
  int status = -1;
  keel_trap_code_t code;
  CHECK(keel_trap_exit_status(trap, &status) && status == 7);
  CHECK(!keel_trap_code(trap, &code));
  wasm_trap_delete(trap);

  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  char text[64] = {0};
  CHECK(fread(text, 1, sizeof text - 1, f) == 16);
  fclose(f);
  CHECK(strcmp(text, "argc=3 envc=1 E\n") == 0);
  snprintf(path, sizeof path, "%s/../escape.txt", dir);
  CHECK(access(path, F_OK) != 0);

  /* The linker's definitions can be looked up by name. */
  wasm_extern_t *item = NULL;
  CHECK(keel_linker_get(linker, store, "wasi_snapshot_preview1", 22, "fd_write", 8, &item));
  CHECK(wasm_extern_kind(item) == WASM_EXTERN_FUNC);
  wasm_extern_delete(item);
  CHECK(!keel_linker_get(linker, store, "wasi_snapshot_preview1", 22, "nope", 4, &item));

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  keel_linker_delete(linker);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  unlink(strcat(strcpy(path, dir), "/out.txt"));
  rmdir(dir);
  puts("wasi: ok");
  return 0;
}
