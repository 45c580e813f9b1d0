/* Fuel: a guest that loops forever is stopped when its store's fuel runs
 * out, with the out-of-fuel trap code; refuelled, the store runs again. */
#include "check.h"

int main(void) {
  wasm_config_t *config = wasm_config_new();
  keel_config_consume_fuel_set(config, true);
  wasm_engine_t *engine;
  check_ok(keel_engine_new_with_config(config, &engine), "engine");
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store,
      "(module (func (export \"spin\") (loop br 0))"
      " (func (export \"add\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))");
  uint64_t fuel = 1;
  check_ok(keel_store_get_fuel(store, &fuel), "get_fuel");
  CHECK(fuel == 0); /* a store starts with none */
  check_ok(keel_store_set_fuel(store, 10000), "set_fuel");
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
  CHECK(instance != NULL);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t *trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &none, &none);
  CHECK(trap != NULL);
  keel_trap_code_t code = 0;
  CHECK(keel_trap_code(trap, &code) && code == KEEL_TRAP_CODE_OUT_OF_FUEL);
  CHECK(trap_says(trap, "fuel"));
  wasm_trap_delete(trap);
  check_ok(keel_store_get_fuel(store, &fuel), "get_fuel");
  CHECK(fuel == 0);

  /* Without fuel even a short call traps; with some it runs and uses it. */
  wasm_val_t args[2] = {WASM_I32_VAL(2), WASM_I32_VAL(3)};
  wasm_val_vec_t argv = WASM_ARRAY_VEC(args);
  wasm_val_t out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(out);
  trap = wasm_func_call(wasm_extern_as_func(exports.data[1]), &argv, &results);
  CHECK(trap != NULL && keel_trap_code(trap, &code) && code == KEEL_TRAP_CODE_OUT_OF_FUEL);
  wasm_trap_delete(trap);
  check_ok(keel_store_set_fuel(store, 100), "set_fuel");
  CHECK(wasm_func_call(wasm_extern_as_func(exports.data[1]), &argv, &results) == NULL);
  CHECK(out[0].of.i32 == 5);
  check_ok(keel_store_get_fuel(store, &fuel), "get_fuel");
  CHECK(fuel < 100 && fuel > 90);

  /* An engine that does not count fuel says so. */
  wasm_engine_t *plain = wasm_engine_new();
  wasm_store_t *plain_store = wasm_store_new(plain);
  keel_error_t *error = keel_store_set_fuel(plain_store, 1);
  CHECK(error != NULL);
  keel_error_delete(error);
  error = keel_store_get_fuel(plain_store, &fuel);
  CHECK(error != NULL);
  keel_error_delete(error);
  wasm_store_delete(plain_store);
  wasm_engine_delete(plain);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  puts("fuel: ok");
  return 0;
}
