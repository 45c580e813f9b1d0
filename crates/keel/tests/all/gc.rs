//! The GC proposal: declared subtyping, struct and array types, the
//! collector.

use keel::{Engine, Instance, Module, Store, Trap};

/// `call_indirect` to a non-final type accepts functions of its declared
/// subtypes (and traps on a type that only has the same structure), in
/// both memory modes.
#[test]
fn call_indirect_accepts_declared_subtypes() {
    let wat = r#"
        (module
          (type $a (sub (func (result i32))))
          (type $b (sub $a (func (result i32))))
          ;; The same structure as $a, but another recursion group: another type.
          (rec (type $c (sub (func (result i32)))) (type (struct)))
          (type $d (func (result i32)))
          (func $f (type $b) i32.const 7)
          (func $g (type $a) i32.const 8)
          (table 2 funcref)
          (elem (i32.const 0) $f $g)
          (func (export "as_a") (param i32) (result i32)
            (call_indirect (type $a) (local.get 0)))
          (func (export "as_b") (param i32) (result i32)
            (call_indirect (type $b) (local.get 0)))
          (func (export "as_c") (param i32) (result i32)
            (call_indirect (type $c) (local.get 0)))
          (func (export "as_d") (param i32) (result i32)
            (call_indirect (type $d) (local.get 0))))
    "#;
    for engine in crate::engines() {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let call = |store: &mut Store<()>, name: &str, i: i32| {
            instance
                .get_typed_func::<i32, i32>(&mut *store, name)
                .unwrap()
                .call(&mut *store, i)
        };
        assert_eq!(call(&mut store, "as_a", 0).unwrap(), 7, "$b <: $a");
        assert_eq!(call(&mut store, "as_a", 1).unwrap(), 8);
        assert_eq!(call(&mut store, "as_b", 0).unwrap(), 7);
        for (name, i) in [("as_b", 1), ("as_c", 0), ("as_c", 1), ("as_d", 0)] {
            let err = call(&mut store, name, i).unwrap_err();
            assert_eq!(
                crate::trap_code(&err),
                Some(Trap::BadSignature),
                "{name}({i}): {err:#}"
            );
        }
    }
}

/// A function import of a non-final type accepts a function of a
/// declared subtype, from another module; a final type with the same
/// structure does not.
#[test]
fn function_imports_match_declared_subtypes() {
    let engine = Engine::default();
    let exporter = Module::new(
        &engine,
        r#"(module
             (type $a (sub (func (result i32))))
             (type $b (sub $a (func (result i32))))
             (func (export "f") (type $b) i32.const 5))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let exports = Instance::new(&mut store, &exporter, &[]).unwrap();
    let f = exports.get_func(&mut store, "f").unwrap();
    let importer = Module::new(
        &engine,
        r#"(module
             (type $a (sub (func (result i32))))
             (import "m" "f" (func $f (type $a)))
             (func (export "g") (result i32) call $f))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &importer, &[f.into()]).unwrap();
    let g = instance.get_typed_func::<(), i32>(&mut store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 5);

    let final_type = Module::new(
        &engine,
        r#"(module
             (type $a (func (result i32)))
             (import "m" "f" (func (type $a))))"#,
    )
    .unwrap();
    let err = Instance::new(&mut store, &final_type, &[f.into()]).unwrap_err();
    assert!(err.downcast_ref::<keel::LinkError>().is_some(), "{err:#}");
}

/// Modules with recursive struct types and declared subtypes compile and
/// survive an artifact round trip.
#[test]
fn struct_types_compile_with_gc_on() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (rec (type $list (sub (struct (field i32) (field (ref null $list))))))
             (type $pair (sub final $list (struct (field i32) (field (ref null $list)) (field i64))))
             (func (export "f") (param (ref null $pair)) (result i32) i32.const 1))"#,
    )
    .unwrap();
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were serialized by this engine just above.
    let back = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    assert_eq!(back.exports().count(), 1);
}
