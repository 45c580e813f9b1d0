/* Trap origins and traces (wasm_trap_origin, wasm_trap_trace,
 * wasm_frame_*): innermost first, offsets into the module binary and the
 * function body, the frame's instance when the store holds one of its
 * module, and traps from host functions and start functions. */
#include "check.h"

static wasm_trap_t *fail(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)args; (void)results;
  wasm_message_t message;
  wasm_name_new_from_string_nt(&message, "host says no");
  wasm_trap_t *trap = wasm_trap_new((wasm_store_t *)env, &message);
  wasm_byte_vec_delete(&message);
  return trap;
}

static const char *WAT =
    "(module"
    " (import \"\" \"fail\" (func $fail))"
    " (memory 1)"
    " (func $inner (param i32) (result i32) local.get 0 i32.load)"
    " (func (export \"div\") (param i32) (result i32) local.get 0 call $inner)"
    " (func (export \"host\") nop call $fail))";

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_byte_vec_t wasm;
  check_ok(keel_wat2wasm(WAT, strlen(WAT), &wasm), "keel_wat2wasm");
  wasm_module_t *module = wasm_module_new(store, &wasm);
  CHECK(module != NULL);
  wasm_functype_t *unit = wasm_functype_new_0_0();
  wasm_func_t *host = wasm_func_new_with_env(store, unit, fail, store, NULL);
  wasm_functype_delete(unit);
  wasm_extern_t *externs[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
  CHECK(instance != NULL);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  /* A wasm trap two frames deep (an out-of-bounds load: a signal, as
   * most traps are). */
  wasm_val_t arg[1] = {WASM_I32_VAL(-1)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(arg);
  wasm_val_t out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(out);
  wasm_trap_t *trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &args, &results);
  CHECK(trap != NULL && trap_says(trap, "out of bounds"));
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  CHECK(trace.size == 2);
  /* $inner is function 1: its body is a locals count and 2 bytes before
   * i32.load (0x28); the export's call is at offset 3. */
  CHECK(wasm_frame_func_index(trace.data[0]) == 1 && wasm_frame_func_offset(trace.data[0]) == 3);
  CHECK(wasm.data[wasm_frame_module_offset(trace.data[0])] == 0x28);
  CHECK(wasm_frame_func_index(trace.data[1]) == 2 && wasm_frame_func_offset(trace.data[1]) == 3);
  CHECK(wasm.data[wasm_frame_module_offset(trace.data[1])] == 0x10);
  CHECK(wasm_instance_same(wasm_frame_instance(trace.data[0]), instance));
  wasm_frame_t *origin = wasm_trap_origin(trap);
  CHECK(origin && wasm_frame_module_offset(origin) == wasm_frame_module_offset(trace.data[0]));
  wasm_frame_t *copy = wasm_frame_copy(origin);
  CHECK(wasm_frame_func_offset(copy) == 3);
  wasm_frame_delete(copy);
  wasm_frame_delete(origin);
  wasm_frame_vec_t trace2;
  wasm_frame_vec_copy(&trace2, &trace);
  CHECK(trace2.size == 2);
  wasm_frame_vec_delete(&trace2);
  wasm_frame_vec_delete(&trace);
  wasm_trap_delete(trap);

  /* A host function's trap keeps its message and gains the wasm frames it
   * unwound through. */
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  trap = wasm_func_call(wasm_extern_as_func(exports.data[1]), &none, &none);
  CHECK(trap != NULL && trap_says(trap, "host says no"));
  origin = wasm_trap_origin(trap);
  CHECK(origin && wasm_frame_func_index(origin) == 3 && wasm.data[wasm_frame_module_offset(origin)] == 0x10);
  wasm_frame_delete(origin);
  wasm_trap_delete(trap);

  /* A trap made by the host and never thrown has no frames. */
  wasm_message_t message;
  wasm_name_new_from_string_nt(&message, "made");
  trap = wasm_trap_new(store, &message);
  wasm_byte_vec_delete(&message);
  CHECK(wasm_trap_origin(trap) == NULL);
  wasm_trap_trace(trap, &trace);
  CHECK(trace.size == 0);
  wasm_frame_vec_delete(&trace);
  wasm_trap_delete(trap);

  /* With two instances of the module in the store, a frame's instance is
   * not known: null, never a wrong one. */
  wasm_instance_t *second = wasm_instance_new(store, module, &imports, NULL);
  CHECK(second != NULL);
  trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &args, &results);
  origin = wasm_trap_origin(trap);
  CHECK(origin && wasm_frame_instance(origin) == NULL);
  wasm_frame_delete(origin);
  wasm_trap_delete(trap);

  /* A start function's trap, from wasm_instance_new. */
  wasm_module_t *start = compile_wat(store, "(module (func $s unreachable) (start $s))");
  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  trap = NULL;
  CHECK(wasm_instance_new(store, start, &no_imports, &trap) == NULL);
  CHECK(trap != NULL && trap_says(trap, "unreachable"));
  origin = wasm_trap_origin(trap);
  CHECK(origin && wasm_frame_func_index(origin) == 0 && wasm_frame_func_offset(origin) == 1);
  CHECK(wasm_frame_instance(origin) != NULL);
  wasm_frame_delete(origin);
  wasm_trap_delete(trap);
  wasm_module_delete(start);

  wasm_instance_delete(second);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_byte_vec_delete(&wasm);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  puts("frames: ok");
  return 0;
}
