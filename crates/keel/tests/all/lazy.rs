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

/// Traps and backtraces in freshly compiled code are those of eager
/// compilation: the same trap, frames, names and wasm offsets.
#[test]
fn traps_and_backtraces_match_eager_compilation() {
    let wat = r#"(module $m
      (memory 1)
      (func $c (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
      (func $b (param i32) (result i32) local.get 0 call $c i32.const 1 i32.add)
      (func $a (export "a") (param i32) (result i32) local.get 0 call $b)
      (func (export "oob") (result i32) i32.const -4 i32.load)
      (func $deep (export "deep") (param i64) (result i64)
        local.get 0 i64.const 1000000 i64.eq
        if (result i64) local.get 0
        else local.get 0 i64.const 1 i64.add return_call $deep end))"#;
    let run = |engine: &Engine| {
        let module = Module::new(engine, wat).unwrap();
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let a = instance
            .get_typed_func::<i32, i32>(&mut store, "a")
            .unwrap();
        let err = a.call(&mut store, 5).unwrap_err();
        let trap = *err.downcast_ref::<keel::Trap>().unwrap();
        let backtrace = err.downcast_ref::<keel::WasmBacktrace>().unwrap();
        // Every frame ran in the store's one instance of the module.
        for frame in backtrace.frames() {
            assert_eq!(Instance::of_frame(&store, frame), Some(instance));
        }
        // (index, name, module offset, function offset)
        type Frame = (u32, Option<String>, Option<u32>, Option<u32>);
        let frames: Vec<Frame> = backtrace
            .frames()
            .iter()
            .map(|f| {
                (
                    f.func_index,
                    f.func_name.clone(),
                    f.module_offset,
                    f.func_offset,
                )
            })
            .collect();
        let oob = instance
            .get_typed_func::<(), i32>(&mut store, "oob")
            .unwrap();
        let oob = *oob
            .call(&mut store, ())
            .unwrap_err()
            .downcast_ref::<keel::Trap>()
            .unwrap();
        // A million tail calls run in constant stack.
        let deep = instance
            .get_typed_func::<i64, i64>(&mut store, "deep")
            .unwrap();
        assert_eq!(deep.call(&mut store, 0).unwrap(), 1_000_000);
        (trap, frames, oob)
    };
    let eager = run(&Engine::default());
    let lazy = run(&lazy_engine());
    assert_eq!(eager.0, keel::Trap::IntegerDivisionByZero);
    assert_eq!(eager.1.len(), 3, "{:?}", eager.1);
    assert_eq!(eager.2, keel::Trap::MemoryOutOfBounds);
    assert_eq!(eager, lazy);
}

/// `Config::lazy_baseline`: first calls run unoptimized code, the
/// engine's background thread replaces it with optimized code; results,
/// traps, backtraces and fuel are the same on both tiers and eagerly, also
/// while calls race with the switch.
#[test]
fn baseline_tier_then_optimized_code() {
    let wat = r#"(module
      (func $c (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
      (func $b (param i32) (result i32) local.get 0 call $c i32.const 1 i32.add)
      (func $a (export "a") (param i32) (result i32) local.get 0 call $b)
      (func $fib (export "fib") (param i32) (result i32)
        local.get 0 i32.const 2 i32.lt_u
        if (result i32) local.get 0
        else
          local.get 0 i32.const 1 i32.sub call $fib
          local.get 0 i32.const 2 i32.sub call $fib
          i32.add
        end))"#;
    type Frames = Vec<(u32, Option<u32>)>;
    let run = |store: &mut Store<()>, instance: &Instance| -> (i32, u64, keel::Trap, Frames) {
        store.set_fuel(1 << 40).unwrap();
        let fib = instance
            .get_typed_func::<i32, i32>(&mut *store, "fib")
            .unwrap();
        let r = fib.call(&mut *store, 16).unwrap();
        let fuel = (1u64 << 40) - store.get_fuel().unwrap();
        let a = instance
            .get_typed_func::<i32, i32>(&mut *store, "a")
            .unwrap();
        let err = a.call(&mut *store, 5).unwrap_err();
        let frames = err
            .downcast_ref::<keel::WasmBacktrace>()
            .unwrap()
            .frames()
            .iter()
            .map(|f| (f.func_index, f.module_offset))
            .collect();
        (r, fuel, *err.downcast_ref::<keel::Trap>().unwrap(), frames)
    };
    let engine = |lazy: bool| {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .lazy_compilation(lazy)
            .lazy_baseline(true);
        Engine::new(&config).unwrap()
    };
    let eager_engine = engine(false);
    let eager_module = Module::new(&eager_engine, wat).unwrap();
    let mut store = Store::new(&eager_engine, ());
    let instance = Instance::new(&mut store, &eager_module, &[]).unwrap();
    let eager = run(&mut store, &instance);
    assert_eq!(eager.0, 987);
    assert_eq!(eager.2, keel::Trap::IntegerDivisionByZero);
    assert_eq!(eager.3.len(), 3);

    let lazy_engine = engine(true);
    let module = Module::new(&lazy_engine, wat).unwrap();
    // Four threads call while the functions move from the baseline tier
    // to optimized code.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut store = Store::new(&lazy_engine, ());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                for _ in 0..20 {
                    assert_eq!(run(&mut store, &instance), eager);
                }
            });
        }
    });
    module.wait_for_optimized_code();
    assert_eq!(module.compiled_functions(), 4);
    // Optimized code now, for old and new instances alike.
    let mut store = Store::new(&lazy_engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(run(&mut store, &instance), eager);
    drop(module);
    // A module dropped with optimizations pending.
    let module = Module::new(&lazy_engine, wat).unwrap();
    let mut store = Store::new(&lazy_engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(run(&mut store, &instance), eager);
    drop((instance, store, module));
}

/// `Config::lazy_background_compilation`: after a call compiled `a`, the
/// engine's background threads compile what the call graph reaches from
/// it (`b`, `c` and, through `b`, `d`) although none of them is called,
/// and nothing unreachable (`e`); off, only what runs is compiled.
#[test]
fn background_compilation_follows_the_call_graph() {
    let wat = r#"(module
      (func $a (export "a") (param i32) (result i32)
        local.get 0
        if (result i32) call $b call $c i32.add else i32.const 7 end)
      (func $b (result i32) call $d)
      (func $c (result i32) i32.const 2)
      (func $d (result i32) i32.const 3)
      (func $e (export "e") (result i32) i32.const 4))"#;
    let run = |background: bool| {
        let mut config = Config::new();
        config
            .lazy_compilation(true)
            .lazy_background_compilation(background);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let a = instance
            .get_typed_func::<i32, i32>(&mut store, "a")
            .unwrap();
        assert_eq!(module.compiled_functions(), 0);
        assert_eq!(a.call(&mut store, 0).unwrap(), 7);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while background && module.compiled_functions() < 4 && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let compiled = module.compiled_functions();
        // The precompiled functions run right.
        assert_eq!(a.call(&mut store, 1).unwrap(), 5);
        (compiled, module.compiled_functions())
    };
    assert_eq!(run(true), (4, 4));
    assert_eq!(run(false), (1, 4));
}

