//! Guest control: fuel, epoch interruption and resource limits.

use keel::{
    Config, Engine, Instance, Linker, Memory, MemoryType, ResourceLimiter, Store, StoreLimits,
    StoreLimitsBuilder, Table, TableType, Trap, UpdateDeadline, Val, ValType,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Four shapes that never end by themselves: a loop, a recursion with no
/// loop (2^64 calls at a depth of 64), a `br_table` loop and a
/// `call_indirect` loop.
const SHAPES_WAT: &str = r#"
(module
  (type $v (func))
  (table 1 funcref)
  (elem (i32.const 0) $nothing)
  (func $nothing)
  (func (export "loop") (loop $l (br $l)))
  (func $down (param i32)
    (if (local.get 0)
      (then
        (call $down (i32.sub (local.get 0) (i32.const 1)))
        (call $down (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "recursion") (call $down (i32.const 64)))
  (func (export "br_table") (loop $l (br_table $l $l (i32.const 1))))
  (func (export "call_indirect")
    (loop $l (call_indirect (type $v) (i32.const 0)) (br $l)))
  ;; Throws and catches forever (exception handling).
  (tag $e)
  (func $thrower (throw $e))
  (func (export "throw")
    (loop $l (block $h (try_table (catch $e $h) (call $thrower))) (br $l)))
)
"#;

const SHAPES: [&str; 5] = ["loop", "recursion", "br_table", "call_indirect", "throw"];

fn engine(signals: bool, fuel: bool, epochs: bool) -> Engine {
    let mut config = Config::new();
    config
        .signals_based_traps(signals)
        .consume_fuel(fuel)
        .epoch_interruption(epochs);
    Engine::new(&config).unwrap()
}

fn trap_code(err: &keel::Error) -> Option<Trap> {
    err.downcast_ref::<Trap>().copied()
}

fn instantiate<T>(store: &mut Store<T>, wat: &str) -> Instance {
    let module = keel::Module::new(store.engine(), wat).unwrap();
    Instance::new(&mut *store, &module, &[]).unwrap()
}

fn call0<T>(store: &mut Store<T>, instance: Instance, name: &str) -> keel::Result<()> {
    let f = instance
        .get_typed_func::<(), ()>(&mut *store, name)
        .unwrap();
    f.call(&mut *store, ())
}

/// Increments `engine`'s epoch every millisecond until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (engine.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                e.increment_epoch();
            }
        });
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

#[test]
fn fuel_stops_every_infinite_shape_in_both_modes() {
    for signals in [true, false] {
        let engine = engine(signals, true, false);
        for shape in SHAPES {
            let mut store = Store::new(&engine, ());
            let instance = instantiate(&mut store, SHAPES_WAT);
            store.set_fuel(10_000).unwrap();
            let err = call0(&mut store, instance, shape).unwrap_err();
            assert_eq!(
                trap_code(&err),
                Some(Trap::OutOfFuel),
                "{shape}, signals {signals}: {err:?}"
            );
            assert!(
                format!("{err:#}").contains("all fuel consumed by WebAssembly"),
                "{err}"
            );
            assert_eq!(store.get_fuel().unwrap(), 0, "{shape}");
            // Refuelled, the store runs wasm again.
            store.set_fuel(100).unwrap();
            let err = call0(&mut store, instance, shape).unwrap_err();
            assert_eq!(trap_code(&err), Some(Trap::OutOfFuel));
        }
    }
}

#[test]
fn epoch_deadline_stops_every_infinite_shape_in_both_modes() {
    for signals in [true, false] {
        let engine = engine(signals, false, true);
        let _ticker = Ticker::start(&engine);
        for shape in SHAPES {
            let mut store = Store::new(&engine, ());
            let instance = instantiate(&mut store, SHAPES_WAT);
            store.set_epoch_deadline(5);
            let err = call0(&mut store, instance, shape).unwrap_err();
            assert_eq!(
                trap_code(&err),
                Some(Trap::Interrupt),
                "{shape}, signals {signals}: {err:?}"
            );
            assert!(format!("{err:#}").contains("interrupt"), "{err}");
        }
    }
}

#[test]
fn the_default_epoch_deadline_interrupts_at_once() {
    // As Wasmtime: a store's deadline starts at the current epoch 0.
    let engine = engine(true, false, true);
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, SHAPES_WAT);
    let err = call0(&mut store, instance, "loop").unwrap_err();
    assert_eq!(trap_code(&err), Some(Trap::Interrupt));
}

