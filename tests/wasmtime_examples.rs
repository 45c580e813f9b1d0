//! Wasmtime's API examples, ported: each test does what one of Wasmtime's
//! examples (`examples/*.rs` in its repository: hello, gcd, memory,
//! multi, threads, fuel, interrupt, epochs, serialize, linking,
//! externref) does, with
//! the same calls in the same shapes (paths only renamed, `wasmtime` to
//! `keel` and `wasmtime_wasi` to `keel_wasi`), written here in our own
//! words and with our own modules, and asserts what the example prints.
//! A change that breaks code written against Wasmtime's API breaks one of
//! these.

use keel::*;
use std::sync::Arc;

/// hello: a host function reaching the store's data through `Caller`,
/// passed to `Instance::new` as an import.
#[test]
fn hello() -> Result<()> {
    struct MyState {
        name: String,
        count: usize,
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "" "hello" (func $hello))
             (func (export "run") call $hello call $hello))"#,
    )?;
    let mut store = Store::new(
        &engine,
        MyState {
            name: "hello, world!".to_string(),
            count: 0,
        },
    );
    let hello_func = Func::wrap(&mut store, |mut caller: Caller<'_, MyState>| {
        assert_eq!(caller.data().name, "hello, world!");
        caller.data_mut().count += 1;
    });
    let imports = [hello_func.into()];
    let instance = Instance::new(&mut store, &module, &imports)?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    run.call(&mut store, ())?;
    assert_eq!(store.data().count, 2);
    Ok(())
}

/// gcd: a default store, `store.engine()`, a typed call with a tuple of
/// parameters.
#[test]
fn gcd() -> Result<()> {
    let mut store = Store::<()>::default();
    let module = Module::new(
        store.engine(),
        r#"(module
             (func (export "gcd") (param $a i32) (param $b i32) (result i32)
               (local $t i32)
               (block $done
                 (loop $next
                   (br_if $done (i32.eqz (local.get $b)))
                   (local.set $t (i32.rem_u (local.get $a) (local.get $b)))
                   (local.set $a (local.get $b))
                   (local.set $b (local.get $t))
                   (br $next)))
               (local.get $a)))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let gcd = instance.get_typed_func::<(i32, i32), i32>(&mut store, "gcd")?;
    assert_eq!(gcd.call(&mut store, (6, 27))?, 3);
    assert_eq!(gcd.call(&mut store, (1071, 462))?, 21);
    Ok(())
}

/// memory: an exported memory read, written and grown from the host and
/// from wasm, traps on out-of-bounds accesses, and a host-made memory.
#[test]
fn memory() -> Result<()> {
    let mut store: Store<()> = Store::default();
    let module = Module::new(
        store.engine(),
        r#"(module
             (memory (export "memory") 2 3)
             (func (export "size") (result i32) memory.size)
             (func (export "load") (param i32) (result i32)
               (i32.load8_s (local.get 0)))
             (func (export "store") (param i32 i32)
               (i32.store8 (local.get 0) (local.get 1)))
             (data (i32.const 0x1000) "\01\02\03\04"))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or(format_err!("failed to find `memory` export"))?;
    let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    let store_fn = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;

    assert_eq!(memory.size(&store), 2);
    assert_eq!(memory.data_size(&store), 0x20000);
    assert_eq!(memory.data(&store)[0], 0);
    assert_eq!(memory.data(&store)[0x1000], 1);
    assert_eq!(memory.data(&store)[0x1003], 4);
    assert_eq!(size.call(&mut store, ())?, 2);
    assert_eq!(load.call(&mut store, 0x1002)?, 3);
    assert!(load.call(&mut store, 0x20000).is_err());

    memory.data_mut(&mut store)[0x1003] = 5;
    store_fn.call(&mut store, (0x1002, 6))?;
    assert!(store_fn.call(&mut store, (0x20000, 0)).is_err());
    assert_eq!(memory.data(&store)[0x1002], 6);
    assert_eq!(memory.data(&store)[0x1003], 5);
    assert_eq!(load.call(&mut store, 0x1003)?, 5);

    memory.grow(&mut store, 1)?;
    assert_eq!(memory.size(&store), 3);
    assert_eq!(memory.data_size(&store), 0x30000);
    assert_eq!(load.call(&mut store, 0x20000)?, 0);
    assert!(load.call(&mut store, 0x30000).is_err());
    assert!(memory.grow(&mut store, 1).is_err());
    assert!(memory.grow(&mut store, 0).is_ok());

    let memorytype = MemoryType::new(5, Some(5));
    let memory2 = Memory::new(&mut store, memorytype)?;
    assert_eq!(memory2.size(&store), 5);
    assert!(memory2.grow(&mut store, 1).is_err());
    assert!(memory2.grow(&mut store, 0).is_ok());
    Ok(())
}