/// Functions whose results do not fit the return registers take a
/// return-area pointer ahead of their VMContext: their first calls, from
/// wasm directly, through a table and from the host, must still find it.
/// Result counts around every architecture's register limits: 8 and 9
/// integers, 8 and 9 floats, vectors, 20 mixed.
#[test]
fn many_results_go_through_a_return_area() {
    let shapes: [&[&str]; 7] = [
        &["i32"; 8],
        &["i64"; 9],
        &["f32"; 8],
        &["f64"; 9],
        &["v128", "v128", "i32"],
        &[
            "f32", "i32", "f64", "i64", "f32", "i32", "f64", "i64", "f32", "i32", "f64", "i64",
            "f32", "i32", "f64", "i64", "f32", "i32", "f64", "i64",
        ],
        &["i32", "i32", "i32"],
    ];
    let mut wat = String::from("(module (table 16 funcref)\n");
    // A second module calls them through imports: the caller's VMContext
    // (the second argument) is then another instance's.
    let mut importer = String::from("(module\n");
    let mut importer_funcs = String::new();
    for (n, shape) in shapes.iter().enumerate() {
        let results = shape.join(" ");
        let value = |i: usize, t: &str| match t {
            "v128" => format!("v128.const i32x4 {i} {n} 0 {i}"),
            t => format!("{t}.const {}", 100 * n + i),
        };
        let body: Vec<String> = shape.iter().enumerate().map(|(i, t)| value(i, t)).collect();
        // f{n}: the results, from a lazily compiled function with a
        // parameter so the VMContext is not the only argument.
        wat += &format!(
            "(type $t{n} (func (param i32) (result {results})))\n\
             (func $f{n} (export \"f{n}\") (type $t{n}) {})\n\
             (elem (i32.const {n}) func $f{n})\n",
            body.join(" ")
        );
        // d{n} calls it directly, i{n} through the table; both fold the
        // results into one i64 (vectors by a lane).
        let fold = |call: &str| {
            let mut s = format!(
                "(local {}) local.get 0 {call}",
                shape
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            for i in (0..shape.len()).rev() {
                s += &format!(" local.set {}", i + 1);
            }
            s += " i64.const 0";
            for (i, t) in shape.iter().enumerate() {
                let get = format!(" local.get {}", i + 1);
                s += &get;
                s += match *t {
                    "i32" => " i64.extend_i32_u",
                    "i64" => "",
                    "f32" => " i64.trunc_f32_u",
                    "f64" => " i64.trunc_f64_u",
                    _ => " i32x4.extract_lane 1 i64.extend_i32_u",
                };
                s += " i64.add";
            }
            s
        };
        wat += &format!(
            "(func (export \"d{n}\") (param i32) (result i64) {})\n",
            fold(&format!("call $f{n}"))
        );
        wat += &format!(
            "(func (export \"i{n}\") (param i32) (result i64) {})\n",
            fold(&format!("i32.const {n} call_indirect (type $t{n})"))
        );
        importer +=
            &format!("(import \"a\" \"f{n}\" (func $f{n} (param i32) (result {results})))\n");
        importer_funcs += &format!(
            "(func (export \"g{n}\") (param i32) (result i64) {})\n",
            fold(&format!("call $f{n}"))
        );
    }
    wat += ")";
    importer += &importer_funcs;
    importer += ")";
    let expected = |n: usize, shape: &[&str]| -> i64 {
        shape
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if *t == "v128" {
                    n as i64
                } else {
                    (100 * n + i) as i64
                }
            })
            .sum()
    };
    for lazy in [false, true] {
        let mut config = Config::new();
        config.lazy_compilation(lazy);
        let engine = Engine::new(&config).unwrap();
        let importer = Module::new(&engine, &importer).unwrap();
        // Each way first: modules of their own, compiled anew.
        for way in ["d", "i", "f", "g"] {
            let module = Module::new(&engine, &wat).unwrap();
            let mut store = Store::new(&engine, ());
            let mut instance = Instance::new(&mut store, &module, &[]).unwrap();
            if way == "g" {
                let imports: Vec<keel::Extern> = (0..shapes.len())
                    .map(|n| {
                        instance
                            .get_func(&mut store, &format!("f{n}"))
                            .unwrap()
                            .into()
                    })
                    .collect();
                instance = Instance::new(&mut store, &importer, &imports).unwrap();
            }
            for (n, shape) in shapes.iter().enumerate() {
                let func = instance.get_func(&mut store, &format!("{way}{n}")).unwrap();
                let ty = func.ty(&store);
                let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
                func.call(&mut store, &[Val::I32(1)], &mut results).unwrap();
                if way == "f" {
                    for (i, (r, t)) in results.iter().zip(shape.iter()).enumerate() {
                        let want = (100 * n + i) as f64;
                        let got = match (r, *t) {
                            (Val::I32(x), _) => *x as f64,
                            (Val::I64(x), _) => *x as f64,
                            (Val::F32(x), _) => f32::from_bits(*x) as f64,
                            (Val::F64(x), _) => f64::from_bits(*x),
                            (Val::V128(x), _) => {
                                assert_eq!((*x >> 32) as u32, n as u32, "lazy {lazy}: f{n} lane");
                                want
                            }
                            _ => f64::NAN,
                        };
                        assert_eq!(got, want, "lazy {lazy}: f{n} result {i}");
                    }
                } else {
                    let Val::I64(got) = results[0] else {
                        panic!("lazy {lazy}: {way}{n} returned {:?}", results[0]);
                    };
                    assert_eq!(got, expected(n, shape), "lazy {lazy}: {way}{n}");
                }
            }
        }
    }
}

