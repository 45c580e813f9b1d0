//! Concurrency stress: threads that compile, instantiate, trap, throw and
//! drop modules while other threads call long-lived instances. Each test runs
//! for `KEEL_STRESS_SECS` seconds (default 5); the issue-10 soak ran it for
//! 600 s.
//!
//! What a failure looks like: the process dies with SIGILL or SIGSEGV (a
//! trap not recognised as a trap), or a call returns something other than
//! the trap or value it must.

use keel::{Engine, Instance, Linker, Module, Store, Trap};
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
/// (trapping on zero in hardware), `oob` reads out of bounds, `catch`
/// throws an exception and catches it one frame up (the unwinder looks the
/// frames up in the code registry while other threads change it), `throw`
/// throws one out to the host, `keep` keeps one in a local while it throws
/// enough more for collections to run, and `pad_n` functions change its
/// code size.
fn module_text(padding: usize) -> String {
    let mut wat = String::from(
        r#"(module
          (memory 1)
          (func (export "trap") unreachable)
          (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
          (func (export "oob") (result i32) i32.const -4 i32.load)
          (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
          (tag $e (param i32))
          (func $throw (export "throw") (param i32) (throw $e (local.get 0)))
          (func (export "catch") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (call $throw (local.get 0)))
              (i32.const -1)))
          (func (export "keep") (param $v i32) (param $n i32) (result i32)
            (local $kept exnref)
            (local.set $kept (call $caught_ref (local.get $v)))
            (call $churn (local.get $n))
            (block $h (result i32)
              (try_table (catch $e $h) (throw_ref (local.get $kept)))
              (i32.const -1)))"#,
    );
    wat.push_str(crate::EXNREF_HELPERS);
    for i in 0..padding {
        wat.push_str(&format!(
            "(func (param i32) (result i32) local.get 0 i32.const {i} i32.mul i32.const 7 i32.add)"
        ));
    }
    wat.push(')');
    wat
}

fn trap_code(err: &keel::Error) -> Trap {
    *err.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {err:#}"))
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
        Trap::UnreachableCodeReached
    );
    let div = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "div")
        .unwrap();
    assert_eq!(div.call(&mut store, (7, 2)).unwrap(), 3);
    assert_eq!(
        trap_code(&div.call(&mut store, (7, 0)).unwrap_err()),
        Trap::IntegerDivisionByZero
    );
    let oob = instance
        .get_typed_func::<(), i32>(&mut store, "oob")
        .unwrap();
    assert_eq!(
        trap_code(&oob.call(&mut store, ()).unwrap_err()),
        Trap::MemoryOutOfBounds
    );
    let catch = instance
        .get_typed_func::<i32, i32>(&mut store, "catch")
        .unwrap();
    assert_eq!(catch.call(&mut store, 17).unwrap(), 17);
    let throw = instance
        .get_typed_func::<i32, ()>(&mut store, "throw")
        .unwrap();
    let err = throw.call(&mut store, 18).unwrap_err();
    let exn = err
        .downcast_ref::<keel::ThrownException>()
        .unwrap_or_else(|| panic!("not an exception: {err:#}"))
        .exn();
    assert_eq!(exn.field(&mut store, 0).unwrap().unwrap_i32(), 18);
    // Collections walk the stack maps (through the code registry) while
    // other threads change the registry.
    let keep = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "keep")
        .unwrap();
    assert_eq!(keep.call(&mut store, (19, 2500)).unwrap(), 19);
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
                let catch = instance
                    .get_typed_func::<i32, i32>(&mut store, "catch")
                    .unwrap();
                let mut n = 0i32;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(add.call(&mut store, (n, 1)).unwrap(), n.wrapping_add(1));
                    n = n.wrapping_add(1);
                    if n % 64 == 0 {
                        assert_eq!(
                            trap_code(&trap.call(&mut store, ()).unwrap_err()),
                            Trap::UnreachableCodeReached
                        );
                    }
                    if n % 16 == 0 {
                        assert_eq!(catch.call(&mut store, n).unwrap(), n);
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

fn assert_send_sync<T: Send + Sync>() {}

/// Issue 10 item 9: the handles are `Send + Sync` and a store with live
/// instances moves to another thread, where calls into it work.
#[test]
fn store_with_live_instances_moves_between_threads() {
    assert_send_sync::<Engine>();
    assert_send_sync::<Module>();
    assert_send_sync::<Store<()>>();
    assert_send_sync::<keel::Func>();
    assert_send_sync::<keel::Memory>();
    assert_send_sync::<keel::Table>();
    assert_send_sync::<keel::Global>();
    assert_send_sync::<Instance>();
    assert_send_sync::<keel::TypedFunc<(i32, i32), i32>>();

    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "count" (func $count (result i32)))
             (memory (export "mem") 1)
             (func (export "run") (param i32) (result i32)
               i32.const 0 local.get 0 i32.store
               call $count i32.const 0 i32.load i32.add))"#,
    )
    .unwrap();
    let mut store: Store<Vec<u32>> = Store::new(&engine, Vec::new());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "count", |mut caller: keel::Caller<'_, Vec<u32>>| {
            caller.data_mut().push(1);
            caller.data().len() as i32
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 10).unwrap(), 11);
    let mut store = std::thread::spawn(move || {
        assert_eq!(run.call(&mut store, 20).unwrap(), 22);
        let memory = instance.get_memory(&mut store, "mem").unwrap();
        assert_eq!(memory.data_size(&store), 65536);
        assert_eq!(memory.data(&store)[0], 20);
        store
    })
    .join()
    .unwrap();
    assert_eq!(store.data().len(), 2);
    assert_eq!(run.call(&mut store, 1).unwrap(), 4);
}