/// multi: multiple values through a host function and a typed call, and
/// ten results at once.
#[test]
fn multi() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
             (import "" "f" (func $f (param i32 i64) (result i64 i32)))
             (func (export "g") (param i32 i64) (result i64 i32)
               (call $f (local.get 0) (local.get 1)))
             (func (export "round_trip_many")
               (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               local.get 0 local.get 1 local.get 2 local.get 3 local.get 4
               local.get 5 local.get 6 local.get 7 local.get 8 local.get 9))"#,
    )?;
    let callback_func = Func::wrap(&mut store, |a: i32, b: i64| -> (i64, i32) {
        (b + 1, a + 1)
    });
    let instance = Instance::new(&mut store, &module, &[callback_func.into()])?;
    let g = instance.get_typed_func::<(i32, i64), (i64, i32)>(&mut store, "g")?;
    assert_eq!(g.call(&mut store, (1, 3))?, (4, 2));

    type Ten = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let round_trip_many = instance.get_typed_func::<Ten, Ten>(&mut store, "round_trip_many")?;
    let results = round_trip_many.call(&mut store, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9))?;
    assert_eq!(results, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    Ok(())
}

/// threads: an `Arc<Linker>`, the engine and the module shared by
/// threads, each with its own store, and a store and typed function moved
/// to yet another thread.
#[test]
fn threads() -> Result<()> {
    const N_THREADS: usize = 4;
    const N_REPS: usize = 3;
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "global" "hello" (func $hello))
             (func (export "run") call $hello))"#,
    )?;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut linker = Linker::new(&engine);
    let counter = calls.clone();
    linker.func_wrap("global", "hello", move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    })?;
    let linker = Arc::new(linker);
    let children = (0..N_THREADS)
        .map(|_| {
            let engine = engine.clone();
            let module = module.clone();
            let linker = linker.clone();
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::new(&engine, ());
                let instance = linker.instantiate(&mut store, &module)?;
                let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
                for _ in 0..N_REPS {
                    run.call(&mut store, ())?;
                }
                // Move the store and the function to a new thread.
                std::thread::spawn(move || run.call(&mut store, ()))
                    .join()
                    .unwrap()
            })
        })
        .collect::<Vec<_>>();
    for child in children {
        child.join().unwrap()?;
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        N_THREADS * (N_REPS + 1)
    );
    Ok(())
}

/// The recursive Fibonacci function the fuel and epochs examples run.
const FIB: &str = r#"(module
  (func $fib (export "fibonacci") (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#;

/// fuel: fuel consumed per call, and `Trap::OutOfFuel` by value through
/// `Error::downcast`.
#[test]
fn fuel() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000)?;
    let module = Module::new(store.engine(), FIB)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let fibonacci = instance.get_typed_func::<i32, i32>(&mut store, "fibonacci")?;
    let mut consumed_each = Vec::new();
    for n in 1.. {
        let fuel_before = store.get_fuel().unwrap();
        let output = match fibonacci.call(&mut store, n) {
            Ok(v) => v,
            Err(e) => {
                assert_eq!(e.downcast::<Trap>()?, Trap::OutOfFuel);
                assert!(n > 10, "ran out of fuel at fib({n})");
                break;
            }
        };
        let fuel_consumed = fuel_before - store.get_fuel().unwrap();
        consumed_each.push(fuel_consumed);
        let expected = (0..n).fold((0, 1), |(a, b), _| (b, a + b)).0;
        assert_eq!(output, expected, "fib({n})");
        store.set_fuel(10_000)?;
    }
    // Each call costs more than the one before.
    assert!(
        consumed_each.windows(2).all(|w| w[0] < w[1]),
        "{consumed_each:?}"
    );
    Ok(())
}

/// interrupt: an endless loop stopped by `Engine::increment_epoch` on
/// another thread, `Trap::Interrupt` by value.
#[test]
fn interrupt() -> Result<()> {
    let engine = Engine::new(Config::new().epoch_interruption(true))?;
    let mut store = Store::new(&engine, 1);
    store.set_epoch_deadline(1);
    let module = Module::new(&engine, r#"(module (func (export "run") (loop br 0)))"#)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let engine_clone = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        engine_clone.increment_epoch();
    });
    let trap = run.call(&mut store, ()).unwrap_err().downcast::<Trap>()?;
    assert_eq!(trap, Trap::Interrupt);
    assert_eq!(trap.to_string(), "wasm trap: interrupt");
    Ok(())
}

/// epochs: an `Arc<Engine>`, `epoch_deadline_trap`, a deadline reached
/// from another thread during a long computation.
#[test]
fn epochs() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Arc::new(Engine::new(&config)?);
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, FIB)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    store.epoch_deadline_trap();
    store.set_epoch_deadline(1);
    let engine_clone = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        engine_clone.increment_epoch();
    });
    let fibonacci = instance.get_typed_func::<i32, i32>(&mut store, "fibonacci")?;
    // fib(100) would take far longer than the universe has.
    let err = fibonacci.call(&mut store, 100).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
    Ok(())
}

