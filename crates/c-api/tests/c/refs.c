/* wasm.h's object model: every object is a reference; wasm_xxx_as_ref and
 * wasm_ref_as_xxx are casts of one object, so deleting through either
 * pointer frees it (run under valgrind: no leak, no double free). */
#include "check.h"

static void finalize(void *info) { ++*(int *)info; }

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store,
      "(module (func (export \"f\") (result i32) i32.const 7)"
      " (global (export \"g\") (mut i32) (i32.const 1))"
      " (table (export \"t\") 2 funcref) (memory (export \"m\") 1))");
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
  CHECK(instance != NULL);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  CHECK(exports.size == 4);

  /* A function as a reference and back: the same object. */
  wasm_func_t *f = wasm_extern_as_func(exports.data[0]);
  wasm_ref_t *fr = wasm_func_as_ref(f);
  CHECK(wasm_ref_as_func(fr) == f);
  CHECK(wasm_ref_as_global(fr) == NULL);
  CHECK(wasm_ref_as_extern(fr) == exports.data[0]);
  CHECK(wasm_ref_as_instance(fr) == NULL && wasm_ref_as_foreign(fr) == NULL);
  /* A copy is another handle to the same function; deleting it through
   * its reference view frees the copy. */
  wasm_func_t *f2 = wasm_func_copy(f);
  CHECK(wasm_func_same(f, f2) && wasm_ref_same(fr, wasm_func_as_ref(f2)));
  wasm_ref_delete(wasm_func_as_ref(f2));

  /* Host info belongs to the object: set through one handle, seen through
   * the others, finalized once with the store. */
  int finalized = 0;
  wasm_ref_set_host_info_with_finalizer(fr, &finalized, finalize);
  CHECK(wasm_func_get_host_info(f) == &finalized);
  CHECK(wasm_extern_get_host_info(exports.data[0]) == &finalized);

  /* Globals, tables, memories and the instance are references too. */
  wasm_global_t *g = wasm_extern_as_global(exports.data[1]);
  CHECK(wasm_ref_as_global(wasm_global_as_ref(g)) == g);
  CHECK(wasm_ref_as_func(wasm_global_as_ref(g)) == NULL);
  wasm_table_t *t = wasm_extern_as_table(exports.data[2]);
  CHECK(wasm_ref_as_table(wasm_table_as_ref(t)) == t);
  /* A global is not a table element. */
  CHECK(!wasm_table_set(t, 0, wasm_global_as_ref(g)));
  CHECK(wasm_table_set(t, 0, fr));
  wasm_ref_t *elem = wasm_table_get(t, 0);
  CHECK(elem != NULL && wasm_ref_same(elem, fr));
  wasm_func_t *ef = wasm_ref_as_func(elem);
  CHECK(ef != NULL && wasm_func_same(ef, f));
  wasm_val_vec_t args = WASM_EMPTY_VEC;
  wasm_val_t out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(out);
  CHECK(wasm_func_call(ef, &args, &results) == NULL && out[0].of.i32 == 7);
  wasm_func_delete(ef); /* frees `elem`: the same object */
  wasm_memory_t *m = wasm_extern_as_memory(exports.data[3]);
  CHECK(wasm_ref_as_memory(wasm_memory_as_ref(m)) == m);
  wasm_ref_t *ir = wasm_instance_as_ref(instance);
  CHECK(wasm_ref_as_instance(ir) == instance && wasm_ref_as_func(ir) == NULL);
  int instance_finalized = 0;
  wasm_instance_set_host_info_with_finalizer(instance, &instance_finalized, finalize);
  CHECK(wasm_ref_get_host_info(ir) == &instance_finalized);
  wasm_instance_t *instance2 = wasm_instance_copy(instance);
  CHECK(wasm_ref_same(ir, wasm_instance_as_ref(instance2)));
  wasm_ref_delete(wasm_instance_as_ref(instance2));

  /* A foreign object: a reference, deleted through it. */
  wasm_foreign_t *foreign = wasm_foreign_new(store);
  wasm_ref_t *hr = wasm_foreign_as_ref(foreign);
  CHECK(wasm_ref_as_foreign(hr) == foreign && wasm_ref_as_func(hr) == NULL);
  int foreign_finalized = 0;
  wasm_foreign_set_host_info_with_finalizer(foreign, &foreign_finalized, finalize);
  CHECK(wasm_ref_get_host_info(hr) == &foreign_finalized);
  wasm_ref_t *hr2 = wasm_ref_copy(hr);
  CHECK(wasm_ref_same(hr, hr2) && wasm_ref_as_foreign(hr2) != NULL);
  wasm_ref_delete(hr2);
  wasm_ref_delete(hr);

  /* Modules and traps are references too, shared by their copies, with
   * host info finalized when the last handle goes. */
  int module_finalized = 0;
  wasm_module_t *module2 = wasm_module_copy(module);
  CHECK(wasm_module_same(module, module2));
  wasm_ref_t *mr = wasm_module_as_ref(module2);
  CHECK(wasm_ref_as_module(mr) == module2 && wasm_ref_as_trap(mr) == NULL);
  CHECK(wasm_ref_as_module(fr) == NULL);
  wasm_module_set_host_info_with_finalizer(module2, &module_finalized, finalize);
  CHECK(wasm_module_get_host_info(module) == &module_finalized);
  CHECK(wasm_ref_get_host_info(mr) == &module_finalized);
  wasm_ref_delete(mr); /* frees module2; `module` still holds it */
  CHECK(module_finalized == 0);

  wasm_message_t text;
  wasm_name_new_from_string_nt(&text, "a trap");
  wasm_trap_t *trap = wasm_trap_new(store, &text);
  wasm_byte_vec_delete(&text);
  int trap_finalized = 0;
  wasm_trap_set_host_info_with_finalizer(trap, &trap_finalized, finalize);
  wasm_trap_t *trap2 = wasm_trap_copy(trap);
  CHECK(wasm_trap_same(trap, trap2) && wasm_trap_get_host_info(trap2) == &trap_finalized);
  wasm_ref_t *tr = wasm_trap_as_ref(trap2);
  CHECK(wasm_ref_as_trap(tr) == trap2 && wasm_ref_as_module(tr) == NULL);
  CHECK(wasm_ref_same(tr, wasm_trap_as_ref(trap)) && !wasm_ref_same(tr, fr));
  wasm_trap_delete(trap);
  CHECK(trap_finalized == 0);
  wasm_ref_delete(tr);
  CHECK(trap_finalized == 1);

  /* Null converts to null. */
  CHECK(wasm_ref_as_func(NULL) == NULL && wasm_ref_as_foreign(NULL) == NULL);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  CHECK(module_finalized == 1);
  CHECK(finalized == 0 && instance_finalized == 0);
  wasm_store_delete(store);
  CHECK(finalized == 1 && instance_finalized == 1);
  /* The foreign object is collected with its store at the latest. */
  CHECK(foreign_finalized == 1);
  wasm_engine_delete(engine);
  puts("refs: ok");
  return 0;
}