/// The first things a port from Wasmtime needs: `Module::from_file`,
/// `Store: Default`, `keel::{bail, ensure, format_err}`.
#[test]
fn wasmtime_porting_conveniences() {
    let dir = std::env::temp_dir().join(format!("keel-from-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.wat");
    std::fs::write(
        &path,
        r#"(module (func (export "f") (result i32) i32.const 5))"#,
    )
    .unwrap();
    let mut store: Store<()> = Store::default();
    let module = Module::from_file(store.engine(), &path).unwrap();
    let instance = Linker::new(store.engine())
        .instantiate(&mut store, &module)
        .unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 5);
    let missing = Module::from_file(store.engine(), dir.join("missing.wasm")).unwrap_err();
    assert!(missing.to_string().contains("missing.wasm"), "{missing:#}");
    assert!(
        missing
            .chain()
            .any(|e| e.downcast_ref::<std::io::Error>().is_some())
    );
    std::fs::remove_dir_all(&dir).unwrap();

    fn check(x: i32) -> keel::Result<i32> {
        keel::ensure!(x >= 0, "negative: {x}");
        if x > 100 {
            keel::bail!("too large: {x}");
        }
        Err(keel::format_err!("value {x}"))
    }
    assert_eq!(check(-1).unwrap_err().to_string(), "negative: -1");
    assert_eq!(check(101).unwrap_err().to_string(), "too large: 101");
    assert_eq!(check(7).unwrap_err().to_string(), "value 7");
}

/// The engine's type registry from several threads at once: modules whose
/// recursion groups are the same (and some that differ only in grouping)
/// are registered concurrently, and every thread's functions still
/// import where their canonical types say and nowhere else.
#[test]
fn concurrent_type_canonicalization() {
    let engine = Engine::default();
    let deadline = Instant::now() + stress_duration().min(Duration::from_secs(5));
    // `$r` refers to itself; `$g` is in a group of two; `$p` refers to an
    // earlier group.
    let exporter = r#"(module
        (type $r (func (param (ref null $r)) (result i32)))
        (rec (type $g (func (param i32) (result i32))) (type (func)))
        (type $p (func (param (ref null $g))))
        (func (export "r") (type $r) i32.const 1)
        (func (export "g") (type $g) local.get 0)
        (func (export "p") (type $p)))"#;
    let same = r#"(module
        (type $a (func))
        (type $r (func (param (ref null $r)) (result i32)))
        (rec (type $g (func (param i32) (result i32))) (type (func)))
        (type $p (func (param (ref null $g))))
        (import "m" "r" (func (type $r)))
        (import "m" "g" (func (type $g)))
        (import "m" "p" (func (type $p))))"#;
    // The same structure for `g`, outside a group of two: another type.
    let other = r#"(module
        (type $g (func (param i32) (result i32)))
        (import "m" "g" (func (type $g))))"#;
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let mut rounds = 0;
                while rounds < 20 || Instant::now() < deadline {
                    let mut store = Store::new(&engine, ());
                    let exporter = Module::new(&engine, exporter).unwrap();
                    let exporter = Linker::new(&engine)
                        .instantiate(&mut store, &exporter)
                        .unwrap();
                    let mut linker = Linker::new(&engine);
                    linker.instance(&mut store, "m", exporter).unwrap();
                    let same = Module::new(&engine, same).unwrap();
                    linker.instantiate(&mut store, &same).unwrap();
                    let other = Module::new(&engine, other).unwrap();
                    let err = linker.instantiate(&mut store, &other).unwrap_err();
                    assert!(
                        format!("{err:#}").contains("incompatible import type"),
                        "{err:#}"
                    );
                    rounds += 1;
                }
            });
        }
    });
}

