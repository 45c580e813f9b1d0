//! Errors say what went wrong and are typed: link errors name what
//! mismatched (as Wasmtime's do), refused modules are `keel::WasmError`s,
//! resource failures `keel::VmError`s.

use keel::{Engine, Linker, Module, Store, WasmError};

/// Instantiate `importer` against the exports of `exporter` (registered
/// as module "m") and return the error's full text.
fn link_error(exporter: &str, importer: &str) -> String {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let exporter = Module::new(&engine, exporter).unwrap();
    let instance = linker.instantiate(&mut store, &exporter).unwrap();
    linker.instance(&mut store, "m", instance).unwrap();
    let importer = Module::new(&engine, importer).unwrap();
    let err = linker.instantiate(&mut store, &importer).unwrap_err();
    format!("{err:#}")
}

#[test]
fn link_errors_say_what_mismatched() {
    let e = link_error(
        r#"(module (global (export "g") (mut i32) (i32.const 0)))"#,
        r#"(module (import "m" "g" (global i32)))"#,
    );
    assert!(e.contains("incompatible import type for `m::g`"), "{e}");
    assert!(
        e.contains("expected immutable global, found mutable global"),
        "{e}"
    );

    let e = link_error(
        r#"(module (global (export "g") i64 (i64.const 0)))"#,
        r#"(module (import "m" "g" (global i32)))"#,
    );
    assert!(
        e.contains("expected global of type `i32`, found global of type `i64`"),
        "{e}"
    );

    let e = link_error(
        r#"(module (table (export "t") 0 funcref))"#,
        r#"(module (import "m" "t" (table 1 funcref)))"#,
    );
    assert!(
        e.contains(
            "expected table limits (min: 1, max: none) doesn't match provided table limits (min: 0, max: none)"
        ),
        "{e}"
    );

    let e = link_error(
        r#"(module (memory (export "mem") 1 5))"#,
        r#"(module (import "m" "mem" (memory 1 2)))"#,
    );
    assert!(
        e.contains("expected memory limits (min: 1, max: 2) doesn't match provided memory limits (min: 1, max: 5)"),
        "{e}"
    );

    let e = link_error(
        r#"(module (func (export "f") (param i32)))"#,
        r#"(module (import "m" "f" (func (param i64) (result i32))))"#,
    );
    assert!(e.contains("incompatible import type for `m::f`"), "{e}");
    assert!(e.contains("expected func of type"), "{e}");
    assert!(e.contains("i64") && e.contains("i32"), "{e}");

    // A name that exists with another kind is a type mismatch, not an
    // unknown import.
    let e = link_error(
        r#"(module (func (export "x")))"#,
        r#"(module (import "m" "x" (memory 1)))"#,
    );
    assert!(!e.contains("unknown import"), "{e}");
    assert!(e.contains("expected memory"), "{e}");
    let e = link_error(r#"(module)"#, r#"(module (import "m" "y" (func)))"#);
    assert!(e.contains("unknown import"), "{e}");
}

#[test]
fn refused_modules_are_typed() {
    let engine = Engine::default();
    let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err();
    assert!(matches!(
        err.downcast_ref::<WasmError>(),
        Some(WasmError::InvalidWasm { .. })
    ));
    // GC types are not implemented (the GC proposal is off).
    let err = Module::new(&engine, "(module (type (struct)))").unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<WasmError>(),
            Some(WasmError::Unsupported(_) | WasmError::InvalidWasm { .. })
        ),
        "{err:#}"
    );
    // Past keel's table limit: an implementation-limit error at compile time.
    let mut wat = String::from("(module");
    for _ in 0..=keel::limits::MAX_TABLES {
        wat.push_str(" (table 0 funcref)");
    }
    wat.push(')');
    let err = Module::new(&engine, &wat).unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<WasmError>(),
            Some(WasmError::ImplLimit(_))
        ),
        "{err:#}"
    );
}

#[test]
fn resource_errors_are_vm_errors() {
    let engine = Engine::default();
    let module = Module::new(&engine, "(module (table 10000001 funcref))").unwrap();
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<keel::VmError>(),
            Some(keel::VmError::ImplLimit(_))
        ),
        "{err:#}"
    );
}

/// Table limits at and past the limit: 10 M elements per table and 20 M
/// per instance instantiate (lazily zeroed, so cheap); one element more
/// is an implementation-limit error; `table.grow` past them returns -1.
#[test]
fn table_limits_at_and_past() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let at = Module::new(
        &engine,
        r#"(module (table $a 10000000 funcref) (table $b 10000000 externref)
             (func (export "grow") (param i32) (result i32)
               ref.null func local.get 0 table.grow $a))"#,
    )
    .unwrap();
    let instance = Linker::new(&engine).instantiate(&mut store, &at).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 0).unwrap(), 10_000_000);

    let past = Module::new(
        &engine,
        r#"(module (table 10000000 funcref) (table 10000000 funcref) (table 1 funcref))"#,
    )
    .unwrap();
    let err = Linker::new(&engine)
        .instantiate(&mut store, &past)
        .unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<keel::VmError>(),
            Some(keel::VmError::ImplLimit(_))
        ),
        "{err:#}"
    );
    assert!(err.to_string().contains("exceed keel's limit"), "{err:#}");
}
