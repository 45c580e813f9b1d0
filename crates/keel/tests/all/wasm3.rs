//! WebAssembly 3.0 proposals: the `Config` toggles and the behaviour the
//! spec testsuite does not measure (stack use of tail calls, fuel).

use keel::{
    Config, Engine, Func, HeapType, Linker, Memory, MemoryType, Module, RefType, Store, Table,
    TableType, Trap, Val, ValType,
};

/// Each toggle accepts its proposal when on and rejects it when off.
#[test]
fn toggles_gate_their_proposals() {
    type Toggle = fn(&mut Config, bool) -> &mut Config;
    let cases: [(&str, Toggle, &str); 8] = [
        (
            "GC",
            Config::wasm_gc,
            "(module (type (struct (field i32))))",
        ),
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
            "memory64",
            Config::wasm_memory64,
            "(module (memory i64 1) (table i64 1 funcref))",
        ),
        (
            "typed function references",
            // GC builds on them: off together.
            |c, on| c.wasm_gc(on).wasm_function_references(on),
            "(module (type $t (func)) (func (param (ref null $t))))",
        ),
        (
            "custom page sizes",
            Config::wasm_custom_page_sizes,
            "(module (memory 1 (pagesize 1)))",
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
        // GC's types are refused as unsupported when typed function
        // references are on (their recursion groups validate with GC).
        let message = format!("{err:#}");
        assert!(
            message.contains("invalid WebAssembly") || message.contains("need the GC proposal"),
            "{name}: {err:#}"
        );
        let mut on = Config::new();
        toggle(&mut on, true);
        let engine = Engine::new(&on).unwrap();
        Module::validate(&engine, &bytes).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
}

/// The defaults are Wasmtime 49's: the 3.0 proposals and wide arithmetic
/// on, custom page sizes off.
#[test]
fn default_proposals() {
    let engine = Engine::default();
    for wat in [
        "(module (func $f return_call $f))",
        "(module (memory 1) (memory 1))",
        "(module (global i64 (i64.mul (i64.const 2) (i64.const 3))))",
        "(module (func (param i64 i64) (result i64 i64) local.get 0 local.get 1 i64.mul_wide_u))",
    ] {
        Module::validate(&engine, &wat::parse_str(wat).unwrap()).unwrap();
    }
    let custom_pages = wat::parse_str("(module (memory 1 (pagesize 1)))").unwrap();
    assert!(Module::validate(&engine, &custom_pages).is_err());
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
            assert_eq!(err.downcast_ref::<Trap>().copied(), Some(Trap::OutOfFuel));
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

/// A 64-bit memory and table: `i64` addresses, sizes and deltas, bounds
/// checked against the full 64-bit address (no wrap-around), growth to
/// the declared maximum and no further, and the host API's 64-bit types.
#[test]
fn memory64_and_table64() {
    let wat = r#"
        (module
          (memory (export "mem") i64 1 3)
          (table (export "tab") i64 2 4 funcref)
          (func $f (result i32) i32.const 7)
          (elem (table 0) (i64.const 1) func $f)
          (func (export "load") (param i64) (result i32) (i32.load8_u (local.get 0)))
          (func (export "load_far") (param i64) (result i32)
            (i32.load8_u offset=0xffff_ffff_ffff_fff0 (local.get 0)))
          (func (export "store") (param i64 i32) (i32.store8 (local.get 0) (local.get 1)))
          (func (export "size") (result i64) memory.size)
          (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
          (func (export "fill") (param i64 i32 i64)
            (memory.fill (local.get 0) (local.get 1) (local.get 2)))
          (type $t (func (result i32)))
          (func (export "call") (param i64) (result i32)
            (call_indirect (type $t) (local.get 0)))
          (func (export "table_grow") (param i64) (result i64)
            (table.grow (ref.null func) (local.get 0)))
        )"#;
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let load = instance
        .get_typed_func::<i64, i32>(&mut store, "load")
        .unwrap();
    let load_far = instance
        .get_typed_func::<i64, i32>(&mut store, "load_far")
        .unwrap();
    let store8 = instance
        .get_typed_func::<(i64, i32), ()>(&mut store, "store")
        .unwrap();
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .unwrap();
    let fill = instance
        .get_typed_func::<(i64, i32, i64), ()>(&mut store, "fill")
        .unwrap();
    let call = instance
        .get_typed_func::<i64, i32>(&mut store, "call")
        .unwrap();
    let table_grow = instance
        .get_typed_func::<i64, i64>(&mut store, "table_grow")
        .unwrap();
    let trap = |e: keel::Error| e.downcast_ref::<Trap>().copied();

    store8.call(&mut store, (65535, 9)).unwrap();
    assert_eq!(load.call(&mut store, 65535).unwrap(), 9);
    // Just past the end, far past it, and addresses that would wrap
    // around to the start if they were truncated or overflowed.
    for addr in [65536i64, 1 << 32, (1 << 32) + 1, -1, i64::MIN] {
        let err = load.call(&mut store, addr).unwrap_err();
        assert_eq!(trap(err), Some(Trap::MemoryOutOfBounds), "{addr:#x}");
    }
    for addr in [0i64, 0x20] {
        let err = load_far.call(&mut store, addr).unwrap_err();
        assert_eq!(trap(err), Some(Trap::MemoryOutOfBounds), "{addr:#x}");
    }
    let err = fill.call(&mut store, (-1, 0, 2)).unwrap_err();
    assert_eq!(trap(err), Some(Trap::MemoryOutOfBounds));

    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(grow.call(&mut store, i64::MAX).unwrap(), -1);
    assert_eq!(grow.call(&mut store, -1).unwrap(), -1);
    store8.call(&mut store, (3 * 65536 - 1, 5)).unwrap();
    assert_eq!(load.call(&mut store, 3 * 65536 - 1).unwrap(), 5);

    assert_eq!(call.call(&mut store, 1).unwrap(), 7);
    for index in [2i64, 1 << 32, -1] {
        let err = call.call(&mut store, index).unwrap_err();
        assert_eq!(trap(err), Some(Trap::TableOutOfBounds), "{index:#x}");
    }
    assert_eq!(table_grow.call(&mut store, 2).unwrap(), 2);
    assert_eq!(table_grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(table_grow.call(&mut store, -1).unwrap(), -1);

    let memory = instance.get_memory(&mut store, "mem").unwrap();
    let ty = memory.ty(&store);
    assert!(ty.is_64());
    assert_eq!((ty.minimum(), ty.maximum()), (3, Some(3)));
    assert_eq!(memory.size(&store), 3);
    let table = instance.get_table(&mut store, "tab").unwrap();
    assert!(table.ty(&store).is_64());
    assert_eq!(table.size(&store), 4);

    // Host-made 64-bit memories and tables import where 64-bit ones are
    // expected, and only there.
    let importer =
        r#"(module (import "m" "mem" (memory i64 1)) (import "m" "tab" (table i64 1 funcref)))"#;
    let importer = Module::new(&engine, importer).unwrap();
    let mem64 = Memory::new(&mut store, MemoryType::new64(1, None)).unwrap();
    let tab64 = Table::new(
        &mut store,
        TableType::new64(ValType::FuncRef, 1, None),
        keel::Ref::Func(None),
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "m", "mem", mem64).unwrap();
    linker.define(&mut store, "m", "tab", tab64).unwrap();
    linker.instantiate(&mut store, &importer).unwrap();
    let mem32 = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    linker.allow_shadowing(true);
    linker.define(&mut store, "m", "mem", mem32).unwrap();
    let err = linker.instantiate(&mut store, &importer).unwrap_err();
    // Wasmtime's words for an index type mismatch.
    assert!(
        format!("{err:#}").contains("expected 64-bit memory, found 32-bit memory"),
        "{err:#}"
    );
}

/// Memories of 1-byte pages (custom page sizes): sizes and growth count
/// bytes, the bounds are exact to the byte in both bounds-check modes, and
/// the host sees the page size.
#[test]
fn one_byte_pages() {
    let wat = r#"
        (module
          (memory (export "mem") 5 (pagesize 1))
          (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "size") (result i32) memory.size)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    for signals in [true, false] {
        let mut config = Config::new();
        config
            .wasm_custom_page_sizes(true)
            .signals_based_traps(signals);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        let size = instance
            .get_typed_func::<(), i32>(&mut store, "size")
            .unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(load.call(&mut store, 4).unwrap(), 0);
        let err = load.call(&mut store, 5).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>().copied(),
            Some(Trap::MemoryOutOfBounds)
        );
        assert_eq!(grow.call(&mut store, 3).unwrap(), 5);
        assert_eq!(size.call(&mut store, ()).unwrap(), 8);
        assert_eq!(load.call(&mut store, 7).unwrap(), 0);
        assert!(load.call(&mut store, 8).is_err());
        // Growth to 4 GiB of 1-byte pages is the index type's limit.
        assert_eq!(grow.call(&mut store, -1).unwrap(), -1);
        let memory = instance.get_memory(&mut store, "mem").unwrap();
        assert_eq!(memory.page_size(&store), 1);
        assert_eq!(memory.size(&store), 8);
        assert_eq!(memory.data_size(&store), 8);
    }
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let err = Memory::new(&mut store, MemoryType::new(1, None).with_page_size_log2(3)).unwrap_err();
    assert!(format!("{err:#}").contains("page size"), "{err:#}");
    let memory = Memory::new(
        &mut store,
        MemoryType::new(10, Some(20)).with_page_size_log2(0),
    )
    .unwrap();
    assert_eq!((memory.size(&store), memory.data_size(&store)), (10, 10));
}

/// Typed function references through the host API: `call_ref` of host
/// and wasm functions (and of null), a non-null table with an initializer,
/// host values checked against concrete types, and types from different
/// modules equal by structure.
#[test]
fn typed_function_references() {
    let engine = Engine::default();
    let wat = r#"
        (module
          (type $ii (func (param i32) (result i32)))
          (import "host" "double" (func $double (type $ii)))
          (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
          (table $t 2 (ref $ii) (ref.func $inc))
          (global $g (export "g") (mut (ref null $ii)) (ref.null $ii))
          (elem declare func $inc $double)
          (func (export "call_slot") (param i32 i32) (result i32)
            (call_ref $ii (local.get 1) (table.get $t (local.get 0))))
          (func (export "set_slot") (param i32)
            (table.set $t (local.get 0) (ref.func $double)))
          (func (export "call_global") (param i32) (result i32)
            (call_ref $ii (local.get 0) (global.get $g)))
          (func (export "tail") (param i32) (result i32)
            (return_call_ref $ii (local.get 0) (ref.func $double)))
          (func (export "non_null") (param (ref $ii)) (result (ref $ii)) (local.get 0))
          (func (export "as_non_null") (param (ref null $ii)) (result (ref $ii))
            (ref.as_non_null (local.get 0)))
          (func (export "is_null") (param (ref null $ii)) (result i32)
            (block $null (result)
              (br_on_null $null (local.get 0))
              (drop)
              (return (i32.const 0)))
            (i32.const 1))
        )"#;
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "double", |x: i32| x * 2).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let call_slot = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "call_slot")
        .unwrap();
    let set_slot = instance
        .get_typed_func::<i32, ()>(&mut store, "set_slot")
        .unwrap();
    let call_global = instance
        .get_typed_func::<i32, i32>(&mut store, "call_global")
        .unwrap();
    let tail = instance
        .get_typed_func::<i32, i32>(&mut store, "tail")
        .unwrap();
    // Every slot starts as the initializer's `$inc`.
    assert_eq!(call_slot.call(&mut store, (1, 5)).unwrap(), 6);
    set_slot.call(&mut store, 1).unwrap();
    assert_eq!(call_slot.call(&mut store, (1, 5)).unwrap(), 10);
    assert_eq!(tail.call(&mut store, 21).unwrap(), 42);
    let err = call_global.call(&mut store, 1).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::NullReference)
    );

    // The global's type names the module's type, as the engine's.
    let global = instance.get_global(&mut store, "g").unwrap();
    let ValType::Ref(RefType {
        nullable: true,
        heap: HeapType::ConcreteFunc(keel::TypeRef::Engine(_)),
    }) = global.ty(&store).content()
    else {
        panic!("{:?}", global.ty(&store));
    };
    // A function of that type matches it; one of another type, and an
    // externref, do not.
    let host_inc = Func::wrap(&mut store, |x: i32| x + 100);
    let wrong = Func::wrap(&mut store, |x: i64| x);
    assert!(Val::FuncRef(Some(host_inc)).matches_ty(&store, global.ty(&store).content()));
    assert!(!Val::FuncRef(Some(wrong)).matches_ty(&store, global.ty(&store).content()));
    assert!(global.set(&mut store, Val::FuncRef(Some(wrong))).is_err());
    global
        .set(&mut store, Val::FuncRef(Some(host_inc)))
        .unwrap();
    assert_eq!(call_global.call(&mut store, 1).unwrap(), 101);

    // A non-nullable parameter refuses null from the host.
    let non_null = instance.get_func(&mut store, "non_null").unwrap();
    let mut out = [Val::I32(0)];
    let err = non_null
        .call(&mut store, &[Val::FuncRef(None)], &mut out)
        .unwrap_err();
    assert!(format!("{err:#}").contains("argument 0"), "{err:#}");
    non_null
        .call(&mut store, &[Val::FuncRef(Some(host_inc))], &mut out)
        .unwrap();
    assert!(matches!(out[0], Val::FuncRef(Some(f)) if f == host_inc));
    let as_non_null = instance.get_func(&mut store, "as_non_null").unwrap();
    let err = as_non_null
        .call(&mut store, &[Val::FuncRef(None)], &mut out)
        .unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::NullReference)
    );
    let is_null = instance.get_func(&mut store, "is_null").unwrap();
    is_null
        .call(&mut store, &[Val::FuncRef(None)], &mut out)
        .unwrap();
    assert_eq!(out[0].unwrap_i32(), 1);
    is_null
        .call(&mut store, &[Val::FuncRef(Some(host_inc))], &mut out)
        .unwrap();
    assert_eq!(out[0].unwrap_i32(), 0);

    // Imports match by the engine's canonical types: a recursive type
    // declared the same way in two modules is one type; the same
    // structure in another recursion group is not.
    let exporter = Module::new(
        &engine,
        r#"(module (type $r (func (param (ref null $r))))
             (func (export "f") (type $r)))"#,
    )
    .unwrap();
    let exporter = Linker::new(&engine)
        .instantiate(&mut store, &exporter)
        .unwrap();
    let f = exporter.get_func(&mut store, "f").unwrap();
    let same =
        r#"(module (type $s (func (param (ref null $s)))) (import "m" "f" (func (type $s))))"#;
    let other = r#"(module (rec (type $s (func (param (ref null $s)))) (type (func)))
                            (import "m" "f" (func (type $s))))"#;
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "m", "f", f).unwrap();
    linker
        .instantiate(&mut store, &Module::new(&engine, same).unwrap())
        .unwrap();
    let err = linker
        .instantiate(&mut store, &Module::new(&engine, other).unwrap())
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("incompatible import type"),
        "{err:#}"
    );
}

