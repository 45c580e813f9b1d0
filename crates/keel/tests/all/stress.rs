//! Concurrency stress: threads that compile, instantiate, trap and drop
//! modules while other threads call long-lived instances. Each test runs
//! for `KEEL_STRESS_SECS` seconds (default 5); the issue-10 soak ran it for
//! 600 s.
//!
//! What a failure looks like: the process dies with SIGILL or SIGSEGV (a
//! trap not recognised as a trap), or a call returns something other than
//! the trap or value it must.

use keel::{Engine, Instance, Linker, Module, Store, Trap, TrapCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn stress_duration() -> Duration {
    let secs = std::env::var("KEEL_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}

/// A module whose `trap` export traps with `unreachable`, `div` divides
/// (trapping on zero in hardware), `oob` reads out of bounds, and `pad_n`
/// functions change its code size.
fn module_text(padding: usize) -> String {
    let mut wat = String::from(
        r#"(module
          (memory 1)
          (func (export "trap") unreachable)
          (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
          (func (export "oob") (result i32) i32.const -4 i32.load)
          (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)"#,
    );
    for i in 0..padding {
        wat.push_str(&format!(
            "(func (param i32) (result i32) local.get 0 i32.const {i} i32.mul i32.const 7 i32.add)"
        ));
    }
    wat.push(')');
    wat
}

fn trap_code(err: &keel::Error) -> TrapCode {
    err.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {err:#}"))
        .code()
}

/// One compile → instantiate → trap ×3 → drop round.
fn round(engine: &Engine, wat: &str) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let trap = instance
        .get_typed_func::<(), ()>(&mut store, "trap")
        .unwrap();
    assert_eq!(
        trap_code(&trap.call(&mut store, ()).unwrap_err()),
        TrapCode::UnreachableCodeReached
    );
    let div = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "div")
        .unwrap();
    assert_eq!(div.call(&mut store, (7, 2)).unwrap(), 3);
    assert_eq!(
        trap_code(&div.call(&mut store, (7, 0)).unwrap_err()),
        TrapCode::IntegerDivisionByZero
    );
    let oob = instance
        .get_typed_func::<(), i32>(&mut store, "oob")
        .unwrap();
    assert_eq!(
        trap_code(&oob.call(&mut store, ()).unwrap_err()),
        TrapCode::MemoryOutOfBounds
    );
}

/// The crash of issue 10: two threads loop over compile → instantiate →
/// trap → drop with the same module text, so freed code is remapped at the
/// same address by the other thread.
#[test]
fn concurrent_compile_trap_drop_same_module() {
    let engine = Engine::default();
    let wat = Arc::new(module_text(0));
    let deadline = Instant::now() + stress_duration();
    let rounds = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while Instant::now() < deadline {
                    round(&engine, &wat);
                    rounds.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert!(rounds.load(Ordering::Relaxed) > 0);
}

/// Modules of equal and different sizes on several threads, while two more
/// threads keep calling (and trapping in) long-lived instances.
#[test]
fn concurrent_mixed_sizes_with_long_lived_callers() {
    let engine = Engine::default();
    let texts: Vec<String> = [0, 0, 3, 40].iter().map(|&n| module_text(n)).collect();
    let deadline = Instant::now() + stress_duration();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..3 {
            let (engine, texts) = (&engine, &texts);
            s.spawn(move || {
                let mut i = t;
                while Instant::now() < deadline {
                    round(engine, &texts[i % texts.len()]);
                    i += 1;
                }
            });
        }
        for _ in 0..2 {
            let (engine, stop) = (&engine, &stop);
            let wat = &texts[2];
            s.spawn(move || {
                let module = Module::new(engine, wat).unwrap();
                let mut store = Store::new(engine, ());
                let instance: Instance = Linker::new(engine)
                    .instantiate(&mut store, &module)
                    .unwrap();
                let add = instance
                    .get_typed_func::<(i32, i32), i32>(&mut store, "add")
                    .unwrap();
                let trap = instance
                    .get_typed_func::<(), ()>(&mut store, "trap")
                    .unwrap();
                let mut n = 0i32;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(add.call(&mut store, (n, 1)).unwrap(), n.wrapping_add(1));
                    n = n.wrapping_add(1);
                    if n % 64 == 0 {
                        assert_eq!(
                            trap_code(&trap.call(&mut store, ()).unwrap_err()),
                            TrapCode::UnreachableCodeReached
                        );
                    }
                }
            });
        }
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
    });
}
