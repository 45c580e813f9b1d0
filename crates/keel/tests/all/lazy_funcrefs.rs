//! Lazily built function references (issue 15): an instance leaves its
//! functions' `VMFuncRef`s zeroed at instantiation; each is built when the
//! runtime first hands out its address: `ref.func`, a table slot, a
//! global, an export. These tests check that nothing observable changes: the
//! identity of references, null slots, type checks and calls through
//! references never built before, across instances, in both memory modes.

use super::{engines, trap_code};
use keel::{Engine, Func, Linker, Module, Store, Trap, Val};

const MODULE: &str = r#"(module
    (type $i2i (func (param i32) (result i32)))
    (type $v2i (func (result i32)))
    (table $t (export "table") 8 funcref)
    (elem (table $t) (i32.const 0) func $inc $dbl $seven)
    (global (export "g") funcref (ref.func $dbl))
    (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))
    (func $dbl (type $i2i) (i32.shl (local.get 0) (i32.const 1)))
    (func $seven (type $v2i) (i32.const 7))
    (func (export "ref_inc") (result funcref) (ref.func $inc))
    (func (export "get") (param i32) (result funcref) (table.get $t (local.get 0)))
    (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
    (func (export "call") (param i32 i32) (result i32)
        (call_indirect $t (type $i2i) (local.get 1) (local.get 0)))
    (func (export "call0") (param i32) (result i32)
        (call_indirect $t (type $v2i) (local.get 0)))
    (func (export "copy") (param i32 i32) (table.set $t (local.get 0) (table.get $t (local.get 1)))))"#;

fn call_i32(store: &mut Store<()>, f: &Func, args: &[Val]) -> keel::Result<i32> {
    let mut out = [Val::I32(0)];
    f.call(&mut *store, args, &mut out)?;
    Ok(out[0].unwrap_i32())
}

fn funcref(store: &mut Store<()>, f: &Func, args: &[Val]) -> Option<Func> {
    let mut out = [Val::FuncRef(None)];
    f.call(&mut *store, args, &mut out).unwrap();
    out[0].funcref().unwrap()
}

/// Every way of taking the same function's reference yields the same
/// reference, before and after any of them was used.
#[test]
fn references_keep_their_identity() -> keel::Result<()> {
    for engine in engines() {
        let module = Module::new(&engine, MODULE)?;
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
        let ref_inc = instance.get_func(&mut store, "ref_inc").unwrap();
        let get = instance.get_func(&mut store, "get").unwrap();
        let a = funcref(&mut store, &ref_inc, &[]).unwrap();
        let b = funcref(&mut store, &ref_inc, &[]).unwrap();
        let c = funcref(&mut store, &get, &[Val::I32(0)]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c, "ref.func and the element segment name one reference");
        let table = instance.get_table(&mut store, "table").unwrap();
        let d = table.get(&mut store, 0).unwrap().funcref().unwrap();
        assert_eq!(Some(a), d);
        // $dbl through the global, the table and wasm's table.get.
        let global = instance.get_global(&mut store, "g").unwrap();
        let g = global.get(&mut store).funcref().unwrap().unwrap();
        let t = funcref(&mut store, &get, &[Val::I32(1)]).unwrap();
        assert_eq!(g, t);
        assert_ne!(g, a);
        // The references work when the host calls them.
        assert_eq!(call_i32(&mut store, &a, &[Val::I32(41)])?, 42);
        assert_eq!(call_i32(&mut store, &g, &[Val::I32(21)])?, 42);
    }
    Ok(())
}

/// Slots no segment wrote are null, from wasm and from the host, and
/// calling through one traps with `IndirectCallToNull`.
#[test]
fn never_touched_slots_are_null() -> keel::Result<()> {
    for engine in engines() {
        let module = Module::new(&engine, MODULE)?;
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
        let is_null = instance.get_func(&mut store, "is_null").unwrap();
        let get = instance.get_func(&mut store, "get").unwrap();
        let table = instance.get_table(&mut store, "table").unwrap();
        for slot in 0..8 {
            let null = slot >= 3;
            assert_eq!(
                call_i32(&mut store, &is_null, &[Val::I32(slot)])? == 1,
                null
            );
            assert_eq!(funcref(&mut store, &get, &[Val::I32(slot)]).is_none(), null);
            let host = table.get(&mut store, slot as u64).unwrap();
            assert_eq!(host.funcref().unwrap().is_none(), null);
        }
        let call = instance.get_func(&mut store, "call").unwrap();
        let err = call_i32(&mut store, &call, &[Val::I32(5), Val::I32(1)]).unwrap_err();
        assert_eq!(trap_code(&err), Some(Trap::IndirectCallToNull));
    }
    Ok(())
}