#[test]
fn epoch_deadline_callback_continues_three_times_then_traps() {
    let engine = engine(true, false, true);
    let _ticker = Ticker::start(&engine);
    let mut store = Store::new(&engine, 0u32);
    let instance = instantiate(&mut store, SHAPES_WAT);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        if *ctx.data() < 3 {
            *ctx.data_mut() += 1;
            Ok(UpdateDeadline::Continue(2))
        } else {
            anyhow::bail!("guest used its three extensions")
        }
    });
    let f = instance
        .get_typed_func::<(), ()>(&mut store, "loop")
        .unwrap();
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(*store.data(), 3);
    assert!(
        format!("{err:#}").contains("guest used its three extensions"),
        "{err:?}"
    );
    // The error carries the wasm backtrace of where the guest stood.
    assert!(
        err.downcast_ref::<keel::WasmBacktrace>().is_some(),
        "{err:?}"
    );

    // Back to trapping.
    store.epoch_deadline_trap();
    store.set_epoch_deadline(1);
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_code(&err), Some(Trap::Interrupt));
}

#[test]
fn increment_epoch_from_a_second_thread_stops_a_guest() {
    let engine = engine(true, false, true);
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, SHAPES_WAT);
    store.set_epoch_deadline(1);
    let e = engine.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        e.increment_epoch();
    });
    let start = std::time::Instant::now();
    let err = call0(&mut store, instance, "loop").unwrap_err();
    assert_eq!(trap_code(&err), Some(Trap::Interrupt));
    assert!(start.elapsed() >= Duration::from_millis(40));
    stopper.join().unwrap();
}

#[test]
fn a_guest_on_each_of_two_threads_is_stopped_by_the_shared_epoch() {
    let engine = engine(false, false, true);
    let module = keel::Module::new(&engine, SHAPES_WAT).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                store.set_epoch_deadline(3);
                let err = call0(&mut store, instance, "call_indirect").unwrap_err();
                trap_code(&err)
            })
        })
        .collect();
    let _ticker = Ticker::start(&engine);
    for t in threads {
        assert_eq!(t.join().unwrap(), Some(Trap::Interrupt));
    }
}

/// A function whose fuel use is easy to count by hand: `n` iterations of
/// five operators (local.get, i32.const, i32.sub, local.tee, br_if; the
/// `loop` and `end`s are free), plus a call and its argument, plus 1 for
/// each function entered.
const COUNTED_WAT: &str = r#"
(module
  (func $count (param i32)
    (loop $l
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "run") (param i32)
    (call $count (local.get 0)))
  (func (export "three") (result i32)
    (i32.add (i32.const 1) (i32.const 2)))
)
"#;

fn fuel_used(engine: &Engine, name: &str, arg: Option<i32>) -> u64 {
    let mut store = Store::new(engine, ());
    let instance = instantiate(&mut store, COUNTED_WAT);
    store.set_fuel(1_000_000).unwrap();
    let f = instance.get_func(&mut store, name).unwrap();
    let params: Vec<Val> = arg.into_iter().map(Val::I32).collect();
    let mut results = vec![Val::I32(0); f.ty(&store).results().len()];
    f.call(&mut store, &params, &mut results).unwrap();
    1_000_000 - store.get_fuel().unwrap()
}

#[test]
fn fuel_follows_the_cost_model() {
    let engine = engine(true, true, false);
    // 1 for the call, then i32.const, i32.const, i32.add; `end` is free.
    assert_eq!(fuel_used(&engine, "three", None), 4);
    // 1 + local.get + call, then 1 + 5 per iteration.
    for n in [1, 10, 1000] {
        assert_eq!(fuel_used(&engine, "run", Some(n)), 4 + 5 * n as u64);
    }
}