/// Exceptions thrown, caught and rethrown across lazily compiled frames,
/// and collections walking their stack maps.
#[test]
fn exceptions_unwind_through_lazily_compiled_frames() {
    let wat = format!(
        r#"(module
          (tag $e (param i32))
          (func $throw (param i32) (throw $e (local.get 0)))
          (func $middle (param i32) (call $throw (local.get 0)))
          (func (export "catch") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (call $middle (local.get 0)))
              (i32.const -1)))
          (func (export "escape") (param i32) (call $middle (local.get 0)))
          (func (export "keep") (param $v i32) (param $n i32) (result i32)
            (local $kept exnref)
            (local.set $kept (call $caught_ref (local.get $v)))
            (call $churn (local.get $n))
            (block $h (result i32)
              (try_table (catch $e $h) (throw_ref (local.get $kept)))
              (i32.const -1)))
          {})"#,
        crate::EXNREF_HELPERS
    );
    let engine = lazy_engine();
    let module = Module::new(&engine, &wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let catch = instance
        .get_typed_func::<i32, i32>(&mut store, "catch")
        .unwrap();
    assert_eq!(catch.call(&mut store, 17).unwrap(), 17);
    let escape = instance
        .get_typed_func::<i32, ()>(&mut store, "escape")
        .unwrap();
    let err = escape.call(&mut store, 18).unwrap_err();
    assert!(
        err.downcast_ref::<keel::ThrownException>().is_some(),
        "{err:#}"
    );
    let keep = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "keep")
        .unwrap();
    assert_eq!(keep.call(&mut store, (19, 2500)).unwrap(), 19);
}

