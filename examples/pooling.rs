//! Instantiating per request, as a serverless host does: one engine with
//! the pooling allocator, a module whose data segments become a
//! copy-on-write image, and a fresh store and instance for every request.
//!
//! * `InstanceAllocationStrategy::Pooling` keeps memory reservations and
//!   tables between instances, resetting them (`madvise(MADV_DONTNEED)`),
//!   so no request sees another's data and no address space is mapped
//!   per request.
//! * Each request writes into its memory; the next one still sees the
//!   module's initial data.
//! * A full pool is an error that names its limit, not a wait or a crash.
//!
//! Run it with `cargo run --example pooling` (add `KEEL_LOG=debug` to the
//! `keel` CLI, not this example, to see the phases of instantiation).

use std::time::Instant;

use keel::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store,
};

fn main() -> keel::Result<()> {
    // 16 KiB of greeting text as the module's data: an image.
    let text = "hello from the image! ".repeat(745);
    let wat = format!(
        r#"(module
            (memory (export "memory") 1 2)
            (data (i32.const 0) "{text}")
            ;; Count the bytes equal to `c` in the first `n` bytes, then
            ;; scribble over them.
            (func (export "handle") (param $c i32) (param $n i32) (result i32)
              (local $i i32) (local $count i32)
              (block $done (loop $l
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (if (i32.eq (i32.load8_u (local.get $i)) (local.get $c))
                  (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
                (i32.store8 (local.get $i) (i32.const 0x2a))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l)))
              (local.get $count)))"#
    );
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_core_instances(4)
        .total_memories(4)
        .total_tables(4)
        .max_memory_size(2 << 16);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, wat)?;
    let linker = Linker::new(&engine);

    let start = Instant::now();
    let requests = 10_000;
    for request in 0..requests {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module)?;
        let handle = instance.get_typed_func::<(i32, i32), i32>(&mut store, "handle")?;
        let spaces = handle.call(&mut store, (b' ' as i32, text.len() as i32))?;
        // Every request sees the image, not the previous request's `*`s.
        assert_eq!(
            spaces as usize,
            text.matches(' ').count(),
            "request {request}"
        );
    }
    let elapsed = start.elapsed();
    println!(
        "{requests} requests, each a new instance: {:.2} us per request",
        elapsed.as_secs_f64() * 1e6 / requests as f64
    );

    // Five stores alive at once with room for four instances.
    let mut stores = Vec::new();
    for _ in 0..4 {
        let mut store = Store::new(&engine, ());
        linker.instantiate(&mut store, &module)?;
        stores.push(store);
    }
    let mut fifth = Store::new(&engine, ());
    match linker.instantiate(&mut fifth, &module) {
        Ok(_) => unreachable!("the pool holds four instances"),
        Err(e) => println!("a fifth instance while four live: {e:#}"),
    }
    stores.pop();
    linker.instantiate(&mut fifth, &module)?;
    println!("after one store dropped, the fifth instance fits");
    Ok(())
}