#[test]
fn fuel_figures_are_identical_across_runs_and_memory_modes() {
    const WORK: &str = r#"
    (module
      (type $t (func (param i32) (result i32)))
      (memory 1)
      (table 2 funcref)
      (elem (i32.const 0) $sq $inc)
      (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
      (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func $fib (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
          (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
      (func (export "run") (param i32) (result i32) (local i32 i32)
        (loop $l
          (block $b2 (block $b1 (block $b0
            (br_table $b0 $b1 $b2 (i32.rem_u (local.get 1) (i32.const 3))))
            (local.set 2 (i32.add (local.get 2)
              (call_indirect (type $t) (local.get 1) (i32.const 0))))
            (br $b2))
            (i32.store (i32.const 16) (local.get 1))
            (local.set 2 (i32.add (local.get 2) (i32.load (i32.const 16)))))
          (local.set 2 (i32.add (local.get 2) (call $fib (i32.const 10))))
          (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1)))
                              (local.get 0))))
        (local.get 2))
    )"#;
    let mut figures = Vec::new();
    for signals in [true, false] {
        let engine = engine(signals, true, false);
        let module = keel::Module::new(&engine, WORK).unwrap();
        for _ in 0..5 {
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            store.set_fuel(u64::MAX).unwrap();
            let run = instance
                .get_typed_func::<i32, i32>(&mut store, "run")
                .unwrap();
            let result = run.call(&mut store, 100).unwrap();
            figures.push((result, u64::MAX - store.get_fuel().unwrap()));
        }
    }
    assert!(figures[0].1 > 10_000, "{figures:?}");
    assert!(figures.iter().all(|f| *f == figures[0]), "{figures:?}");
}

#[test]
fn fuel_is_an_error_when_not_configured() {
    let engine = engine(true, false, false);
    let mut store = Store::new(&engine, ());
    let err = store.set_fuel(1).unwrap_err();
    assert!(
        format!("{err:#}").contains("fuel is not configured"),
        "{err}"
    );
    assert!(store.get_fuel().is_err());
}

#[test]
fn fuel_above_i64_max_is_kept_in_full() {
    let engine = engine(true, true, false);
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX).unwrap();
    assert_eq!(store.get_fuel().unwrap(), u64::MAX);
    let instance = instantiate(&mut store, COUNTED_WAT);
    let three = instance
        .get_typed_func::<(), i32>(&mut store, "three")
        .unwrap();
    assert_eq!(three.call(&mut store, ()).unwrap(), 3);
    assert_eq!(store.get_fuel().unwrap(), u64::MAX - 4);
}

#[test]
fn zero_fuel_traps_at_function_entry() {
    let engine = engine(true, true, false);
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, COUNTED_WAT);
    let three = instance
        .get_typed_func::<(), i32>(&mut store, "three")
        .unwrap();
    let err = three.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_code(&err), Some(Trap::OutOfFuel));
}

#[test]
fn host_functions_read_and_set_fuel_through_the_caller() {
    let engine = engine(true, true, false);
    let mut store = Store::new(&engine, Vec::<u64>::new());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "refuel",
            |mut caller: keel::Caller<'_, Vec<u64>>| {
                let left = caller.get_fuel().unwrap();
                caller.data_mut().push(left);
                caller.set_fuel(50).unwrap();
            },
        )
        .unwrap();
    let module = keel::Module::new(
        &engine,
        r#"(module
          (import "host" "refuel" (func $refuel))
          (func (export "run") (param i32)
            (loop $l
              (call $refuel)
              (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    store.set_fuel(100).unwrap();
    let run = instance
        .get_typed_func::<i32, ()>(&mut store, "run")
        .unwrap();
    // Each iteration costs call + 5 = 6 and is refuelled to 50.
    run.call(&mut store, 20).unwrap();
    let seen = store.data();
    assert_eq!(seen.len(), 20);
    // Entering `run` costs 1 and the call 1.
    assert_eq!(seen[0], 100 - 2);
    assert!(seen[1..].iter().all(|&f| f == 50 - 6), "{seen:?}");
}

// ---- Resource limits ----

struct Limited {
    limits: StoreLimits,
}

fn limited_store(engine: &Engine, limits: StoreLimits) -> Store<Limited> {
    let mut store = Store::new(engine, Limited { limits });
    store.limiter(|s| &mut s.limits);
    store
}

const GROW_WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32)
    (table.grow (ref.null func) (local.get 0)))
)
"#;