/// Tables, references and tail calls reach lazily compiled functions,
/// and a reference taken before the first
/// call works after it.
#[test]
fn tables_references_and_tail_calls() {
    let wat = r#"(module
      (type $t (func (param i32) (result i32)))
      (table 4 funcref)
      (elem (i32.const 0) $double $inc)
      (func $double (type $t) local.get 0 i32.const 2 i32.mul)
      (func $inc (type $t) local.get 0 i32.const 1 i32.add)
      (func (export "indirect") (param i32 i32) (result i32)
        local.get 1 local.get 0 call_indirect (type $t))
      (func (export "tail_indirect") (param i32 i32) (result i32)
        local.get 1 local.get 0 return_call_indirect (type $t))
      (func (export "tail") (param i32) (result i32) local.get 0 return_call $inc)
      (func (export "by_ref") (param i32) (result i32)
        local.get 0 ref.func $double call_ref $t)
      (func (export "set_and_call") (param i32) (result i32)
        i32.const 3 ref.func $inc table.set
        local.get 0 i32.const 3 call_indirect (type $t))
      (func (export "get") (result funcref) ref.func $double))"#;
    let engine = lazy_engine();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    // A reference taken before anything was compiled.
    let get = instance.get_func(&mut store, "get").unwrap();
    let mut result = [Val::I32(0)];
    get.call(&mut store, &[], &mut result).unwrap();
    let Val::FuncRef(Some(double)) = &result[0] else {
        panic!("{:?}", result[0]);
    };
    let double = double.typed::<i32, i32>(&store).unwrap();
    assert_eq!(double.call(&mut store, 21).unwrap(), 42);
    let indirect = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "indirect")
        .unwrap();
    assert_eq!(indirect.call(&mut store, (0, 5)).unwrap(), 10);
    assert_eq!(indirect.call(&mut store, (1, 5)).unwrap(), 6);
    let err = indirect.call(&mut store, (3, 5)).unwrap_err();
    assert_eq!(
        *err.downcast_ref::<keel::Trap>().unwrap(),
        keel::Trap::IndirectCallToNull
    );
    let tail_indirect = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "tail_indirect")
        .unwrap();
    assert_eq!(tail_indirect.call(&mut store, (1, 9)).unwrap(), 10);
    let tail = instance
        .get_typed_func::<i32, i32>(&mut store, "tail")
        .unwrap();
    assert_eq!(tail.call(&mut store, 41).unwrap(), 42);
    let by_ref = instance
        .get_typed_func::<i32, i32>(&mut store, "by_ref")
        .unwrap();
    assert_eq!(by_ref.call(&mut store, 4).unwrap(), 8);
    let set_and_call = instance
        .get_typed_func::<i32, i32>(&mut store, "set_and_call")
        .unwrap();
    assert_eq!(set_and_call.call(&mut store, 6).unwrap(), 7);
    // The reference from before compilation still calls the code.
    assert_eq!(double.call(&mut store, 50).unwrap(), 100);
}