/// serialize: `Module::serialize` in one engine, `unsafe
/// Module::deserialize` in another (a default store's), and a call into a
/// host function of the loaded module.
#[test]
fn serialize() -> Result<()> {
    const HELLO: &str = r#"(module
      (import "" "hello" (func $hello))
      (func (export "run") call $hello))"#;
    let serialized = {
        let engine = Engine::default();
        let module = Module::new(&engine, HELLO)?;
        module.serialize()?
    };
    let mut store: Store<()> = Store::default();
    // SAFETY: the bytes are an artifact `Module::serialize` wrote above.
    let module = unsafe { Module::deserialize(store.engine(), &serialized)? };
    let called = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = called.clone();
    let hello_func = Func::wrap(&mut store, move || {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let imports = [hello_func.into()];
    let instance = Instance::new(&mut store, &module, &imports)?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    run.call(&mut store, ())?;
    assert!(called.load(std::sync::atomic::Ordering::SeqCst));
    Ok(())
}

/// linking (WASI): `keel_wasi::p1` under Wasmtime 49's names, a module
/// instantiated and registered with `Linker::instance`, and a second one
/// linked against it that prints through the first one's WASI import.
#[test]
fn linking() -> Result<()> {
    use keel_wasi::WasiCtxBuilder;
    use keel_wasi::p1::WasiP1Ctx;

    let engine = Engine::default();
    let mut linker = Linker::<WasiP1Ctx>::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |s| s)?;

    // The library: prints through WASI, doubles numbers, and says where in
    // its memory a caller may put a string.
    let linking2 = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 2)
             (global (export "memory_offset") i32 (i32.const 65536))
             (func (export "double") (param i32) (result i32)
               (i32.mul (local.get 0) (i32.const 2)))
             (func (export "log") (param $ptr i32) (param $len i32)
               ;; One iovec at 0: the string's address and length.
               (i32.store (i32.const 0) (local.get $ptr))
               (i32.store (i32.const 4) (local.get $len))
               (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    )?;
    // The program: puts its greeting in the library's memory and logs it.
    let linking1 = Module::new(
        &engine,
        r#"(module
             (import "linking2" "double" (func $double (param i32) (result i32)))
             (import "linking2" "log" (func $log (param i32 i32)))
             (import "linking2" "memory" (memory 1))
             (import "linking2" "memory_offset" (global $offset i32))
             (data (global.get $offset) "Hello, world!\n")
             (func (export "run")
               (if (i32.ne (call $double (i32.const 2)) (i32.const 4))
                 (then unreachable))
               (call $log (global.get $offset) (i32.const 14))))"#,
    )?;

    let stdout = keel_wasi::pipe::MemoryOutputPipe::new(1024);
    let wasi = WasiCtxBuilder::new()
        .inherit_stdio()
        .inherit_args()
        .stdout(stdout.clone())
        .build_p1();
    let mut store = Store::new(&engine, wasi);

    let linking2 = linker.instantiate(&mut store, &linking2)?;
    linker.instance(&mut store, "linking2", linking2)?;
    let linking1 = linker.instantiate(&mut store, &linking1)?;
    let run = linking1.get_typed_func::<(), ()>(&mut store, "run")?;
    run.call(&mut store, ())?;
    assert_eq!(stdout.contents(), b"Hello, world!\n");
    Ok(())
}

/// What the examples rely on without saying: the handles they move or
/// share across threads are `Send` (and `Sync`).
/// externref: a host value on the GC heap, through a table, a global and
/// a typed call, compared with `Rooted::ref_eq`; then a collection.
#[test]
fn externref() -> Result<()> {
    let mut config = Config::new();
    config.wasm_reference_types(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let module = Module::from_file(
        &engine,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/wasmtime_examples/externref.wat"
        ),
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;

    let externref = ExternRef::new(&mut store, "Hello, World!")?;
    assert!(
        externref
            .data(&store)?
            .expect("should have host data")
            .is::<&'static str>()
    );
    assert_eq!(
        *externref
            .data(&store)?
            .expect("should have host data")
            .downcast_ref::<&'static str>()
            .unwrap(),
        "Hello, World!"
    );

    let table = instance.get_table(&mut store, "table").unwrap();
    table.set(&mut store, 3, Some(externref).into())?;
    let elem = table
        .get(&mut store, 3)
        .unwrap()
        .unwrap_extern()
        .copied()
        .unwrap();
    assert!(Rooted::ref_eq(&store, &elem, &externref)?);

    let global = instance.get_global(&mut store, "global").unwrap();
    global.set(&mut store, Some(externref).into())?;
    let global_val = global.get(&mut store).unwrap_externref().copied().unwrap();
    assert!(Rooted::ref_eq(&store, &global_val, &externref)?);

    let func = instance.get_typed_func::<Option<Rooted<ExternRef>>, Option<Rooted<ExternRef>>>(
        &mut store, "func",
    )?;
    let ret = func.call(&mut store, Some(externref))?;
    assert!(ret.is_some());
    assert!(Rooted::ref_eq(&store, &ret.unwrap(), &externref)?);

    store.gc();
    // The table and the global still hold the value.
    assert_eq!(store.gc_heap_usage().0, 1);
    Ok(())
}

#[test]
fn shared_handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Engine>();
    send_sync::<Module>();
    send_sync::<Linker<()>>();
    send_sync::<TypedFunc<(), ()>>();
    send::<Store<()>>();
}
