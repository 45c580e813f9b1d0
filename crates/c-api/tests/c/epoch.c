/* Epoch interruption: a guest looping forever is interrupted when another
 * thread advances the engine's epoch past the store's deadline. */
#include <pthread.h>
#include <time.h>

#include "check.h"

static void *ticker(void *engine) {
  struct timespec pause = {0, 20 * 1000 * 1000};
  nanosleep(&pause, NULL);
  keel_engine_increment_epoch(engine);
  return NULL;
}

int main(void) {
  wasm_config_t *config = wasm_config_new();
  keel_config_epoch_interruption_set(config, true);
  wasm_engine_t *engine;
  check_ok(keel_engine_new_with_config(config, &engine), "engine");
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store,
      "(module (func (export \"spin\") (loop br 0)) (func (export \"one\") (result i32) i32.const 1))");
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
  CHECK(instance != NULL);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  /* Three rounds: each time one tick from another thread ends the loop. */
  for (int round = 0; round < 3; ++round) {
    keel_store_set_epoch_deadline(store, 1);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, ticker, engine) == 0);
    wasm_val_vec_t none = WASM_EMPTY_VEC;
    wasm_trap_t *trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &none, &none);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(trap != NULL);
    keel_trap_code_t code = 0;
    CHECK(keel_trap_code(trap, &code) && code == KEEL_TRAP_CODE_INTERRUPT);
    wasm_trap_delete(trap);
  }

  /* With the deadline ahead, a call runs. */
  keel_store_set_epoch_deadline(store, 1000);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_val_t out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(out);
  CHECK(wasm_func_call(wasm_extern_as_func(exports.data[1]), &none, &results) == NULL);
  CHECK(out[0].of.i32 == 1);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  puts("epoch: ok");
  return 0;
}