/// Fuel and epoch checks count the same with lazy compilation.
#[test]
fn fuel_counts_match_eager_compilation() {
    let consumed = |lazy: bool| {
        let mut config = Config::new();
        config.consume_fuel(true).lazy_compilation(lazy);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, FIB).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(1 << 40).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let fib = instance
            .get_typed_func::<i32, i32>(&mut store, "fib")
            .unwrap();
        assert_eq!(fib.call(&mut store, 15).unwrap(), 610);
        (1u64 << 40) - store.get_fuel().unwrap()
    };
    let eager = consumed(false);
    assert!(eager > 1000);
    assert_eq!(consumed(true), eager);
}

/// A lazily compiled module serializes whole, and its artifact loads.
#[test]
fn serializing_compiles_the_whole_module() {
    let engine = lazy_engine();
    let module = Module::new(&engine, FIB).unwrap();
    let artifact = module.serialize().unwrap();
    assert_eq!(
        artifact,
        Engine::default().precompile_module(FIB.as_bytes()).unwrap()
    );
    // SAFETY: this keel's artifact, just written.
    let loaded = unsafe { Module::deserialize(&engine, &artifact) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &loaded, &[]).unwrap();
    let fib = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, 12).unwrap(), 144);
}

/// Host functions called from lazily compiled code, and wasm called back
/// from them.
#[test]
fn host_calls_both_ways() {
    let engine = lazy_engine();
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "twice" (func $twice (param i32) (result i32)))
          (func $inc (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
          (func (export "run") (param i32) (result i32) local.get 0 call $twice call $inc))"#,
    )
    .unwrap();
    let mut linker = keel::Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "twice",
            |mut caller: keel::Caller<'_, ()>, x: i32| {
                // Call back into wasm (an uncompiled function the first time).
                let inc = caller
                    .get_export("inc")
                    .and_then(|e| e.into_func())
                    .unwrap()
                    .typed::<i32, i32>(&caller)
                    .unwrap();
                let y = inc.call(&mut caller, x).unwrap();
                Ok(y * 2)
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 4).unwrap(), 11);
}