/// GC types in the engine's registry from several threads at once, each
/// with its own store and collector: recursive struct types with declared
/// subtypes, defined alike by two modules, are one type in both (objects
/// one module makes pass the other's casts to their types and
/// supertypes, and fail the others; its function satisfies the other's
/// import), while every thread's heap churns through collections.
#[test]
fn concurrent_gc_types_and_collections() {
    let engine = Engine::default();
    let deadline = Instant::now() + stress_duration().min(Duration::from_secs(5));
    let types = r#"
        (rec (type $list (sub (struct (field i32) (field (ref null $list))))))
        (type $tagged (sub final $list (struct (field i32) (field (ref null $list)) (field i64))))"#;
    let exporter = format!(
        r#"(module {types}
            (func (export "make") (param $n i32) (result (ref $tagged))
              (local $l (ref null $list))
              (loop $more
                (local.set $l (struct.new $list (local.get $n) (local.get $l)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br_if $more (local.get $n)))
              (struct.new $tagged (i32.const -1) (local.get $l) (i64.const 7))))"#
    );
    let importer = format!(
        r#"(module {types}
            (import "m" "make" (func $make (param i32) (result (ref $tagged))))
            ;; The sum of the list's values if the head is a $tagged and
            ;; its tail a $list that is no $tagged.
            (func (export "sum") (param $n i32) (result i32)
              (local $l (ref null $list)) (local $sum i32)
              (local.set $l (call $make (local.get $n)))
              (if (i32.eqz (ref.test (ref $tagged) (local.get $l))) (then (return (i32.const -2))))
              (if (i32.eqz (ref.test (ref $list) (struct.get $list 1 (local.get $l))))
                (then (return (i32.const -3))))
              (if (ref.test (ref $tagged) (struct.get $list 1 (local.get $l)))
                (then (return (i32.const -4))))
              (local.set $l (struct.get $list 1 (local.get $l)))
              (block $end (loop $walk
                (br_if $end (ref.is_null (local.get $l)))
                (local.set $sum (i32.add (local.get $sum) (struct.get $list 0 (local.get $l))))
                (local.set $l (struct.get $list 1 (local.get $l)))
                (br $walk)))
              (local.get $sum)))"#
    );
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (engine, exporter, importer) = (&engine, &exporter, &importer);
            scope.spawn(move || {
                let mut rounds = 0;
                while rounds < 10 || Instant::now() < deadline {
                    let mut store = Store::new(engine, ());
                    let exporter = Module::new(engine, exporter).unwrap();
                    let exporter = Linker::new(engine)
                        .instantiate(&mut store, &exporter)
                        .unwrap();
                    let mut linker = Linker::new(engine);
                    linker.instance(&mut store, "m", exporter).unwrap();
                    let importer = Module::new(engine, importer.as_str()).unwrap();
                    let instance = linker.instantiate(&mut store, &importer).unwrap();
                    let sum = instance
                        .get_typed_func::<i32, i32>(&mut store, "sum")
                        .unwrap();
                    let n = 1000 + t * 100 + rounds;
                    for _ in 0..20 {
                        assert_eq!(sum.call(&mut store, n).unwrap(), n * (n + 1) / 2);
                    }
                    rounds += 1;
                }
            });
        }
    });
}

