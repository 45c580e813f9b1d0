//! Lazy compilation (`Config::lazy_compilation`): functions compile on
//! their first call, from wasm or the host, directly, through tables and
//! references, and behave as eagerly compiled ones.

use keel::{Config, Engine, Instance, Module, Store, Val};

fn lazy_engine() -> Engine {
    let mut config = Config::new();
    config.lazy_compilation(true);
    Engine::new(&config).unwrap()
}

const FIB: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end))"#;

#[test]
fn direct_and_recursive_calls() {
    let engine = lazy_engine();
    let module = Module::new(&engine, FIB).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let fib = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    assert_eq!(fib.call(&mut store, 10).unwrap(), 55);
}

#[test]
fn calls_with_many_arguments_of_every_type() {
    // More arguments than registers, floats, vectors and multiple results:
    // the trampoline must hand all of them on untouched.
    let wat = r#"(module
      (func $f (param i32 i64 f32 f64 v128 i32 i64 f32 f64 v128 i32 i64 f32 f64 i32 i32 f64 f64 f64 f64)
               (result i64 f64 i32)
        local.get 1 local.get 6 i64.add local.get 11 i64.add
        local.get 0 i64.extend_i32_u i64.add
        local.get 5 i64.extend_i32_u i64.add local.get 10 i64.extend_i32_u i64.add
        local.get 14 i64.extend_i32_u i64.add local.get 15 i64.extend_i32_u i64.add
        local.get 3 local.get 8 f64.add local.get 13 f64.add
        local.get 2 f64.promote_f32 f64.add local.get 7 f64.promote_f32 f64.add
        local.get 12 f64.promote_f32 f64.add
        local.get 16 f64.add local.get 17 f64.add local.get 18 f64.add local.get 19 f64.add
        local.get 4 i32x4.extract_lane 3 local.get 9 i32x4.extract_lane 0 i32.add)
      (func (export "run") (result i64 f64 i32)
        i32.const 1 i64.const 2 f32.const 3 f64.const 4 v128.const i32x4 5 0 0 6
        i32.const 7 i64.const 8 f32.const 9 f64.const 10 v128.const i32x4 11 0 0 0
        i32.const 12 i64.const 13 f32.const 14 f64.const 15 i32.const 16 i32.const 17
        f64.const 18 f64.const 19 f64.const 20 f64.const 21
        call $f))"#;
    let engine = lazy_engine();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let mut results = [Val::I32(0), Val::I32(0), Val::I32(0)];
    run.call(&mut store, &[], &mut results).unwrap();
    assert_eq!(results[0].unwrap_i64(), 2 + 8 + 13 + 1 + 7 + 12 + 16 + 17);
    assert_eq!(
        results[1].unwrap_f64(),
        4.0 + 10.0 + 15.0 + 3.0 + 9.0 + 14.0 + 18.0 + 19.0 + 20.0 + 21.0
    );
    assert_eq!(results[2].unwrap_i32(), 6 + 11);
}
