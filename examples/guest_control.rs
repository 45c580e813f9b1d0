//! Bounding an untrusted guest: fuel, an epoch deadline driven by a timer
//! thread, and a memory budget.
//!
//! * Fuel stops a guest after a deterministic amount of work (the same
//!   count on every run and in Wasmtime).
//! * Epochs stop it after wall-clock time: a thread ticks the engine's
//!   epoch, the store sets a deadline in ticks, and a callback decides
//!   whether the guest gets more time.
//! * `StoreLimits` caps how large its memories and tables grow.
//!
//! Run it with `cargo run --example guest_control`.

use std::time::Duration;

use keel::{
    Config, Engine, Instance, Module, Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline,
};

const GUEST: &str = r#"
(module
  (memory (export "memory") 1)
  ;; Loops forever.
  (func (export "spin") (loop $forever (br $forever)))
  ;; Grows memory by `pages`; -1 when refused.
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages))))
"#;

/// The host state: the guest's limits and how often it asked for more time.
struct Host {
    limits: StoreLimits,
    extensions: u32,
}

fn main() -> keel::Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true).epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;

    let host = Host {
        // One page more than the guest starts with.
        limits: StoreLimitsBuilder::new().memory_size(2 * 65536).build(),
        extensions: 0,
    };
    let mut store = Store::new(&engine, host);
    store.limiter(|host| &mut host.limits);
    store.set_fuel(u64::MAX)?;
    store.set_epoch_deadline(u64::MAX);
    let instance = Instance::new(&mut store, &module, &[])?;
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;

    // 1. Fuel: 1 million units, then a trap.
    store.set_fuel(1_000_000)?;
    let err = spin.call(&mut store, ()).unwrap_err();
    println!(
        "spin with 1000000 fuel: {} (fuel left: {})",
        err.downcast_ref::<Trap>()
            .map_or("?".into(), |t| t.to_string()),
        store.get_fuel()?
    );
    store.set_fuel(u64::MAX)?;

    // 2. Epochs: a 10 ms timer; the guest may run 5 ticks, twice extended.
    let ticker_engine = engine.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(10));
            ticker_engine.increment_epoch();
        }
    });
    store.set_epoch_deadline(5);
    store.epoch_deadline_callback(|mut ctx| {
        if ctx.data().extensions < 2 {
            ctx.data_mut().extensions += 1;
            Ok(UpdateDeadline::Continue(5))
        } else {
            keel::bail!("the guest used its time and two extensions")
        }
    });
    let start = std::time::Instant::now();
    let err = spin.call(&mut store, ()).unwrap_err();
    println!(
        "spin with a deadline of 5 ticks of 10 ms, extended twice: stopped after {:?}: {}",
        start.elapsed(),
        err.root_cause()
    );
    // No more deadlines for the rest.
    store.epoch_deadline_trap();
    store.set_epoch_deadline(u64::MAX);

    // 3. Memory: the second extra page is over budget.
    println!("grow(1) = {}", grow.call(&mut store, 1)?);
    println!("grow(1) over the budget = {}", grow.call(&mut store, 1)?);
    Ok(())
}
