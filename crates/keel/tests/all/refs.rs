//! Reference types through the API: funcref and externref tables,
//! globals and parameters.

use keel::{
    Engine, ExternRef, Func, GlobalType, Linker, Module, Mutability, Ref, Rooted, Store, Table,
    TableType, Val, ValType,
};

#[test]
fn externref_round_trips_and_stays_alive() -> keel::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (table (export "t") 2 externref)
            (func (export "id") (param externref) (result externref) local.get 0)
            (func (export "store") (param externref) i32.const 1 local.get 0 table.set)
            (func (export "is_null") (param externref) (result i32) local.get 0 ref.is_null))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let r = ExternRef::new(&mut store, String::from("host value"))?;
    let id = instance.get_func(&mut store, "id").unwrap();
    let mut out = [Val::ExternRef(None)];
    id.call(&mut store, &[Val::from(r)], &mut out)?;
    let back = out[0].externref().unwrap().unwrap();
    assert!(Rooted::ref_eq(&store, &back, &r)?);
    assert_eq!(
        back.data(&store)?
            .unwrap()
            .downcast_ref::<String>()
            .unwrap(),
        "host value"
    );

    let store_fn = instance.get_func(&mut store, "store").unwrap();
    store_fn.call(&mut store, &[Val::from(r)], &mut [])?;
    let table = instance.get_table(&mut store, "t").unwrap();
    assert!(table.get(&mut store, 0).unwrap().is_null());
    let elem = table
        .get(&mut store, 1)
        .unwrap()
        .externref()
        .unwrap()
        .unwrap();
    assert!(Rooted::ref_eq(&store, &elem, &r)?);
    assert!(table.get(&mut store, 2).is_none());

    let is_null = instance.get_func(&mut store, "is_null").unwrap();
    let mut res = [Val::I32(7)];
    is_null.call(&mut store, &[Val::ExternRef(None)], &mut res)?;
    assert_eq!(res[0].unwrap_i32(), 1);
    // A funcref where an externref is expected is a type error.
    assert!(
        is_null
            .call(&mut store, &[Val::FuncRef(None)], &mut res)
            .is_err()
    );
    Ok(())
}

#[test]
fn host_table_of_funcrefs_called_indirectly() -> keel::Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let table = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 2, Some(4)),
        Ref::Func(None),
    )?;
    let double = Func::wrap(&mut store, |x: i32| x * 2);
    table.set(&mut store, 1, double.into())?;
    assert_eq!(table.grow(&mut store, 2, Ref::Func(None))?, 2);
    assert!(table.grow(&mut store, 1, Ref::Func(None)).is_err());
    let global = keel::Global::new(
        &mut store,
        GlobalType::new(ValType::FuncRef, Mutability::Var),
        double.into(),
    )?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "t" (table 2 funcref))
            (import "env" "g" (global (mut funcref)))
            (type $t (func (param i32) (result i32)))
            (func (export "call") (param i32 i32) (result i32)
              local.get 1 local.get 0 call_indirect (type $t))
            (func (export "size") (result i32) table.size 0)
            (func (export "from_global") (result i32)
              i32.const 0 global.get 0 table.set 0
              i32.const 21 i32.const 0 call_indirect (type $t)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "t", table)?;
    linker.define(&store, "env", "g", global)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let call = instance.get_typed_func::<(i32, i32), i32>(&mut store, "call")?;
    assert_eq!(call.call(&mut store, (1, 5))?, 10);
    let err = call.call(&mut store, (0, 5)).unwrap_err();
    assert_eq!(
        err.downcast_ref::<keel::Trap>().copied().unwrap(),
        keel::Trap::IndirectCallToNull
    );
    let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
    assert_eq!(size.call(&mut store, ())?, 4);
    let from_global = instance.get_typed_func::<(), i32>(&mut store, "from_global")?;
    assert_eq!(from_global.call(&mut store, ())?, 42);
    Ok(())
}

/// A failed instantiation keeps what it already wrote (the spec applies
/// element segments in order, each checked before it writes): the first
/// segment's function stays in the imported table, callable after the
/// failed module is dropped, and the out-of-bounds segment changes
/// nothing, not even the exporter's pending (lazily initialized) slots;
/// in both memory modes and from an artifact, for index and expression
/// segments.
#[test]
fn a_failed_instantiation_leaves_its_earlier_segments_callable() -> keel::Result<()> {
    // Slot 2 starts as $seven, from the exporter's own segment (a lazy
    // table image: pending until first read).
    const TABLE: &str = r#"
      (module
        (table (export "tab") 3 funcref)
        (type $v (func (result i32)))
        (func $seven (result i32) (i32.const 7))
        (elem (i32.const 2) $seven)
        (func (export "call") (param i32) (result i32)
          (call_indirect (type $v) (local.get 0))))"#;
    const FAILING: [&str; 2] = [
        r#"(module
             (import "t" "tab" (table 3 funcref))
             (func $f (result i32) (i32.const 42))
             (elem (i32.const 0) $f)
             (elem (i32.const 2) $f $f))"#,
        r#"(module
             (import "t" "tab" (table 3 funcref))
             (func $f (result i32) (i32.const 43))
             (elem (table 0) (i32.const 0) funcref (ref.func $f))
             (elem (table 0) (i32.const 2) funcref (ref.func $f) (ref.null func)))"#,
    ];
    for signals in [true, false] {
        for through_artifact in [false, true] {
            for (i, failing) in FAILING.iter().enumerate() {
                let mut config = keel::Config::new();
                config.signals_based_traps(signals);
                let engine = keel::Engine::new(&config)?;
                let mut store = Store::new(&engine, ());
                let table_module = keel::Module::new(&engine, TABLE)?;
                let table_instance = keel::Instance::new(&mut store, &table_module, &[])?;
                let tab = table_instance
                    .get_export(&mut store, "tab")
                    .expect("the table export");
                let mut module = keel::Module::new(&engine, failing)?;
                if through_artifact {
                    let bytes = module.serialize()?;
                    // SAFETY: the bytes were just written by this engine.
                    module = unsafe { keel::Module::deserialize(&engine, &bytes)? };
                }
                let err = keel::Instance::new(&mut store, &module, &[tab]).unwrap_err();
                assert!(format!("{err:#}").contains("out of bounds"), "{err:?}");
                drop(module);
                let call = table_instance.get_typed_func::<i32, i32>(&mut store, "call")?;
                assert_eq!(call.call(&mut store, 0)?, 42 + i as i32);
                // The failed segment wrote nothing: slot 2 is still the
                // exporter's, slot 1 still null.
                assert_eq!(call.call(&mut store, 2)?, 7);
                let err = call.call(&mut store, 1).unwrap_err();
                assert!(
                    format!("{err:#}").contains("uninitialized element"),
                    "{err:?}"
                );
            }
        }
    }
    Ok(())
}
