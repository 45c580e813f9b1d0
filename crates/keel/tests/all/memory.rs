//! Linear memories with explicit bounds checks (`signals_based_traps(false)`,
//! the layout for kernels without an MMU): a memory without a declared
//! maximum holds only what it uses and moves when it grows; compiled code
//! must follow it.

use keel::{Config, Engine, Linker, Module, Store, Trap};

fn explicit_engine() -> Engine {
    let mut config = Config::new();
    config.signals_based_traps(false);
    Engine::new(&config).unwrap()
}

/// Grow one page at a time inside a wasm loop, writing to every new page
/// and reading back the first: the memory moves many times under the
/// running function, which must reload its base after each `memory.grow`.
#[test]
fn movable_memory_keeps_contents_across_growth() {
    let engine = explicit_engine();
    let module = Module::new(
        &engine,
        r#"(module
             (memory (export "mem") 1)
             (func (export "run") (param $n i32) (result i32)
               (local $i i32) (local $sum i32)
               i32.const 0 i32.const 0x5eed i32.store
               (loop $l
                 i32.const 1 memory.grow
                 i32.const 65536 i32.mul
                 local.get $i i32.store offset=4
                 ;; the value written before any growth is still there
                 i32.const 0 i32.load
                 local.get $sum i32.add local.set $sum
                 local.get $i i32.const 1 i32.add local.tee $i
                 local.get $n i32.lt_u br_if $l)
               local.get $sum)
             (func (export "oob") (result i32)
               memory.size i32.const 65536 i32.mul i32.load))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 100).unwrap(), 0x5eed * 100);
    let memory = instance.get_memory(&mut store, "mem").unwrap();
    assert_eq!(memory.data_size(&store), 101 * 65536);
    let data = memory.data(&store);
    assert_eq!(&data[0..4], &0x5eed_u32.to_le_bytes());
    for i in 0..100u32 {
        let at = (i as usize + 1) * 65536 + 4;
        assert_eq!(&data[at..at + 4], &i.to_le_bytes(), "page {i}");
    }
    let oob = instance
        .get_typed_func::<(), i32>(&mut store, "oob")
        .unwrap();
    let err = oob.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::MemoryOutOfBounds)
    );
}

/// A host function that grows the memory of the wasm code calling it: the
/// caller sees the moved memory after the call.
#[test]
fn growth_by_the_host_during_a_call() {
    let engine = explicit_engine();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "grow" (func $grow))
             (memory (export "mem") 1)
             (func (export "run") (result i32)
               i32.const 8 i32.const 77 i32.store
               call $grow
               i32.const 8 i32.load
               i32.const 655360 i32.load
               i32.add))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "grow", |mut caller: keel::Caller<'_, ()>| {
            let memory = caller.get_export("mem").unwrap().into_memory().unwrap();
            memory.grow(&mut caller, 20).unwrap();
            memory.data_mut(&mut caller)[655360] = 5;
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 82);
}