#[test]
fn store_limits_refuse_memory_growth_at_and_past_the_limit() {
    for signals in [true, false] {
        let engine = engine(signals, false, false);
        let limits = StoreLimitsBuilder::new().memory_size(3 << 16).build();
        let mut store = limited_store(&engine, limits);
        let instance = instantiate(&mut store, GROW_WAT);
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow_memory")
            .unwrap();
        // 1 -> 3 pages: exactly at the limit.
        assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
        // 3 -> 4 pages: past it.
        assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
        assert_eq!(grow.call(&mut store, 0).unwrap(), 3);
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(memory.size(&store), 3);
        let err = memory.grow(&mut store, 1).unwrap_err();
        assert!(
            format!("{err:#}").contains("failed to grow memory"),
            "{err}"
        );
    }
}

#[test]
fn store_limits_refuse_table_growth_at_and_past_the_limit() {
    let engine = engine(true, false, false);
    let limits = StoreLimitsBuilder::new().table_elements(10).build();
    let mut store = limited_store(&engine, limits);
    let instance = instantiate(&mut store, GROW_WAT);
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow_table")
        .unwrap();
    assert_eq!(grow.call(&mut store, 9).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    // A huge request is refused without allocating.
    assert_eq!(grow.call(&mut store, i32::MAX).unwrap(), -1);
    let table = instance.get_table(&mut store, "table").unwrap();
    assert_eq!(table.size(&store), 10);
    assert!(table.grow(&mut store, 1, keel::Ref::Func(None)).is_err());
}

#[test]
fn trap_on_grow_failure_turns_refusals_into_traps() {
    let engine = engine(true, false, false);
    let limits = StoreLimitsBuilder::new()
        .memory_size(2 << 16)
        .table_elements(5)
        .trap_on_grow_failure(true)
        .build();
    let mut store = limited_store(&engine, limits);
    let instance = instantiate(&mut store, GROW_WAT);
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow_memory")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    let err = grow.call(&mut store, 1).unwrap_err();
    assert!(
        format!("{err:#}").contains("forcing trap when growing memory to 196608 bytes"),
        "{err:?}"
    );
    assert!(err.downcast_ref::<keel::WasmBacktrace>().is_some());
    let grow_table = instance
        .get_typed_func::<i32, i32>(&mut store, "grow_table")
        .unwrap();
    let err = grow_table.call(&mut store, 5).unwrap_err();
    assert!(
        format!("{err:#}").contains("forcing trap when growing table to 6 elements"),
        "{err:?}"
    );
    // Past a declared maximum, the failure is a trap too.
    let instance = instantiate(
        &mut store,
        r#"(module (memory 1 1)
             (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    );
    let grow = instance
        .get_typed_func::<(), i32>(&mut store, "grow")
        .unwrap();
    assert!(grow.call(&mut store, ()).is_err());
}

#[test]
fn oversized_minimums_fail_instantiation_with_both_sizes() {
    let engine = engine(true, false, false);
    let limits = StoreLimitsBuilder::new()
        .memory_size(1 << 16)
        .table_elements(100)
        .build();
    let mut store = limited_store(&engine, limits);
    let module = keel::Module::new(&engine, "(module (memory (export \"mem\") 2))").unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("memory 0 (export \"mem\")"), "{msg}");
    assert!(
        msg.contains("131072 bytes") && msg.contains("65536 bytes"),
        "{msg}"
    );

    let module = keel::Module::new(&engine, "(module (table 101 funcref))").unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("table 0") && msg.contains("101 elements") && msg.contains("100 elements"),
        "{msg}"
    );

    // At the limit is fine.
    let module = keel::Module::new(&engine, "(module (memory 1) (table 100 funcref))").unwrap();
    Instance::new(&mut store, &module, &[]).unwrap();

    // Host-created memories and tables are checked the same way.
    assert!(Memory::new(&mut store, MemoryType::new(2, None)).is_err());
    assert!(
        Table::new(
            &mut store,
            TableType::new(ValType::FuncRef, 101, None),
            keel::Ref::Func(None)
        )
        .is_err()
    );
}

