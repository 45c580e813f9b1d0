//! WebAssembly 3.0 proposals: the `Config` toggles and the behaviour the
//! spec testsuite does not measure (stack use of tail calls, fuel).

use keel::{Config, Engine, Linker, Module, Store, Trap, TrapCode};

/// Each toggle accepts its proposal when on and rejects it when off.
#[test]
fn toggles_gate_their_proposals() {
    type Toggle = fn(&mut Config, bool) -> &mut Config;
    let cases: [(&str, Toggle, &str); 4] = [
        (
            "tail calls",
            Config::wasm_tail_call,
            "(module (func $f return_call $f))",
        ),
        (
            "multiple memories",
            Config::wasm_multi_memory,
            "(module (memory 1) (memory 1))",
        ),
        (
            "extended constants",
            Config::wasm_extended_const,
            "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
        ),
        (
            "wide arithmetic",
            Config::wasm_wide_arithmetic,
            "(module (func (param i64 i64) (result i64 i64)
                local.get 0 local.get 1 i64.mul_wide_u))",
        ),
    ];
    for (name, toggle, wat) in cases {
        let bytes = wat::parse_str(wat).unwrap();
        let mut off = Config::new();
        toggle(&mut off, false);
        let engine = Engine::new(&off).unwrap();
        let err = Module::validate(&engine, &bytes).expect_err(name);
        assert!(
            format!("{err:#}").contains("invalid WebAssembly"),
            "{name}: {err:#}"
        );
        let mut on = Config::new();
        toggle(&mut on, true);
        let engine = Engine::new(&on).unwrap();
        Module::validate(&engine, &bytes).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
}

/// The defaults are Wasmtime 48's: the 3.0 proposals on, wide arithmetic
/// and custom page sizes off.
#[test]
fn default_proposals() {
    let engine = Engine::default();
    for wat in [
        "(module (func $f return_call $f))",
        "(module (memory 1) (memory 1))",
        "(module (global i64 (i64.mul (i64.const 2) (i64.const 3))))",
    ] {
        Module::validate(&engine, &wat::parse_str(wat).unwrap()).unwrap();
    }
    for wat in [
        "(module (func (param i64 i64) (result i64 i64) local.get 0 local.get 1 i64.mul_wide_u))",
        "(module (memory 1 (pagesize 1)))",
    ] {
        assert!(Module::validate(&engine, &wat::parse_str(wat).unwrap()).is_err());
    }
}

/// Ten million mutually recursive tail calls (direct, indirect and through
/// an import) run in constant stack: a plain call at that depth would
/// overflow the 512 KiB wasm stack thousands of times over.
#[test]
fn tail_calls_run_in_constant_stack() {
    let wat = r#"
        (module
          (import "host" "id" (func $id (param i64) (result i64)))
          (type $step (func (param i64 i64) (result i64)))
          (table funcref (elem $odd_indirect $even_indirect))
          (func $even (param i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (local.get 1))
              (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))
                                      (i64.add (local.get 1) (i64.const 1))))))
          (func $odd (param i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (local.get 1))
              (else (return_call $even (i64.sub (local.get 0) (i64.const 1))
                                       (i64.add (local.get 1) (i64.const 2))))))
          (func $even_indirect (param i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (local.get 1))
              (else (return_call_indirect (type $step)
                      (i64.sub (local.get 0) (i64.const 1))
                      (i64.add (local.get 1) (i64.const 1))
                      (i32.const 0)))))
          (func $odd_indirect (param i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (local.get 1))
              (else (return_call_indirect (type $step)
                      (i64.sub (local.get 0) (i64.const 1))
                      (i64.add (local.get 1) (i64.const 2))
                      (i32.const 1)))))
          (func (export "direct") (param i64) (result i64)
            (return_call $even (local.get 0) (i64.const 0)))
          (func (export "indirect") (param i64) (result i64)
            (return_call $even_indirect (local.get 0) (i64.const 0)))
          (func (export "to_host") (param i64) (result i64)
            (return_call $id (local.get 0)))
          (func $count (export "count") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (i64.const 0))
              (else (return_call $count (i64.sub (local.get 0) (i64.const 1))))))
        )"#;
    for fuel in [false, true] {
        let mut config = Config::new();
        config.consume_fuel(fuel);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        if fuel {
            store.set_fuel(u64::MAX).unwrap();
        }
        let mut linker = Linker::new(&engine);
        linker.func_wrap("host", "id", |x: i64| x + 1).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let n: i64 = 10_000_000;
        // Half the steps add 1, half add 2.
        let expected = n / 2 * 3;
        for name in ["direct", "indirect"] {
            let f = instance
                .get_typed_func::<i64, i64>(&mut store, name)
                .unwrap();
            assert_eq!(f.call(&mut store, n).unwrap(), expected, "{name}");
        }
        let f = instance
            .get_typed_func::<i64, i64>(&mut store, "to_host")
            .unwrap();
        assert_eq!(f.call(&mut store, 41).unwrap(), 42);
        if fuel {
            // Fuel is counted across tail calls: every step of `count`
            // costs the same, so the cost grows linearly with the steps.
            let count = instance
                .get_typed_func::<i64, i64>(&mut store, "count")
                .unwrap();
            let mut cost = |steps: i64| {
                let before = store.get_fuel().unwrap();
                count.call(&mut store, steps).unwrap();
                before - store.get_fuel().unwrap()
            };
            let (c1, c2, c3) = (cost(1000), cost(2000), cost(3000));
            assert!(c1 > 1000, "{c1}");
            assert_eq!(c3 - c2, c2 - c1, "{c1} {c2} {c3}");
            // And running out of it inside a tail-call loop traps.
            store.set_fuel(10_000).unwrap();
            let err = count.call(&mut store, 1_000_000).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>().map(Trap::code),
                Some(TrapCode::OutOfFuel)
            );
        }
    }
}

/// `relaxed_simd_deterministic` picks the result: by default
/// `i8x16.relaxed_swizzle` with index 16 gives 0 (as `i8x16.swizzle`);
/// lowered natively on x86_64 (`pshufb`) it gives lane 0, which the
/// proposal also allows.
#[test]
fn relaxed_simd_deterministic_toggle() {
    let wat = r#"(module (func (export "f") (result i32)
        (i8x16.extract_lane_u 0
          (i8x16.relaxed_swizzle (v128.const i8x16 7 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                                 (v128.const i8x16 16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)))))"#;
    let run = |deterministic: bool| -> i32 {
        let mut config = Config::new();
        config.relaxed_simd_deterministic(deterministic);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        f.call(&mut store, ()).unwrap()
    };
    assert_eq!(run(true), 0);
    let native = run(false);
    if cfg!(target_arch = "x86_64") {
        assert_eq!(native, 7);
    } else {
        assert!(native == 0 || native == 7, "{native}");
    }
}
