/* Artifacts: a module serialized, deserialized by another engine of the
 * same settings and run; corrupted, truncated or foreign bytes give an
 * error, never a crash; an engine with other settings refuses it. */
#include "check.h"

static int32_t call_answer(wasm_store_t *store, wasm_module_t *module) {
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
  CHECK(instance != NULL);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_val_t out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(out);
  CHECK(wasm_func_call(wasm_extern_as_func(exports.data[0]), &none, &results) == NULL);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  return out[0].of.i32;
}

static void expect_error(keel_error_t *error, const char *what) {
  if (!error) {
    fprintf(stderr, "%s: expected an error\n", what);
    exit(1);
  }
  wasm_name_t message;
  keel_error_message(error, &message);
  CHECK(message.size > 1 && message.data[message.size - 1] == '\0');
  wasm_byte_vec_delete(&message);
  keel_error_delete(error);
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  static const char WAT[] =
      "(module (func (export \"answer\") (result i32) (i32.mul (i32.const 6) (i32.const 7))))";
  wasm_module_t *module;
  check_ok(keel_module_new(engine, (const uint8_t *)WAT, strlen(WAT), &module), "module_new");
  wasm_byte_vec_t artifact;
  check_ok(keel_module_serialize(module, &artifact), "serialize");
  wasm_module_delete(module);

  /* Another engine with the same settings loads and runs it. */
  wasm_engine_t *engine2 = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine2);
  wasm_module_t *loaded;
  check_ok(keel_module_deserialize(engine2, (const uint8_t *)artifact.data, artifact.size, &loaded),
           "deserialize");
  CHECK(call_answer(store, loaded) == 42);
  wasm_module_delete(loaded);

  /* Every truncation, and bytes flipped across the file, are errors or
   * load a module that still runs correctly (a flipped byte may be
   * padding); never a crash. */
  for (size_t len = 0; len < artifact.size; len += 1 + len / 8) {
    expect_error(keel_module_deserialize(engine2, (const uint8_t *)artifact.data, len, &loaded),
                 "truncated artifact");
  }
  wasm_byte_vec_t copy;
  wasm_byte_vec_copy(&copy, &artifact);
  for (size_t i = 0; i < copy.size; i += 1 + copy.size / 64) {
    copy.data[i] ^= 0x55;
    keel_error_t *error =
        keel_module_deserialize(engine2, (const uint8_t *)copy.data, copy.size, &loaded);
    if (error) {
      keel_error_delete(error);
    } else {
      wasm_module_delete(loaded); /* the byte was not checked content */
    }
    copy.data[i] ^= 0x55;
  }
  wasm_byte_vec_delete(&copy);

  /* A wasm binary is not an artifact. */
  wasm_byte_vec_t wasm;
  check_ok(keel_wat2wasm(WAT, strlen(WAT), &wasm), "wat2wasm");
  expect_error(keel_module_deserialize(engine2, (const uint8_t *)wasm.data, wasm.size, &loaded),
               "wasm as artifact");

  /* An engine with other code-shaping settings refuses the artifact. */
  wasm_config_t *config = wasm_config_new();
  keel_config_consume_fuel_set(config, true);
  wasm_engine_t *fuel_engine;
  check_ok(keel_engine_new_with_config(config, &fuel_engine), "engine");
  expect_error(keel_module_deserialize(fuel_engine, (const uint8_t *)artifact.data, artifact.size,
                                       &loaded),
               "other settings");
  wasm_engine_delete(fuel_engine);

  /* Precompiled for riscv64: an artifact, which this x86_64 host refuses
   * to load. */
  config = wasm_config_new();
  check_ok(keel_config_target_set(config, "riscv64gc-unknown-linux-gnu"), "target");
  wasm_engine_t *cross;
  check_ok(keel_engine_new_with_config(config, &cross), "cross engine");
  wasm_byte_vec_t riscv;
  check_ok(keel_engine_precompile_module(cross, (const uint8_t *)wasm.data, wasm.size, &riscv),
           "precompile");
  CHECK(riscv.size > 4 && memcmp(riscv.data, "\177ELF", 4) == 0);
  expect_error(keel_module_deserialize(engine2, (const uint8_t *)riscv.data, riscv.size, &loaded),
               "foreign target");
  wasm_byte_vec_delete(&riscv);
  wasm_engine_delete(cross);

  wasm_byte_vec_delete(&wasm);
  wasm_byte_vec_delete(&artifact);
  wasm_store_delete(store);
  wasm_engine_delete(engine2);
  wasm_engine_delete(engine);
  puts("artifact: ok");
  return 0;
}
