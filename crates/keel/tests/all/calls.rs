//! Calls between the host and wasm.

use keel::{Caller, Engine, Func, Linker, Module, Store, Val};

#[test]
fn typed_and_untyped_calls() -> keel::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (func $fib (export "fib") (param i32) (result i32)
              local.get 0 i32.const 2 i32.lt_s
              if (result i32) local.get 0
              else
                local.get 0 i32.const 1 i32.sub call $fib
                local.get 0 i32.const 2 i32.sub call $fib
                i32.add
              end)
            (func (export "swap") (param i64 f64) (result f64 i64)
              local.get 1 local.get 0))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    assert_eq!(fib.call(&mut store, 20)?, 6765);
    let swap = instance.get_func(&mut store, "swap").unwrap();
    let mut results = [Val::I32(0), Val::I32(0)];
    swap.call(&mut store, &[Val::I64(-3), Val::from(2.5f64)], &mut results)?;
    assert_eq!(results[0].unwrap_f64(), 2.5);
    assert_eq!(results[1].unwrap_i64(), -3);
    let typed = swap.typed::<(i64, f64), (f64, i64)>(&store)?;
    assert_eq!(typed.call(&mut store, (7, 1.5))?, (1.5, 7));
    assert!(swap.typed::<i32, i32>(&store).is_err());
    assert!(swap.call(&mut store, &[Val::I32(1)], &mut results).is_err());
    Ok(())
}

#[test]
fn host_functions_and_memory() -> keel::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "add" (func $add (param i32 i32) (result i32)))
            (import "host" "log" (func $log (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello")
            (func (export "run") (param i32) (result i32)
              i32.const 16 i32.const 5 call $log
              local.get 0 i32.const 10 call $add))"#,
    )?;
    let mut store = Store::new(&engine, Vec::<String>::new());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "add", |a: i32, b: i32| a + b)?;
    linker.func_wrap(
        "host",
        "log",
        |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| {
            let memory = caller.get_export("memory").unwrap().into_memory().unwrap();
            let mut buf = vec![0; len as usize];
            memory.read(&caller, ptr as usize, &mut buf).unwrap();
            caller.data_mut().push(String::from_utf8(buf).unwrap());
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 5)?, 15);
    assert_eq!(store.data(), &["hello".to_string()]);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.size(&store), 1);
    assert_eq!(&memory.data(&store)[16..21], b"hello");
    assert_eq!(memory.grow(&mut store, 2)?, 1);
    assert_eq!(memory.size(&store), 3);
    let direct = Func::wrap(&mut store, |x: i64| x * 3);
    let mut r = [Val::I64(0)];
    direct.call(&mut store, &[Val::I64(14)], &mut r)?;
    assert_eq!(r[0].unwrap_i64(), 42);
    Ok(())
}

#[test]
fn multi_value_host_functions_and_blocks() -> keel::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
            (func (export "run") (param i32 i32) (result i32 i32 i32)
              local.get 0 local.get 1
              (block (param i32 i32) (result i32 i32)
                call $divmod)
              local.get 0))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "h",
        "divmod",
        |a: i32, b: i32| -> keel::Result<(i32, i32)> {
            if b == 0 {
                anyhow::bail!("division by zero in the host");
            }
            Ok((a / b, a % b))
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(i32, i32), (i32, i32, i32)>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, (17, 5))?, (3, 2, 17));
    let err = run.call(&mut store, (1, 0)).unwrap_err();
    assert_eq!(err.root_cause().to_string(), "division by zero in the host");
    Ok(())
}