/// The parking lot from several threads: waiters on a few addresses of
/// one shared memory, woken by notifiers, with and without timeouts;
/// every wait ends (woken, mismatched or timed out) and the wake-up counts
/// add up.
#[test]
fn concurrent_wait_and_notify() {
    let engine = Engine::default();
    let memory = keel::SharedMemory::new(&engine, keel::MemoryType::shared(1, 1)).unwrap();
    let deadline = Instant::now() + stress_duration().min(Duration::from_secs(5));
    let woken_by_wait = AtomicU64::new(0);
    let woken_by_notify = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let waiters: Vec<_> = (0..3u64)
            .map(|t| {
                let (memory, woken_by_wait, done) = (&memory, &woken_by_wait, &done);
                scope.spawn(move || {
                    let addr = 8 * (t % 2);
                    while !done.load(Ordering::Relaxed) {
                        let timeout = (t == 0).then(|| Duration::from_micros(50));
                        match memory.atomic_wait32(addr, 0, timeout).unwrap() {
                            keel::WaitResult::Ok => {
                                woken_by_wait.fetch_add(1, Ordering::Relaxed);
                            }
                            keel::WaitResult::TimedOut | keel::WaitResult::Mismatch => {}
                        }
                    }
                })
            })
            .collect();
        while Instant::now() < deadline {
            for addr in [0, 8] {
                let n = memory.atomic_notify(addr, 1).unwrap();
                woken_by_notify.fetch_add(u64::from(n), Ordering::Relaxed);
            }
            std::thread::yield_now();
        }
        done.store(true, Ordering::Relaxed);
        // Release the waiters still parked (without a timeout) until all
        // have seen `done` and left.
        while !waiters.iter().all(|w| w.is_finished()) {
            for addr in [0, 8] {
                let n = memory.atomic_notify(addr, u32::MAX).unwrap();
                woken_by_notify.fetch_add(u64::from(n), Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let (waits, notifies) = (
        woken_by_wait.load(Ordering::Relaxed),
        woken_by_notify.load(Ordering::Relaxed),
    );
    assert_eq!(waits, notifies, "every wake-up counted once on each side");
    assert!(waits > 0);
}

/// Lazy compilation under contention: each round, eight threads call the
/// same uncompiled functions of one module at once (one compilation per
/// function wins, the others wait for it), including ones that trap,
/// throw and collect, while two more threads compile, run and drop other
/// lazily compiled modules, changing the code registry.
#[test]
fn concurrent_first_calls_of_lazily_compiled_functions() {
    let mut config = keel::Config::new();
    config.lazy_compilation(true);
    let engine = Engine::new(&config).unwrap();
    let wat = module_text(20);
    let other = module_text(3);
    let deadline = Instant::now() + stress_duration();
    let stop = AtomicBool::new(false);
    let rounds = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    round(&engine, &other);
                }
            });
        }
        while Instant::now() < deadline {
            let module = Module::new(&engine, &wat).unwrap();
            let barrier = std::sync::Barrier::new(8);
            std::thread::scope(|s| {
                for t in 0..8 {
                    let (module, barrier, engine) = (&module, &barrier, &engine);
                    s.spawn(move || {
                        let mut store = Store::new(engine, ());
                        let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
                        let add = instance
                            .get_typed_func::<(i32, i32), i32>(&mut store, "add")
                            .unwrap();
                        let div = instance
                            .get_typed_func::<(i32, i32), i32>(&mut store, "div")
                            .unwrap();
                        let catch = instance
                            .get_typed_func::<i32, i32>(&mut store, "catch")
                            .unwrap();
                        let keep = instance
                            .get_typed_func::<(i32, i32), i32>(&mut store, "keep")
                            .unwrap();
                        barrier.wait();
                        // Half the threads trap first, half call first.
                        if t % 2 == 0 {
                            let err = div.call(&mut store, (1, 0)).unwrap_err();
                            assert_eq!(trap_code(&err), Trap::IntegerDivisionByZero);
                        }
                        assert_eq!(add.call(&mut store, (t, 1)).unwrap(), t + 1);
                        assert_eq!(div.call(&mut store, (9, 3)).unwrap(), 3);
                        assert_eq!(catch.call(&mut store, t).unwrap(), t);
                        assert_eq!(keep.call(&mut store, (t, 300)).unwrap(), t);
                        let err = div.call(&mut store, (1, 0)).unwrap_err();
                        assert_eq!(trap_code(&err), Trap::IntegerDivisionByZero);
                    });
                }
            });
            rounds.fetch_add(1, Ordering::Relaxed);
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(rounds.load(Ordering::Relaxed) > 0);
}