#[test]
fn instance_memory_and_table_counts_are_enforced_per_store() {
    let engine = engine(true, false, false);
    let module = keel::Module::new(&engine, "(module (memory 1) (table 1 funcref))").unwrap();
    let empty = keel::Module::new(&engine, "(module)").unwrap();

    for (limits, module, allowed, expect) in [
        (
            StoreLimitsBuilder::new().instances(2),
            &empty,
            2,
            "instance count too high at 3",
        ),
        (
            StoreLimitsBuilder::new().memories(1),
            &module,
            1,
            "memory count too high at 2",
        ),
        (
            StoreLimitsBuilder::new().tables(1),
            &module,
            1,
            "table count too high at 2",
        ),
    ] {
        let mut store = limited_store(&engine, limits.build());
        for _ in 0..allowed {
            Instance::new(&mut store, module, &[]).unwrap();
        }
        let err = Instance::new(&mut store, module, &[]).unwrap_err();
        assert!(format!("{err:#}").contains(expect), "{err:#}");
    }

    // Another store has its own counts.
    let mut other = limited_store(&engine, StoreLimitsBuilder::new().tables(1).build());
    Instance::new(&mut other, &module, &[]).unwrap();
}

/// Records what keel asks.
#[derive(Default)]
struct Recorder {
    memory: Vec<(usize, usize, Option<usize>)>,
    table: Vec<(usize, usize, Option<usize>)>,
    failed: usize,
}

impl ResourceLimiter for Recorder {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> keel::Result<bool> {
        self.memory.push((current, desired, maximum));
        Ok(true)
    }
    fn memory_grow_failed(&mut self, _error: keel::Error) -> keel::Result<()> {
        self.failed += 1;
        Ok(())
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> keel::Result<bool> {
        self.table.push((current, desired, maximum));
        Ok(true)
    }
}

#[test]
fn a_custom_limiter_sees_bytes_and_elements() {
    let engine = engine(true, false, false);
    let mut store = Store::new(&engine, Recorder::default());
    store.limiter(|r| r as &mut dyn ResourceLimiter);
    let instance = instantiate(
        &mut store,
        r#"(module (memory 1 4) (table 2 funcref)
             (func (export "m") (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "t") (param i32) (result i32)
               (table.grow (ref.null func) (local.get 0))))"#,
    );
    let m = instance
        .get_typed_func::<i32, i32>(&mut store, "m")
        .unwrap();
    let t = instance
        .get_typed_func::<i32, i32>(&mut store, "t")
        .unwrap();
    assert_eq!(m.call(&mut store, 1).unwrap(), 1);
    // Past the declared maximum: allowed by the limiter, refused by keel,
    // reported as a failure.
    assert_eq!(m.call(&mut store, 10).unwrap(), -1);
    assert_eq!(t.call(&mut store, 3).unwrap(), 2);
    let r = store.data();
    assert_eq!(
        r.memory,
        [
            (0, 1 << 16, Some(4 << 16)),
            (1 << 16, 2 << 16, Some(4 << 16)),
            (2 << 16, 12 << 16, Some(4 << 16)),
        ]
    );
    assert_eq!(r.table, [(0, 2, None), (2, 5, None)]);
    assert_eq!(r.failed, 1);
}

#[test]
fn an_epoch_callback_can_switch_the_store_to_trapping() {
    let engine = engine(true, false, true);
    let _ticker = Ticker::start(&engine);
    let mut store = Store::new(&engine, 0u32);
    let instance = instantiate(&mut store, SHAPES_WAT);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        *ctx.data_mut() += 1;
        ctx.epoch_deadline_trap();
        Ok(UpdateDeadline::Continue(1))
    });
    let err = call0(&mut store, instance, "loop").unwrap_err();
    assert_eq!(trap_code(&err), Some(Trap::Interrupt));
    assert_eq!(*store.data(), 1);
}

#[test]
fn a_huge_constant_bulk_length_cannot_wrap_the_fuel_counter() {
    // The block's `end` adds its ten operators without a check, leaving
    // the counter above zero; then `table.grow` by 2^32 - 1 elements costs
    // that many units more. Had the counter wrapped around to a negative
    // number, the loop after it would get almost unlimited fuel; an epoch
    // deadline stops the test if so.
    let engine = engine(true, true, true);
    let _ticker = Ticker::start(&engine);
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &mut store,
        r#"(module
          (table 0 funcref)
          (func (export "f")
            (block
              (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1))
              (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1))
              (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1))
              (drop (i32.const 1)))
            (drop (table.grow (ref.null func) (i32.const -1)))
            (loop $l (br $l))))"#,
    );
    store.set_fuel(5).unwrap();
    store.set_epoch_deadline(2000);
    let err = call0(&mut store, instance, "f").unwrap_err();
    assert_eq!(trap_code(&err), Some(Trap::OutOfFuel), "{err:?}");
}

