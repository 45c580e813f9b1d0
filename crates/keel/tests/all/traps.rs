//! Traps come back as errors holding a `Trap` with its code.

use keel::{Engine, Linker, Module, Store, Trap, TrapCode};

fn trap_of(wat: &str, export: &str) -> TrapCode {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let f = instance.get_func(&mut store, export).unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    err.downcast_ref::<Trap>().expect("a trap").code()
}

#[test]
fn each_trap_code() {
    assert_eq!(
        trap_of(r#"(module (func (export "f") unreachable))"#, "f"),
        TrapCode::UnreachableCodeReached
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") i32.const 1 i32.const 0 i32.div_s drop))"#,
            "f"
        ),
        TrapCode::IntegerDivisionByZero
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") i32.const 0x80000000 i32.const -1 i32.div_s drop))"#,
            "f"
        ),
        TrapCode::IntegerOverflow
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") f32.const nan i32.trunc_f32_s drop))"#,
            "f"
        ),
        TrapCode::BadConversionToInteger
    );
    assert_eq!(
        trap_of(
            r#"(module (memory 1) (func (export "f") i32.const 65535 i32.load drop))"#,
            "f"
        ),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap_of(
            r#"(module (table 1 funcref) (func (export "f") i32.const 5 call_indirect))"#,
            "f"
        ),
        TrapCode::TableOutOfBounds
    );
    assert_eq!(
        trap_of(
            r#"(module (table 1 funcref) (func (export "f") i32.const 0 call_indirect))"#,
            "f"
        ),
        TrapCode::IndirectCallToNull
    );
    assert_eq!(
        trap_of(
            r#"(module (table 1 funcref) (elem (i32.const 0) $g) (func $g (param i32))
                (func (export "f") i32.const 0 call_indirect))"#,
            "f"
        ),
        TrapCode::BadSignature
    );
    assert_eq!(
        trap_of(r#"(module (func $f (export "f") call $f))"#, "f"),
        TrapCode::StackOverflow
    );
}

#[test]
fn host_error_passes_through_wasm() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "fail" (func $fail)) (func (export "f") call $fail))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("h", "fail", || -> keel::Result<()> {
            Err(anyhow::anyhow!("boom"))
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(err.to_string(), "boom");
    // The store is still usable after a trap.
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(err.to_string(), "boom");
}
