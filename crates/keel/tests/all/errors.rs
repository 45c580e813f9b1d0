//! Errors say what went wrong and are typed: link errors name what
//! mismatched (as Wasmtime's do), refused modules are `keel::WasmError`s,
//! resource failures `keel::VmError`s.

use keel::{
    Engine, Extern, ExternType, Instance, LinkError, Linker, Memory, MemoryType, Module, Store,
    WasmError,
};

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
    // Wasmtime's words (they used to be "expected func of type").
    assert!(
        e.contains(
            "types incompatible: expected type `(func (param i64) (result i32))`, found type `(func (param i32))`"
        ),
        "{e}"
    );

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
    // GC types with the GC proposal off.
    let mut no_gc = keel::Config::new();
    no_gc.wasm_gc(false);
    let no_gc = Engine::new(&no_gc).unwrap();
    let err = Module::new(&no_gc, "(module (type (struct)))").unwrap_err();
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

/// The `LinkError` of instantiating `importer` against `exporter`'s
/// exports (module "m"), found with `downcast_ref`, with the error's text.
fn link_error_of(exporter: &str, importer: &str) -> (LinkError, String) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let exporter = Module::new(&engine, exporter).unwrap();
    let instance = linker.instantiate(&mut store, &exporter).unwrap();
    linker.instance(&mut store, "m", instance).unwrap();
    let importer = Module::new(&engine, importer).unwrap();
    let err = linker.instantiate(&mut store, &importer).unwrap_err();
    let link = err
        .downcast_ref::<LinkError>()
        .unwrap_or_else(|| panic!("not a LinkError: {err:#}"))
        .clone();
    (link, format!("{err:#}"))
}

#[test]
fn each_link_error_variant_is_matched_through_downcast_ref() {
    use keel::ValType;

    let (e, text) = link_error_of("(module)", r#"(module (import "m" "y" (func)))"#);
    assert!(
        matches!(&e, LinkError::UnknownImport { module, name } if module == "m" && name == "y"),
        "{e:?}"
    );
    assert_eq!(text, "unknown import: `m::y` has not been defined");

    let (e, text) = link_error_of(
        r#"(module (func (export "x")))"#,
        r#"(module (import "m" "x" (memory 1)))"#,
    );
    assert!(
        matches!(
            &e,
            LinkError::WrongKind {
                expected: ExternType::Memory(_),
                found: ExternType::Func(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        text,
        "incompatible import type for `m::x`: expected memory, but found func"
    );
    assert_eq!(e.import(), Some(("m", "x")));

    let (e, _) = link_error_of(
        r#"(module (func (export "f") (param i32)))"#,
        r#"(module (import "m" "f" (func)))"#,
    );
    match &e {
        LinkError::FuncType {
            expected, found, ..
        } => {
            assert_eq!(expected.params().count(), 0);
            assert_eq!(found.params().collect::<Vec<_>>(), [ValType::I32]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "types incompatible: expected type `(func)`, found type `(func (param i32))`"
    );

    let (e, _) = link_error_of(
        r#"(module (tag (export "t") (param i32)))"#,
        r#"(module (import "m" "t" (tag (param i64))))"#,
    );
    assert!(matches!(e, LinkError::TagType { .. }), "{e:?}");
    assert!(e.to_string().starts_with("incompatible tag types"), "{e}");

    let (e, _) = link_error_of(
        r#"(module (global (export "g") i64 (i64.const 0)))"#,
        r#"(module (import "m" "g" (global i32)))"#,
    );
    assert!(matches!(e, LinkError::GlobalType { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "global types incompatible: expected global of type `i32`, found global of type `i64`"
    );

    let (e, _) = link_error_of(
        r#"(module (global (export "g") (mut i32) (i32.const 0)))"#,
        r#"(module (import "m" "g" (global i32)))"#,
    );
    assert!(matches!(e, LinkError::GlobalMutability { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "global types incompatible: expected immutable global, found mutable global"
    );

    let (e, _) = link_error_of(
        r#"(module (table (export "t") 1 externref))"#,
        r#"(module (import "m" "t" (table 1 funcref)))"#,
    );
    assert!(matches!(e, LinkError::TableType { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "table types incompatible: expected table of type `funcref`, found table of type `externref`"
    );

    let (e, _) = link_error_of(
        r#"(module (table (export "t") 0 funcref))"#,
        r#"(module (import "m" "t" (table 1 funcref)))"#,
    );
    match &e {
        LinkError::TableLimits {
            expected, found, ..
        } => {
            assert_eq!((expected.minimum(), found.minimum()), (1, 0));
        }
        other => panic!("{other:?}"),
    }

    let (e, _) = link_error_of(
        r#"(module (memory (export "mem") 1 1 shared))"#,
        r#"(module (import "m" "mem" (memory 1 1)))"#,
    );
    assert!(matches!(e, LinkError::MemoryType { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "memory types incompatible: expected non-shared memory, found shared memory"
    );

    let (e, _) = link_error_of(
        r#"(module (memory (export "mem") 1 5))"#,
        r#"(module (import "m" "mem" (memory 1 2)))"#,
    );
    match &e {
        LinkError::MemoryLimits {
            expected, found, ..
        } => {
            assert_eq!((expected.maximum(), found.maximum()), (Some(2), Some(5)));
        }
        other => panic!("{other:?}"),
    }

    // Instance::new with too few imports.
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, r#"(module (import "m" "mem" (memory 1)))"#).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        err.downcast_ref::<LinkError>(),
        Some(&LinkError::ImportCount {
            expected: 1,
            given: 0
        })
    );
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    Instance::new(&mut store, &module, &[Extern::Memory(memory)]).unwrap();
}