const COUNTER_WAT: &str = r#"
    (module
      (import "env" "mem" (memory 1 1 shared))
      ;; Add 1 to the counter at 0, `n` times, atomically.
      (func (export "count") (param $n i32)
        (loop $l
          (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      ;; Wait at 8 while the value there is 0; returns the wait's result.
      (func (export "wait") (param $timeout i64) (result i32)
        (memory.atomic.wait32 (i32.const 8) (i32.const 0) (local.get $timeout)))
      ;; Set 8 to 1 and wake one waiter; returns how many woke.
      (func (export "wake") (result i32)
        (i32.atomic.store (i32.const 8) (i32.const 1))
        (memory.atomic.notify (i32.const 8) (i32.const 1)))
      (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
      (func (export "cas") (param i32 i32 i32) (result i32)
        (i32.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
    )"#;

/// Threads: one shared memory imported by instances in two stores on two
/// threads; atomic increments from both add up, a wait blocks until the
/// other thread's notify, timeouts expire, and the host API sees the
/// same bytes.
#[test]
fn shared_memory_between_threads() {
    let engine = Engine::default();
    let module = Module::new(&engine, COUNTER_WAT).unwrap();
    let memory = keel::SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    let instantiate = |memory: &keel::SharedMemory| {
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .define(&mut store, "env", "mem", memory.clone())
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        (store, instance)
    };
    const N: i32 = 200_000;
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let (mut store, instance) = instantiate(&memory);
                let count = instance
                    .get_typed_func::<i32, ()>(&mut store, "count")
                    .unwrap();
                count.call(&mut store, N).unwrap();
            });
        }
    });
    let (mut store, instance) = instantiate(&memory);
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    assert_eq!(load.call(&mut store, 0).unwrap(), 2 * N);
    // The host sees the same memory.
    // SAFETY: no thread runs wasm on this memory any more.
    let first = unsafe { *memory.data()[0].get() };
    assert_eq!(first, (2 * N) as u8);
    let cas = instance
        .get_typed_func::<(i32, i32, i32), i32>(&mut store, "cas")
        .unwrap();
    assert_eq!(cas.call(&mut store, (0, 2 * N, 7)).unwrap(), 2 * N);
    assert_eq!(cas.call(&mut store, (0, 2 * N, 9)).unwrap(), 7);

    // A wait with a timeout and no notify times out (2); one that does
    // not match returns 1 at once.
    let wait = instance
        .get_typed_func::<i64, i32>(&mut store, "wait")
        .unwrap();
    assert_eq!(wait.call(&mut store, 1_000_000).unwrap(), 2);

    // A waiter blocks until the other thread's notify wakes it.
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let (mut store, instance) = instantiate(&memory);
            let wait = instance
                .get_typed_func::<i64, i32>(&mut store, "wait")
                .unwrap();
            wait.call(&mut store, -1).unwrap()
        });
        let (mut store, instance) = instantiate(&memory);
        let wake = instance
            .get_typed_func::<(), i32>(&mut store, "wake")
            .unwrap();
        // Notify until the waiter has been woken (it may not be waiting
        // yet; once the value is 1 it no longer blocks either way).
        let mut woken = 0;
        while !waiter.is_finished() {
            woken += wake.call(&mut store, ()).unwrap();
            std::thread::yield_now();
        }
        let result = waiter.join().unwrap();
        // Woken by a notify (0), or it saw the 1 and did not wait (1).
        assert!(
            result == 0 && woken == 1 || result == 1 && woken == 0,
            "{result} {woken}"
        );
    });
    assert_eq!(wait.call(&mut store, -1).unwrap(), 1);
    assert_eq!(
        memory
            .atomic_wait32(8, 0, Some(std::time::Duration::from_millis(1)))
            .unwrap(),
        keel::WaitResult::Mismatch
    );
    assert_eq!(memory.atomic_notify(8, 10).unwrap(), 0);
    assert!(memory.atomic_notify(9, 1).is_err());
}