/// A guest blocked in `memory.atomic.wait32` with no timeout on a shared
/// memory is stopped by an epoch deadline, with `Interrupt`, within
/// 100 ms of the deadline, in both memory modes; the callback decides as
/// for compiled code (here: two extensions, then an error); a notify
/// still wakes a waiter whose wait was extended.
#[test]
fn epoch_deadline_interrupts_an_endless_atomic_wait() {
    const WAIT: &str = r#"
      (module
        (memory (export "memory") 1 1 shared)
        (func (export "wait") (result i32)
          (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
    "#;
    for signals in [true, false] {
        let engine = engine(signals, false, true);
        let mut store = Store::new(&engine, ());
        let instance = instantiate(&mut store, WAIT);
        let wait = instance
            .get_typed_func::<(), i32>(&mut store, "wait")
            .unwrap();
        store.set_epoch_deadline(1);
        let ticked = std::thread::scope(|s| {
            let ticker = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                engine.increment_epoch();
                std::time::Instant::now()
            });
            let err = wait.call(&mut store, ()).unwrap_err();
            assert_eq!(trap_code(&err), Some(Trap::Interrupt), "{err:?}");
            let ended = std::time::Instant::now();
            ended - ticker.join().unwrap()
        });
        assert!(
            ticked < Duration::from_millis(100),
            "signals {signals}: stopped {ticked:?} after the deadline"
        );

        // The callback extends the wait twice, then ends it.
        let mut store = Store::new(&engine, 0u32);
        let instance = instantiate(&mut store, WAIT);
        let wait = instance
            .get_typed_func::<(), i32>(&mut store, "wait")
            .unwrap();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            if *ctx.data() < 2 {
                *ctx.data_mut() += 1;
                Ok(UpdateDeadline::Continue(1))
            } else {
                anyhow::bail!("the wait used its two extensions")
            }
        });
        let err = {
            let _ticker = Ticker::start(&engine);
            wait.call(&mut store, ()).unwrap_err()
        };
        assert_eq!(*store.data(), 2);
        assert!(
            format!("{err:#}").contains("the wait used its two extensions"),
            "{err:?}"
        );

        // A waiter whose deadline keeps moving is woken by a notify.
        let mut store = Store::new(&engine, ());
        let instance = instantiate(&mut store, WAIT);
        let wait = instance
            .get_typed_func::<(), i32>(&mut store, "wait")
            .unwrap();
        let memory = instance
            .get_shared_memory(&mut store, "memory")
            .expect("a shared memory export");
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Continue(1)));
        let _ticker = Ticker::start(&engine);
        let woken = std::thread::scope(|s| {
            s.spawn(|| {
                let mut woke = 0;
                while woke == 0 {
                    std::thread::sleep(Duration::from_millis(20));
                    woke = memory.atomic_notify(0, 1).unwrap();
                }
            });
            wait.call(&mut store, ()).unwrap()
        });
        assert_eq!(woken, 0, "\"ok\": woken by the notify");
    }
}

/// A host function that blocks polls [`keel::Caller::epoch_deadline`] and
/// ends the call through [`keel::Caller::check_epoch_deadline`]: with no
/// callback an `Interrupt` trap; before the deadline, `Ok`.
#[test]
fn blocking_host_functions_end_at_the_epoch_deadline() {
    let engine = engine(true, false, true);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "block",
            |mut caller: keel::Caller<'_, ()>| -> keel::Result<()> {
                caller.check_epoch_deadline()?;
                let deadline = caller.epoch_deadline();
                while !deadline.reached() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                caller.check_epoch_deadline()?;
                anyhow::bail!("the deadline was reached and nothing moved it")
            },
        )
        .unwrap();
    let module = keel::Module::new(
        &engine,
        r#"(module (import "host" "block" (func $block)) (func (export "run") (call $block)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    store.set_epoch_deadline(3);
    let _ticker = Ticker::start(&engine);
    let err = call0(&mut store, instance, "run").unwrap_err();
    assert_eq!(trap_code(&err), Some(Trap::Interrupt), "{err:?}");
}
