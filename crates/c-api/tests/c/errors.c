/* Every error path of keel.h returns an error with a message (and no
 * result), never aborts: bad modules, bad text, bad settings, missing and
 * mistyped imports, duplicate definitions, limits, foreign stores. */
#include "check.h"

/* Check that `error` is an error whose message contains `needle`. */
static void expect(keel_error_t *error, const char *needle, int line) {
  if (!error) {
    fprintf(stderr, "line %d: expected an error\n", line);
    exit(1);
  }
  wasm_name_t message;
  keel_error_message(error, &message);
  if (!strstr(message.data, needle)) {
    fprintf(stderr, "line %d: error \"%s\" does not say \"%s\"\n", line, message.data, needle);
    exit(1);
  }
  wasm_byte_vec_delete(&message);
  keel_error_delete(error);
}
#define EXPECT(call, needle) expect((call), (needle), __LINE__)

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_module_t *module = NULL;

  /* Malformed and invalid modules. */
  static const uint8_t garbage[] = {0, 'a', 's', 'm', 9, 9, 9, 9};
  EXPECT(keel_module_new(engine, garbage, sizeof garbage, &module), "keel_module_new");
  EXPECT(keel_module_new(engine, garbage, 0, &module), "keel_module_new");
  static const char invalid[] = "(module (func (result i32) i64.const 1))";
  EXPECT(keel_module_new(engine, (const uint8_t *)invalid, strlen(invalid), &module), "type mismatch");
  wasm_byte_vec_t wasm;
  check_ok(keel_wat2wasm(invalid, strlen(invalid), &wasm), "wat2wasm");
  EXPECT(keel_module_validate(engine, (const uint8_t *)wasm.data, wasm.size), "type mismatch");
  wasm_byte_vec_delete(&wasm);
  CHECK(module == NULL);

  /* Bad text. */
  EXPECT(keel_wat2wasm("(module (func", 13, &wasm), "expected");
  EXPECT(keel_wat2wasm("\xff\xfe", 2, &wasm), "UTF-8");

  /* Bad settings. */
  wasm_config_t *config = wasm_config_new();
  EXPECT(keel_config_target_set(config, "no-such-target"), "keel_config_target_set");
  wasm_config_delete(config);
  config = wasm_config_new();
  keel_config_wasm_gc_set(config, true); /* GC needs function references */
  keel_config_wasm_function_references_set(config, false);
  wasm_engine_t *bad = NULL;
  EXPECT(keel_engine_new_with_config(config, &bad), "wasm_gc");
  CHECK(bad == NULL);

  /* A feature turned off rejects modules that use it. */
  config = wasm_config_new();
  keel_config_wasm_simd_set(config, false);
  keel_config_wasm_relaxed_simd_set(config, false);
  wasm_engine_t *no_simd;
  check_ok(keel_engine_new_with_config(config, &no_simd), "engine");
  static const char simd[] = "(module (func (result v128) v128.const i64x2 0 0))";
  EXPECT(keel_module_new(no_simd, (const uint8_t *)simd, strlen(simd), &module), "SIMD");
  wasm_engine_delete(no_simd);

  /* Linking: a missing import is named; a mistyped one says so. */
  wasm_store_t *store = wasm_store_new(engine);
  keel_linker_t *linker = keel_linker_new(engine);
  static const char importer[] =
      "(module (import \"env\" \"f\" (func (param i32))) (import \"env\" \"g\" (global i32)))";
  check_ok(keel_module_new(engine, (const uint8_t *)importer, strlen(importer), &module), "module");
  wasm_instance_t *instance = NULL;
  wasm_trap_t *trap = NULL;
  EXPECT(keel_linker_instantiate(linker, store, module, &instance, &trap), "env");
  CHECK(instance == NULL && trap == NULL);
  wasm_functype_t *ty = wasm_functype_new_0_0();
  wasm_func_t *f = wasm_func_new(store, ty, NULL);
  wasm_functype_delete(ty);
  check_ok(keel_linker_define(linker, store, "env", 3, "f", 1, wasm_func_as_extern(f)), "define");
  EXPECT(keel_linker_define(linker, store, "env", 3, "f", 1, wasm_func_as_extern(f)), "env::f");
  wasm_globaltype_t *gt = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_CONST);
  wasm_val_t zero = WASM_I32_VAL(0);
  wasm_global_t *g = wasm_global_new(store, gt, &zero);
  wasm_globaltype_delete(gt);
  check_ok(keel_linker_define(linker, store, "env", 3, "g", 1, wasm_global_as_extern(g)), "define");
  EXPECT(keel_linker_instantiate(linker, store, module, &instance, &trap), "incompatible import type");
  CHECK(instance == NULL && trap == NULL);
  /* Shadowing on: the right function replaces the wrong one. */
  keel_linker_allow_shadowing(linker, true);
  wasm_valtype_t *i32 = wasm_valtype_new_i32();
  ty = wasm_functype_new_1_0(i32);
  wasm_func_t *f2 = wasm_func_new(store, ty, NULL);
  wasm_functype_delete(ty);
  check_ok(keel_linker_define(linker, store, "env", 3, "f", 1, wasm_func_as_extern(f2)), "shadow");
  check_ok(keel_linker_instantiate(linker, store, module, &instance, &trap), "instantiate");
  CHECK(instance != NULL);
  wasm_instance_delete(instance);

  /* An item of another store. */
  wasm_store_t *other = wasm_store_new(engine);
  EXPECT(keel_linker_define(linker, other, "env", 3, "h", 1, wasm_func_as_extern(f)), "another store");
  wasm_store_delete(other);

  /* A start function's trap is a trap, not an error. */
  static const char starter[] = "(module (func $s unreachable) (start $s))";
  wasm_module_t *start;
  check_ok(keel_module_new(engine, (const uint8_t *)starter, strlen(starter), &start), "module");
  check_ok(keel_linker_instantiate(linker, store, start, &instance, &trap), "instantiate start");
  CHECK(instance == NULL && trap != NULL);
  keel_trap_code_t code = 0;
  CHECK(keel_trap_code(trap, &code) && code == KEEL_TRAP_CODE_UNREACHABLE_CODE_REACHED);
  wasm_trap_delete(trap);
  wasm_module_delete(start);

  /* Store limits: past the instance count, an error saying so. */
  keel_store_limiter(store, -1, -1, 2, -1, -1);
  static const char empty[] = "(module)";
  wasm_module_t *tiny;
  check_ok(keel_module_new(engine, (const uint8_t *)empty, strlen(empty), &tiny), "module");
  wasm_instance_t *last = NULL;
  keel_error_t *error = NULL;
  for (int i = 0; i < 4 && !error; ++i) {
    if (last) wasm_instance_delete(last);
    last = NULL;
    trap = NULL;
    error = keel_linker_instantiate(linker, store, tiny, &last, &trap);
  }
  EXPECT(error, "instance");
  wasm_module_delete(tiny);
  /* Memory size limit: a memory larger than allowed cannot be made. */
  keel_store_limiter(store, 65536, -1, -1, -1, -1);
  static const char big[] = "(module (memory 2))";
  wasm_module_t *bigm;
  check_ok(keel_module_new(engine, (const uint8_t *)big, strlen(big), &bigm), "module");
  EXPECT(keel_linker_instantiate(linker, store, bigm, &instance, &trap), "memory");
  wasm_module_delete(bigm);

  /* WASI configuration: strings that are not UTF-8. */
  keel_wasi_config_t *wasi = keel_wasi_config_new();
  const char *argv[] = {"ok", "\xff"};
  EXPECT(keel_wasi_config_set_argv(wasi, 2, argv), "argument 1");
  const char *names[] = {"\xfe"}, *values[] = {"v"};
  EXPECT(keel_wasi_config_set_env(wasi, 1, names, values), "name 0");
  keel_wasi_config_delete(wasi);

  /* A platform table without its required callbacks is refused; a fault
   * outside wasm is not keel's. */
  keel_platform_t incomplete = {0};
  incomplete.page_size = 4096;
  EXPECT(keel_platform_register(&incomplete), "`reserve` is null");
  CHECK(!keel_trap_entry(0x1234, 0, 0));

  wasm_global_delete(g);
  wasm_func_delete(f2);
  wasm_func_delete(f);
  wasm_module_delete(module);
  keel_linker_delete(linker);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  puts("errors: ok");
  return 0;
}