/// Atomic accesses trap when unaligned; a wait on an unshared memory
/// traps; a shared memory needs threads on and a shared type.
#[test]
fn atomics_traps_and_errors() {
    let engine = Engine::default();
    let wat = r#"
        (module
          (memory 1 1)
          (func (export "load") (param i32) (result i64) (i64.atomic.load (local.get 0)))
          (func (export "load_off") (param i32) (result i32) (i32.atomic.load offset=2 (local.get 0)))
          (func (export "wait") (result i32)
            (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))
          (func (export "notify") (result i32)
            (memory.atomic.notify (i32.const 0) (i32.const 1))))"#;
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let load = instance
        .get_typed_func::<i32, i64>(&mut store, "load")
        .unwrap();
    let load_off = instance
        .get_typed_func::<i32, i32>(&mut store, "load_off")
        .unwrap();
    let code = |e: keel::Error| e.downcast_ref::<Trap>().copied();
    assert_eq!(load.call(&mut store, 8).unwrap(), 0);
    assert_eq!(
        code(load.call(&mut store, 4).unwrap_err()),
        Some(Trap::HeapMisaligned)
    );
    assert_eq!(
        code(load.call(&mut store, 65536).unwrap_err()),
        Some(Trap::MemoryOutOfBounds)
    );
    // The static offset counts: 2 + 2 is aligned, 2 + 0 is not.
    assert_eq!(load_off.call(&mut store, 2).unwrap(), 0);
    assert_eq!(
        code(load_off.call(&mut store, 0).unwrap_err()),
        Some(Trap::HeapMisaligned)
    );
    let wait = instance
        .get_typed_func::<(), i32>(&mut store, "wait")
        .unwrap();
    assert_eq!(
        code(wait.call(&mut store, ()).unwrap_err()),
        Some(Trap::AtomicWaitNonSharedMemory)
    );
    let notify = instance
        .get_typed_func::<(), i32>(&mut store, "notify")
        .unwrap();
    assert_eq!(notify.call(&mut store, ()).unwrap(), 0);

    assert!(keel::SharedMemory::new(&engine, MemoryType::new(1, Some(1))).is_err());
    let mut config = Config::new();
    config.wasm_threads(false);
    let no_threads = Engine::new(&config).unwrap();
    assert!(keel::SharedMemory::new(&no_threads, MemoryType::shared(1, 1)).is_err());
    assert!(Memory::new(&mut store, MemoryType::shared(1, 1)).is_err());
    // A shared memory imports only where a shared one is expected.
    let memory = keel::SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    let unshared = Module::new(&engine, r#"(module (import "m" "mem" (memory 1 1)))"#).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .define(&mut store, "m", "mem", memory.clone())
        .unwrap();
    let err = linker.instantiate(&mut store, &unshared).unwrap_err();
    assert!(format!("{err:#}").contains("shared"), "{err:#}");
    // Exported from an instance, a shared memory is a `SharedMemory`.
    let exporter = Module::new(&engine, r#"(module (memory (export "m") 1 2 shared))"#).unwrap();
    let exporter = Linker::new(&engine)
        .instantiate(&mut store, &exporter)
        .unwrap();
    let exported = exporter.get_shared_memory(&mut store, "m").unwrap();
    assert!(exporter.get_memory(&mut store, "m").is_none());
    assert_eq!(exported.grow(1).unwrap(), 1);
    assert!(exported.grow(1).is_err());
    assert_eq!(exported.size(), 2);
}
