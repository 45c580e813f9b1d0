//! The `spectest` host module that the spec testsuite imports from.
//!
//! Its contents are fixed by the reference interpreter's test harness
//! (`interpreter/host/spectest.ml` in the WebAssembly spec repository): a few
//! printing functions, which here do nothing, four immutable globals holding
//! 666, a funcref table (and its 64-bit twin `table64`, for the memory64
//! scripts), a linear memory and, with threads, a shared memory.

use anyhow::Result;
use keel::{
    Global, GlobalType, Linker, Memory, MemoryType, Mutability, SharedMemory, Store, Table,
    TableType, Val, ValType,
};

/// The module name the testsuite imports these items from.
pub(crate) const MODULE: &str = "spectest";

/// Defines every `spectest` item in `linker`, creating the globals, table
/// and memory in `store`.
///
/// # Errors
///
/// Fails if keel refuses to create one of the items.
pub(crate) fn define(store: &mut Store<()>, linker: &mut Linker<()>) -> Result<()> {
    linker.func_wrap(MODULE, "print", || {})?;
    linker.func_wrap(MODULE, "print_i32", |_: i32| {})?;
    linker.func_wrap(MODULE, "print_i64", |_: i64| {})?;
    linker.func_wrap(MODULE, "print_f32", |_: f32| {})?;
    linker.func_wrap(MODULE, "print_f64", |_: f64| {})?;
    linker.func_wrap(MODULE, "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap(MODULE, "print_f64_f64", |_: f64, _: f64| {})?;

    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6_f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6_f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), value)?;
        linker.define(&mut *store, MODULE, name, global)?;
    }

    let table = Table::new(
        &mut *store,
        TableType::new(ValType::FuncRef, 10, Some(20)),
        keel::Ref::Func(None),
    )?;
    linker.define(&mut *store, MODULE, "table", table)?;

    // The same with 64-bit indices (memory64), when the engine has it.
    if let Ok(table64) = Table::new(
        &mut *store,
        TableType::new64(ValType::FuncRef, 10, Some(20)),
        keel::Ref::Func(None),
    ) {
        linker.define(&mut *store, MODULE, "table64", table64)?;
    }

    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&mut *store, MODULE, "memory", memory)?;

    // The threads proposal's shared memory, when the engine has threads on.
    let engine = store.engine().clone();
    if let Ok(shared) = SharedMemory::new(&engine, MemoryType::shared(1, 2)) {
        linker.define(&mut *store, MODULE, "shared_memory", shared)?;
    }
    Ok(())
}
