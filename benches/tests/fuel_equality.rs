//! keel's consumed fuel equals Wasmtime 48's, unit for unit: for each
//! execution workload, for a call of each spec-test-like control shape
//! (loop, recursion, `br_table` loop, `call_indirect` loop), for bulk
//! memory and table operations, for traps in the middle of a function,
//! and for running out.
//!
//! `cargo test --release --manifest-path benches/Cargo.toml --test fuel_equality`

use keel_benches::workloads;

const SHAPES: &str = r#"
(module
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $id)
  (func $id (param i32) (result i32) (local.get 0))
  (func (export "loop") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1))
  (func $rec (export "recursion") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1)))
                     (call $rec (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "br_table") (param i32) (result i32) (local i32 i32)
    (loop $l
      (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 (i32.rem_u (local.get 1) (i32.const 3))))
        (local.set 2 (i32.add (local.get 2) (i32.const 1)))
        (br $b2))
        (local.set 2 (i32.add (local.get 2) (i32.const 2))))
      (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1)))
                          (local.get 0))))
    (local.get 2))
  (func (export "call_indirect") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1)
        (call_indirect (type $t) (local.get 0) (i32.const 0))))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1))
  (func (export "div_trap") (param i32) (result i32)
    (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "unreachable_trap") (param i32) (result i32)
    (drop (call $rec (local.get 0)))
    (unreachable))
  (memory 1)
  (func (export "bulk") (param i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 7) (local.get 0))
    (memory.copy (i32.const 100) (i32.const 0) (local.get 0))
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 16))
    (memory.copy (i32.const 0) (i32.const 1) (i32.const 200))
    (drop (table.grow (ref.null func) (local.get 0)))
    (table.fill (i32.const 0) (ref.null func) (i32.const 1))
    (drop (memory.grow (i32.shr_u (local.get 0) (i32.const 8))))
    (i32.load (i32.const 100)))
  (func (export "oob_static") (param i32) (result i32)
    (drop (call $rec (local.get 0)))
    (i32.load offset=0xfffffffe (i32.const 0)))
)"#;

/// Call export `name` of `wasm` with `arg` in keel with `fuel`: the
/// outcome (result bits or trap text) and the fuel left.
fn keel_fuel(wasm: &[u8], name: &str, arg: i32, fuel: u64) -> (String, u64) {
    let mut config = keel::Config::new();
    config.consume_fuel(true);
    let engine = keel::Engine::new(&config).unwrap();
    let module = keel::Module::new(&engine, wasm).unwrap();
    let mut store = keel::Store::new(&engine, ());
    store.set_fuel(fuel).unwrap();
    let instance = keel::Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_func(&mut store, name).unwrap();
    let ty = f.ty(&store);
    let mut results: Vec<keel::Val> = ty.results().map(keel::Val::default_for).collect();
    let outcome = match f.call(&mut store, &[keel::Val::I32(arg)], &mut results) {
        Ok(()) => format!("{:?}", results.iter().map(keel_bits).collect::<Vec<_>>()),
        Err(e) => match e.downcast_ref::<keel::Trap>() {
            Some(t) => format!("trap {t:?}"),
            None => panic!("keel {name}: {e:?}"),
        },
    };
    (outcome, store.get_fuel().unwrap())
}

fn keel_bits(v: &keel::Val) -> u64 {
    match v {
        keel::Val::I32(x) => *x as u32 as u64,
        keel::Val::I64(x) => *x as u64,
        keel::Val::F32(x) => u64::from(*x),
        keel::Val::F64(x) => *x,
        other => panic!("unexpected result {other:?}"),
    }
}

/// The same in Wasmtime.
fn wasmtime_fuel(wasm: &[u8], name: &str, arg: i32, fuel: u64) -> (String, u64) {
    let mut config = wasmtime::Config::new();
    config.consume_fuel(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    store.set_fuel(fuel).unwrap();
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_func(&mut store, name).unwrap();
    let ty = f.ty(&store);
    let mut results: Vec<wasmtime::Val> = ty
        .results()
        .map(|t| wasmtime::Val::default_for_ty(&t).unwrap())
        .collect();
    let outcome = match f.call(&mut store, &[wasmtime::Val::I32(arg)], &mut results) {
        Ok(()) => format!(
            "{:?}",
            results.iter().map(wasmtime_bits).collect::<Vec<_>>()
        ),
        Err(e) => match e.downcast_ref::<wasmtime::Trap>() {
            // keel's trap codes are named as Wasmtime's `Trap` variants.
            Some(t) => format!("trap {t:?}"),
            None => panic!("wasmtime {name}: {e:?}"),
        },
    };
    (outcome, store.get_fuel().unwrap())
}

fn wasmtime_bits(v: &wasmtime::Val) -> u64 {
    match v {
        wasmtime::Val::I32(x) => *x as u32 as u64,
        wasmtime::Val::I64(x) => *x as u64,
        wasmtime::Val::F32(x) => u64::from(*x),
        wasmtime::Val::F64(x) => *x,
        other => panic!("unexpected result {other:?}"),
    }
}

const FUEL: u64 = 1 << 40;

#[test]
fn workloads_consume_the_same_fuel_as_wasmtime() {
    for w in workloads() {
        let keel = keel_fuel(w.wasm, "run", w.arg as i32, FUEL);
        let wasmtime = wasmtime_fuel(w.wasm, "run", w.arg as i32, FUEL);
        assert_eq!(keel, wasmtime, "{}", w.name);
        let consumed = FUEL - keel.1;
        assert!(consumed > 1000, "{}: consumed only {consumed}", w.name);
        println!("{}: {consumed} fuel in keel and in Wasmtime", w.name);
    }
}

#[test]
fn control_shapes_consume_the_same_fuel_as_wasmtime() {
    let wasm = wat::parse_str(SHAPES).unwrap();
    for (name, arg) in [
        ("loop", 1000),
        ("recursion", 20),
        ("br_table", 1000),
        ("call_indirect", 1000),
        ("div_trap", 100),
        ("unreachable_trap", 10),
        ("bulk", 1000),
        ("oob_static", 10),
    ] {
        let keel = keel_fuel(&wasm, name, arg, FUEL);
        let wasmtime = wasmtime_fuel(&wasm, name, arg, FUEL);
        assert_eq!(keel, wasmtime, "{name}({arg})");
        assert!(FUEL - keel.1 > 0 || name.ends_with("trap"), "{name}");
        println!("{name}({arg}): {:?}, {} fuel", keel.0, FUEL - keel.1);
        // Running out: the same trap and nothing left, at several budgets.
        for fuel in [0, 1, 7, 100, 1000] {
            let keel = keel_fuel(&wasm, name, arg, fuel);
            let wasmtime = wasmtime_fuel(&wasm, name, arg, fuel);
            assert_eq!(keel, wasmtime, "{name}({arg}) with {fuel} fuel");
        }
    }
}
