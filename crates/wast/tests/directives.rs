//! keel-wast's own directives beyond the 2.0 testsuite's: `module
//! definition`/`module instance`, and `thread`/`wait` with a shared
//! memory, as the threads proposal's scripts use them.

use keel_wast::WastContext;

fn run(script: &str) -> keel_wast::Outcome {
    let mut cx = WastContext::new(keel::Engine::default());
    cx.register_spectest().unwrap();
    cx.run_buffer("test.wast", script).unwrap()
}

#[test]
fn module_definitions_are_instantiated_apart() {
    let outcome = run(r#"
        (module definition $M
          (global (export "g") (mut i32) (i32.const 0))
          (func (export "bump") (result i32)
            (global.set 0 (i32.add (global.get 0) (i32.const 1)))
            (global.get 0)))
        (module instance $I1 $M)
        (module instance $I2 $M)
        (assert_return (invoke $I1 "bump") (i32.const 1))
        (assert_return (invoke $I1 "bump") (i32.const 2))
        (assert_return (invoke $I2 "bump") (i32.const 1))
        (module instance $M)
        (assert_return (invoke "bump") (i32.const 1))
    "#);
    assert_eq!(
        (outcome.failed, outcome.passed),
        (0, 8),
        "{:?}",
        outcome.failures
    );
}

/// Two threads wait on a shared memory location; the main script wakes
/// them only after both are parked, so the waits must return 0 (woken),
/// and the threads' assertions count in the outcome.
#[test]
fn threads_share_a_memory_and_wait_for_each_other() {
    let script = r#"
        (module $Mem (memory (export "shared") 1 1 shared))
        (thread $T1 (shared (module $Mem))
          (register "mem" $Mem)
          (module
            (memory (import "mem" "shared") 1 1 shared)
            (func (export "run") (result i32)
              (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
              (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
          (assert_return (invoke "run") (i32.const 0)))
        (thread $T2 (shared (module $Mem))
          (register "mem" $Mem)
          (module
            (memory (import "mem" "shared") 1 1 shared)
            (func (export "run") (result i32)
              (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
              (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
          (assert_return (invoke "run") (i32.const 0)))
        (register "mem" $Mem)
        (module
          (memory (import "mem" "shared") 1 1 shared)
          ;; Wake until both threads are counted in and woken: a waiter
          ;; counts itself just before it parks, so retry until two woke.
          (func (export "wake_both") (result i32) (local $woken i32)
            (loop $again
              (local.set $woken (i32.add (local.get $woken)
                (memory.atomic.notify (i32.const 0) (i32.const 2))))
              (br_if $again (i32.lt_u (local.get $woken) (i32.const 2))))
            (local.get $woken))
          (func (export "arrived") (result i32) (i32.atomic.load (i32.const 4))))
        (assert_return (invoke "wake_both") (i32.const 2))
        (wait $T1)
        (wait $T2)
        (assert_return (invoke "arrived") (i32.const 2))
    "#;
    let outcome = run(script);
    // Main: 2 modules, 2 threads, 1 register, 2 asserts, 2 waits; each
    // thread: a register, a module and an assertion.
    assert_eq!(
        (outcome.failed, outcome.passed),
        (0, 15),
        "{:?}",
        outcome.failures
    );
}

#[test]
fn waiting_for_an_unknown_thread_fails() {
    let outcome = run("(module) (wait $nobody)");
    assert_eq!((outcome.passed, outcome.failed), (1, 1));
    assert!(
        outcome.failures[0].contains("no running thread"),
        "{:?}",
        outcome.failures
    );
}