/// `call_indirect` through references nothing built yet: a matching type
/// calls, a mismatch traps with `BadSignature` both before and after the
/// reference is built, in a fresh instance each time.
#[test]
fn call_indirect_builds_and_checks() -> keel::Result<()> {
    for engine in engines() {
        let module = Module::new(&engine, MODULE)?;
        for first_wrong in [false, true] {
            let mut store = Store::new(&engine, ());
            let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
            let call = instance.get_func(&mut store, "call").unwrap();
            let call0 = instance.get_func(&mut store, "call0").unwrap();
            if first_wrong {
                // $inc's reference is unbuilt; a call of the wrong type
                // traps and still builds nothing wrong.
                let err = call_i32(&mut store, &call0, &[Val::I32(0)]).unwrap_err();
                assert_eq!(trap_code(&err), Some(Trap::BadSignature));
            }
            assert_eq!(
                call_i32(&mut store, &call, &[Val::I32(0), Val::I32(9)])?,
                10
            );
            assert_eq!(
                call_i32(&mut store, &call, &[Val::I32(1), Val::I32(9)])?,
                18
            );
            assert_eq!(call_i32(&mut store, &call0, &[Val::I32(2)])?, 7);
            let err = call_i32(&mut store, &call0, &[Val::I32(0)]).unwrap_err();
            assert_eq!(trap_code(&err), Some(Trap::BadSignature));
            let err = call_i32(&mut store, &call, &[Val::I32(2), Val::I32(1)]).unwrap_err();
            assert_eq!(trap_code(&err), Some(Trap::BadSignature));
            // A copy of an unbuilt reference (table.get + table.set) is the
            // same reference and calls the same function.
            let copy = instance.get_func(&mut store, "copy").unwrap();
            copy.call(&mut store, &[Val::I32(6), Val::I32(1)], &mut [])?;
            assert_eq!(
                call_i32(&mut store, &call, &[Val::I32(6), Val::I32(5)])?,
                10
            );
        }
    }
    Ok(())
}

/// A table exported by one instance and used by another: the importer's
/// `call_indirect` builds the exporter's references.
#[test]
fn references_of_another_instance_are_built_on_use() -> keel::Result<()> {
    for engine in engines() {
        let exporter = Module::new(&engine, MODULE)?;
        let importer = Module::new(
            &engine,
            r#"(module
                (type $i2i (func (param i32) (result i32)))
                (type $v2i (func (result i32)))
                (import "m" "table" (table 8 funcref))
                (func (export "call") (param i32 i32) (result i32)
                    (call_indirect (type $i2i) (local.get 1) (local.get 0)))
                (func (export "call0") (param i32) (result i32)
                    (call_indirect (type $v2i) (local.get 0))))"#,
        )?;
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let a = linker.instantiate(&mut store, &exporter)?;
        linker.instance(&mut store, "m", a)?;
        let b = linker.instantiate(&mut store, &importer)?;
        let call = b.get_func(&mut store, "call").unwrap();
        let call0 = b.get_func(&mut store, "call0").unwrap();
        let err = call_i32(&mut store, &call0, &[Val::I32(1)]).unwrap_err();
        assert_eq!(trap_code(&err), Some(Trap::BadSignature));
        assert_eq!(call_i32(&mut store, &call, &[Val::I32(1), Val::I32(4)])?, 8);
        assert_eq!(call_i32(&mut store, &call0, &[Val::I32(2)])?, 7);
        // The exporter sees the same references.
        let own_call = a.get_func(&mut store, "call").unwrap();
        assert_eq!(
            call_i32(&mut store, &own_call, &[Val::I32(0), Val::I32(1)])?,
            2
        );
    }
    Ok(())
}

/// Many instances on several threads, each building its references
/// while calling through them.
#[test]
fn instances_on_threads_build_their_own_references() {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (engine, module) = (&engine, &module);
            s.spawn(move || {
                for i in 0..200 {
                    let mut store = Store::new(engine, ());
                    let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
                    let call = instance.get_func(&mut store, "call").unwrap();
                    let slot = (i + t) % 2;
                    let got = call_i32(&mut store, &call, &[Val::I32(slot), Val::I32(i)]).unwrap();
                    assert_eq!(got, if slot == 0 { i + 1 } else { i * 2 });
                }
            });
        }
    });
}
