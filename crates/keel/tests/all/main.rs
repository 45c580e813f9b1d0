//! keel's integration tests, one module per topic.

#[cfg(feature = "cache")]
mod cache;
mod calls;
mod control;
mod errors;
mod exceptions;
mod fuel_workloads;
mod gc;
mod lazy;
mod lazy_funcrefs;
mod lazy_tables;
mod memory;
mod memory_images;
mod nan;
mod pooling;
mod profiling;
mod refs;
#[path = "../support/rerun.rs"]
mod rerun;
mod stress;
mod traps;
mod wasm3;

/// The default engine (guard pages) and one with explicit bounds checks:
/// the two memory modes.
fn engines() -> [keel::Engine; 2] {
    let mut explicit = keel::Config::new();
    explicit.signals_based_traps(false);
    [
        keel::Engine::default(),
        keel::Engine::new(&explicit).unwrap(),
    ]
}

/// The trap code of `err`, if it is a trap.
fn trap_code(err: &keel::Error) -> Option<keel::Trap> {
    err.downcast_ref::<keel::Trap>().copied()
}

/// WAT functions for modules that declare `(tag $e (param i32))` and
/// `(func $throw (param i32))` throwing it: `$caught_ref` returns a new
/// exception of payload `i`, kept by `catch_ref`; `$churn` (exported as
/// `churn`) throws `n` that become garbage at once, enough for the
/// store's collector to run.
const EXNREF_HELPERS: &str = r#"
  (func $caught_ref (param $i i32) (result exnref)
    (local $x exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e $h) (call $throw (local.get $i)))
      (unreachable))
    (local.set $x) (drop) (local.get $x))
  (func $churn (export "churn") (param $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (drop (call $caught_ref (i32.add (local.get $n) (i32.const 1000000))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l))))
"#;
