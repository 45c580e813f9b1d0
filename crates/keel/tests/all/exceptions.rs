//! Exception handling: throwing and catching across wasm and host frames,
//! the host API (`Tag`, `ExnRef`, `ThrownException`), and what the spec
//! testsuite does not look at (fuel, traps in handlers, tail calls, deep
//! stacks, backtraces after a catch).

use crate::EXNREF_HELPERS;
use keel::{
    Config, Engine, ExnRef, Func, FuncType, Linker, Module, Store, Tag, TagType, ThrownException,
    Trap, Val, ValType,
};

fn instantiate(engine: &Engine, wat: &str) -> (Store<()>, keel::Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .unwrap();
    (store, instance)
}

/// Throw through 0, 1 and many frames and catch with each clause kind.
#[test]
fn throw_and_catch_across_frames() {
    for engine in crate::engines() {
        let (mut store, instance) = instantiate(
            &engine,
            r#"(module
              (tag $e (param i32 i64))
              (tag $other)
              (func $thrower (param i32)
                (if (i32.eqz (local.get 0))
                  (then (throw $e (i32.const 7) (i64.const -9))))
                (call $thrower (i32.sub (local.get 0) (i32.const 1))))
              ;; catch: payload only
              (func (export "catch") (param i32) (result i32 i64)
                (block $other_h
                  (block $h (result i32 i64)
                    (try_table (catch $other $other_h) (catch $e $h)
                      (call $thrower (local.get 0)))
                    (unreachable))
                  (return))
                (unreachable))
              ;; catch_ref and rethrow with throw_ref to an outer catch_all
              (func (export "rethrow") (param i32) (result i32)
                (block $outer
                  (try_table (catch_all $outer)
                    (block $h (result i32 i64 exnref)
                      (try_table (catch_ref $e $h) (call $thrower (local.get 0)))
                      (unreachable))
                    (throw_ref))
                  (unreachable))
                (i32.const 1))
              ;; catch_all_ref: the exception is a value
              (func (export "keep") (result exnref)
                (block $h (result exnref)
                  (try_table (catch_all_ref $h) (call $thrower (i32.const 3)))
                  (ref.null exn)))
              (func (export "throw-ref") (param exnref) (throw_ref (local.get 0)))
              (func (export "uncaught") (call $thrower (i32.const 2))))"#,
        );
        let catch = instance
            .get_typed_func::<i32, (i32, i64)>(&mut store, "catch")
            .unwrap();
        for depth in [0, 1, 10, 1000] {
            assert_eq!(catch.call(&mut store, depth).unwrap(), (7, -9), "{depth}");
        }
        let rethrow = instance
            .get_typed_func::<i32, i32>(&mut store, "rethrow")
            .unwrap();
        assert_eq!(rethrow.call(&mut store, 5).unwrap(), 1);

        // An uncaught exception leaves `call` as a ThrownException whose
        // tag and payload the host reads.
        let uncaught = instance.get_func(&mut store, "uncaught").unwrap();
        let err = uncaught.call(&mut store, &[], &mut []).unwrap_err();
        let thrown = err.downcast_ref::<ThrownException>().expect("an exception");
        let exn = thrown.exn();
        let tag_e = instance.get_tag(&mut store, "e");
        assert!(tag_e.is_none(), "the tag is not exported");
        let fields = exn.fields(&mut store).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].unwrap_i32(), 7);
        assert_eq!(fields[1].unwrap_i64(), -9);
        let ty = exn.tag(&mut store).ty(&store);
        assert_eq!(
            ty.ty().params().collect::<Vec<_>>(),
            [ValType::I32, ValType::I64]
        );

        // exnref as a value: kept by wasm, thrown again from the host side.
        let keep = instance.get_func(&mut store, "keep").unwrap();
        let mut out = [Val::ExnRef(None)];
        keep.call(&mut store, &[], &mut out).unwrap();
        let kept = out[0].exnref().unwrap().expect("non-null exnref");
        assert_eq!(kept.field(&mut store, 0).unwrap().unwrap_i32(), 7);
        let throw_ref = instance.get_func(&mut store, "throw-ref").unwrap();
        let err = throw_ref
            .call(&mut store, &[Val::ExnRef(Some(kept))], &mut [])
            .unwrap_err();
        assert_eq!(err.downcast_ref::<ThrownException>().unwrap().exn(), kept);
        let err = throw_ref
            .call(&mut store, &[Val::ExnRef(None)], &mut [])
            .unwrap_err();
        assert_eq!(crate::trap_code(&err), Some(Trap::NullReference));
    }
}

/// Tags are per instance: the same module instantiated twice has two
/// different tags, and an imported tag is the exporter's.
#[test]
fn tags_have_identity() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (tag $e (export "e") (param i32))
          (import "host" "throw" (func $throw (param i32)))
          (func (export "catch-own") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (call $throw (local.get 0)))
              (i32.const -1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    // The host throws with whichever tag is in its slot.
    let slot: std::sync::Arc<std::sync::Mutex<Option<Tag>>> = Default::default();
    let slot2 = slot.clone();
    let throw = Func::new(
        &mut store,
        FuncType::new([ValType::I32], []),
        move |mut caller, args, _| {
            let tag = slot2.lock().unwrap().expect("a tag");
            let exn = ExnRef::new(&mut caller, &tag, args)?;
            Err(ThrownException::new(exn).into())
        },
    );
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "throw", throw).unwrap();
    let a = linker.instantiate(&mut store, &module).unwrap();
    let b = linker.instantiate(&mut store, &module).unwrap();
    let tag_a = a.get_tag(&mut store, "e").unwrap();
    let tag_b = b.get_tag(&mut store, "e").unwrap();
    assert_ne!(tag_a, tag_b);
    assert_eq!(tag_a, a.get_tag(&mut store, "e").unwrap());
    let catch_a = a
        .get_typed_func::<i32, i32>(&mut store, "catch-own")
        .unwrap();
    *slot.lock().unwrap() = Some(tag_a);
    assert_eq!(catch_a.call(&mut store, 42).unwrap(), 42);
    // Thrown with b's tag: a does not catch it, and it comes out.
    *slot.lock().unwrap() = Some(tag_b);
    let err = catch_a.call(&mut store, 42).unwrap_err();
    let exn = err.downcast_ref::<ThrownException>().unwrap().exn();
    assert_eq!(exn.tag(&mut store), tag_b);
    // A host tag of the same type is yet another tag.
    let host_tag = Tag::new(
        &mut store,
        &TagType::new(FuncType::new([ValType::I32], [])).unwrap(),
    )
    .unwrap();
    *slot.lock().unwrap() = Some(host_tag);
    assert!(catch_a.call(&mut store, 1).is_err());
    // Payloads must match the tag type.
    assert!(ExnRef::new(&mut store, &host_tag, &[]).is_err());
    assert!(ExnRef::new(&mut store, &host_tag, &[Val::I64(1)]).is_err());
}

/// An exception thrown by wasm called from a host function called from
/// wasm crosses the host frames: caught by the outer wasm if it catches,
/// else out to the outermost caller.
#[test]
fn exceptions_cross_host_frames() {
    let engine = Engine::default();
    let inner = Module::new(
        &engine,
        r#"(module (tag $e (export "e") (param i32))
            (func (export "throw") (param i32) (throw $e (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let inner = linker.instantiate(&mut store, &inner).unwrap();
    linker.instance(&mut store, "inner", inner).unwrap();
    let inner_throw = inner.get_func(&mut store, "throw").unwrap();
    // The host function calls wasm that throws, and propagates the error.
    let host = Func::new(
        &mut store,
        FuncType::new([ValType::I32], []),
        move |mut caller, args, _| inner_throw.call(&mut caller, args, &mut []),
    );
    linker.define(&store, "host", "call", host).unwrap();
    let outer = Module::new(
        &engine,
        r#"(module
          (import "inner" "e" (tag $e (param i32)))
          (import "host" "call" (func $call (param i32)))
          (func (export "caught") (param i32) (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (call $call (local.get 0)))
              (i32.const -1)))
          (func (export "uncaught") (param i32) (call $call (local.get 0))))"#,
    )
    .unwrap();
    let outer = linker.instantiate(&mut store, &outer).unwrap();
    let caught = outer
        .get_typed_func::<i32, i32>(&mut store, "caught")
        .unwrap();
    assert_eq!(caught.call(&mut store, 11).unwrap(), 11);
    let uncaught = outer
        .get_typed_func::<i32, ()>(&mut store, "uncaught")
        .unwrap();
    let err = uncaught.call(&mut store, 12).unwrap_err();
    let exn = err.downcast_ref::<ThrownException>().unwrap().exn();
    assert_eq!(exn.field(&mut store, 0).unwrap().unwrap_i32(), 12);
    // The store is usable afterwards.
    assert_eq!(caught.call(&mut store, 13).unwrap(), 13);
}

/// A trap inside a handler is a trap; tail calls leave the try_table;
/// call_indirect and call_ref are caught; fuel keeps counting.
#[test]
fn handlers_traps_tail_calls_and_fuel() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let (mut store, instance) = instantiate(
        &engine,
        r#"(module
          (tag $e)
          (table 1 funcref)
          (elem (i32.const 0) $thrower)
          (type $t (func))
          (func $thrower (throw $e))
          (func $thrower_i32 (result i32) (throw $e))
          (func (export "trap-in-handler")
            (block $h
              (try_table (catch $e $h) (call $thrower)))
            (unreachable))
          (func (export "indirect") (result i32)
            (block $h
              (try_table (catch_all $h) (call_indirect (type $t) (i32.const 0))))
            (i32.const 1))
          (func (export "ref") (result i32)
            (block $h
              (try_table (catch $e $h) (call_ref $t (ref.func $thrower))))
            (i32.const 2))
          (func (export "tail") (result i32)
            (block $h
              (try_table (catch $e $h) (return_call $thrower_i32)))
            (i32.const 3))
          (func (export "loop") (param i32) (result i32)
            (local $n i32)
            (loop $l
              (block $h
                (try_table (catch $e $h) (call $thrower)))
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $n) (local.get 0))))
            (local.get $n)))"#,
    );
    store.set_fuel(1_000_000).unwrap();
    let trap = instance.get_func(&mut store, "trap-in-handler").unwrap();
    let err = trap.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(crate::trap_code(&err), Some(Trap::UnreachableCodeReached));
    // The backtrace after a catch is the handler's frame, then the host.
    let bt = err
        .downcast_ref::<keel::WasmBacktrace>()
        .expect("backtrace");
    assert_eq!(bt.frames().len(), 1, "{bt:?}");
    for (name, expected) in [("indirect", 1), ("ref", 2)] {
        let f = instance
            .get_typed_func::<(), i32>(&mut store, name)
            .unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), expected, "{name}");
    }
    let tail = instance
        .get_typed_func::<(), i32>(&mut store, "tail")
        .unwrap();
    let err = tail.call(&mut store, ()).unwrap_err();
    assert!(err.downcast_ref::<ThrownException>().is_some(), "{err:#}");

    let looped = instance
        .get_typed_func::<i32, i32>(&mut store, "loop")
        .unwrap();
    let before = store.get_fuel().unwrap();
    assert_eq!(looped.call(&mut store, 100).unwrap(), 100);
    let used = before - store.get_fuel().unwrap();
    assert!(used > 100 && used < 100 * 30, "fuel used: {used}");
    // Out of fuel in a throwing loop is a trap, not a hang.
    store.set_fuel(500).unwrap();
    let err = looped.call(&mut store, 1_000_000).unwrap_err();
    assert_eq!(crate::trap_code(&err), Some(Trap::OutOfFuel));
}

/// Unwinding from deep recursion: a stack overflow while throwing frames
/// are deep is still a trap, and a throw from near the limit is caught.
#[test]
fn deep_stacks() {
    let engine = Engine::default();
    let (mut store, instance) = instantiate(
        &engine,
        r#"(module
          (tag $e (param i32))
          (func $down (param i32) (result i32)
            (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 99))))
            (i32.add (call $down (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
          (func (export "deep") (param i32) (result i32)
            (block $h (result i32)
              (try_table (result i32) (catch $e $h) (call $down (local.get 0)))))
          (func $forever (param i32) (result i32)
            (block $h (result i32)
              (try_table (result i32) (catch $e $h)
                (call $forever (i32.add (local.get 0) (i32.const 1)))))
            (i32.add (i32.const 1)))
          (func (export "overflow") (result i32) (call $forever (i32.const 0))))"#,
    );
    let deep = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")
        .unwrap();
    assert_eq!(deep.call(&mut store, 10_000).unwrap(), 99);
    let overflow = instance
        .get_typed_func::<(), i32>(&mut store, "overflow")
        .unwrap();
    let err = overflow.call(&mut store, ()).unwrap_err();
    assert_eq!(crate::trap_code(&err), Some(Trap::StackOverflow));
}

/// Exceptions from several threads, each with its own store, at once.
#[test]
fn throw_on_many_threads() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (tag $e (param i32))
          (func $t (param i32) (throw $e (local.get 0)))
          (func (export "run") (param i32) (result i32)
            (local $i i32) (local $sum i32)
            (loop $l
              (block $h (result i32)
                (try_table (catch $e $h) (call $t (local.get $i)))
                (unreachable))
              (local.set $sum (i32.add (local.get $sum)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
            (local.get $sum)))"#,
    )
    .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut store = Store::new(&engine, ());
                let instance = Linker::new(&engine)
                    .instantiate(&mut store, &module)
                    .unwrap();
                let run = instance
                    .get_typed_func::<i32, i32>(&mut store, "run")
                    .unwrap();
                for _ in 0..20 {
                    assert_eq!(run.call(&mut store, 1000).unwrap(), 499_500);
                }
            });
        }
    });
}

/// A million throws caught by `catch` leave no exception objects behind;
/// a million kept with `catch_ref` and dropped are collected.
#[test]
fn a_million_throws_do_not_leak() {
    let engine = Engine::default();
    let (mut store, instance) = instantiate(
        &engine,
        r#"(module
          (tag $e (param i32 i64))
          (func $t (param i32) (throw $e (local.get 0) (i64.const 5)))
          (func (export "catch") (param i32) (result i32)
            (local $i i32)
            (loop $l
              (block $h (result i32 i64)
                (try_table (catch $e $h) (call $t (local.get $i)))
                (unreachable))
              (drop) (drop)
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
            (local.get $i))
          (func (export "catch_all") (param i32) (result i32)
            (local $i i32)
            (loop $l
              (block $h (try_table (catch_all $h) (call $t (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
            (local.get $i))
          (func (export "uncaught") (param i32) (call $t (local.get 0)))
          (func (export "keep") (param i32) (result i32)
            (local $i i32)
            (loop $l
              (block $h (result i32 i64 exnref)
                (try_table (catch_ref $e $h) (call $t (local.get $i)))
                (unreachable))
              (drop) (drop) (drop)
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
            (local.get $i)))"#,
    );
    for name in ["catch", "catch_all"] {
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, name)
            .unwrap();
        assert_eq!(f.call(&mut store, 1_000_000).unwrap(), 1_000_000);
        assert_eq!(store.exception_heap_usage(), (0, 0), "{name}");
    }
    let keep = instance
        .get_typed_func::<i32, i32>(&mut store, "keep")
        .unwrap();
    keep.call(&mut store, 10).unwrap();
    let (count, bytes) = store.exception_heap_usage();
    // Below the first collection's threshold (unless every throw collects).
    let expected = if cfg!(feature = "gc-zeal") { 1 } else { 10 };
    assert_eq!(count, expected);
    assert_eq!(bytes, expected * (32 + 2 * 16));
    keep.call(&mut store, 1_000_000).unwrap();
    let (count, bytes) = store.exception_heap_usage();
    // Collections run when the count reaches 1024, and keep nothing.
    assert!(count <= 1024, "{count} objects left");
    assert_eq!(bytes, count * (32 + 2 * 16));

    // Uncaught exceptions live as long as their `ThrownException`s.
    let uncaught = instance
        .get_typed_func::<i32, ()>(&mut store, "uncaught")
        .unwrap();
    let mut kept = None;
    for i in 0..100_000 {
        let err = uncaught.call(&mut store, i).unwrap_err();
        let thrown = err.downcast_ref::<ThrownException>().unwrap();
        assert_eq!(thrown.exn().field(&mut store, 0).unwrap().unwrap_i32(), i);
        if i == 7 {
            kept = Some((thrown.clone(), thrown.exn()));
        }
        if i == 8 {
            let (_, exn) = kept.as_ref().unwrap();
            assert_eq!(exn.field(&mut store, 0).unwrap().unwrap_i32(), 7);
        }
    }
    let (count, _) = store.exception_heap_usage();
    assert!(
        count <= 1024,
        "{count} objects after 100,000 uncaught throws"
    );
    // The clone of the error kept its exception through the collections;
    // without it the reference stops working once a collection ran.
    let (thrown, exn) = kept.unwrap();
    assert_eq!(exn.field(&mut store, 0).unwrap().unwrap_i32(), 7);
    drop(thrown);
    for i in 0..2000 {
        uncaught.call(&mut store, i).unwrap_err();
    }
    let err = exn.fields(&mut store).unwrap_err();
    assert!(err.to_string().contains("ThrownException"), "{err}");
    // Nothing refers to any exception any more.
    store.gc();
    assert_eq!(store.exception_heap_usage(), (0, 0));
}

/// Exceptions held only by wasm survive collections wherever the
/// reference is: a local, a global, a table, another exception's payload,
/// the operand stack across calls, a loop parameter, a typed `select`'s
/// result, and the frames of an activation that called the host, which
/// called wasm again. Each is checked by its payload after thousands of
/// garbage exceptions were thrown and collected around it; for a module
/// compiled here and one loaded from an artifact.
#[test]
fn collections_keep_reachable_exceptions() {
    for engine in crate::engines() {
        let module = Module::new(
            &engine,
            format!(
                r#"(module
              (import "host" "reenter" (func $reenter (param i32)))
              (tag $e (param i32))
              (tag $wrap (param exnref))
              (global $g (export "g") (mut exnref) (ref.null exn))
              (table $t (export "t") 4 exnref)
              (func $throw (param i32) (throw $e (local.get 0)))
              {EXNREF_HELPERS}
              ;; The payload of an exception of tag $e.
              (func $payload (param exnref) (result i32)
                (block $h (result i32)
                  (try_table (catch $e $h) (throw_ref (local.get 0)))
                  (unreachable)))
              ;; An exception of tag $wrap around $x, and back.
              (func $wrap (param $x exnref) (result exnref)
                (local $w exnref)
                (block $h (result exnref exnref)
                  (try_table (catch_ref $wrap $h) (throw $wrap (local.get $x)))
                  (unreachable))
                (local.set $w) (drop) (local.get $w))
              (func $unwrap (param exnref) (result exnref)
                (block $h (result exnref)
                  (try_table (catch $wrap $h) (throw_ref (local.get 0)))
                  (unreachable)))
              (func (export "run") (param $n i32) (result i32)
                (local $a exnref) (local $w exnref)
                (local $selected i32) (local $stacked i32)
                (local.set $a (call $caught_ref (i32.const 1)))
                (global.set $g (call $caught_ref (i32.const 2)))
                (table.set $t (i32.const 3) (call $caught_ref (i32.const 3)))
                (local.set $w (call $wrap (call $caught_ref (i32.const 4))))
                (call $caught_ref (i32.const 5)) ;; stays on the operand stack
                (select (result exnref)
                  (call $caught_ref (i32.const 6)) (ref.null exn) (i32.const 1))
                (call $churn (local.get $n))
                (call $reenter (local.get $n))
                (call $churn (local.get $n))
                (local.set $selected (call $payload))
                (local.set $stacked (call $payload))
                (i32.mul (local.get $selected) (i32.const 100000))
                (i32.add (i32.mul (local.get $stacked) (i32.const 10000)))
                (i32.add (call $payload (local.get $a)))
                (i32.add (i32.mul (call $payload (global.get $g)) (i32.const 10)))
                (i32.add (i32.mul (call $payload (table.get $t (i32.const 3))) (i32.const 100)))
                (i32.add (i32.mul (call $payload (call $unwrap (local.get $w))) (i32.const 1000))))
              ;; An exception carried as a loop parameter through $n rounds.
              (func (export "carry") (param $n i32) (result i32)
                (call $caught_ref (i32.const 7))
                (loop $l (param exnref) (result exnref)
                  (call $churn (i32.const 300))
                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br_if $l (local.get $n)))
                (call $payload)))"#,
            ),
        )
        .unwrap();
        // The stack maps travel in artifacts too.
        let bytes = module.serialize().unwrap();
        // SAFETY: `bytes` was just serialized by this engine.
        let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
        for module in [module, loaded] {
            let mut store = Store::new(&engine, ());
            let reenter = Func::wrap(
                &mut store,
                |mut caller: keel::Caller<'_, ()>, n: i32| -> keel::Result<()> {
                    // Hold an exception in this activation too, across the
                    // nested one's collections.
                    let churn = caller.get_export("churn").unwrap().into_func().unwrap();
                    churn.typed::<i32, ()>(&caller)?.call(&mut caller, n)
                },
            );
            let mut linker = Linker::new(&engine);
            linker.define(&store, "host", "reenter", reenter).unwrap();
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let run = instance
                .get_typed_func::<i32, i32>(&mut store, "run")
                .unwrap();
            assert_eq!(run.call(&mut store, 5000).unwrap(), 654_321);
            let (count, _) = store.exception_heap_usage();
            assert!(count < 3000, "{count} objects after 15,000 garbage throws");
            let carry = instance
                .get_typed_func::<i32, i32>(&mut store, "carry")
                .unwrap();
            assert_eq!(carry.call(&mut store, 20).unwrap(), 7);
            // A collection outside calls keeps what the global and the
            // table hold, and nothing else wasm made.
            store.gc();
            assert_eq!(store.exception_heap_usage().0, 2);
            let g = instance
                .get_global(&mut store, "g")
                .unwrap()
                .get(&mut store);
            let Val::ExnRef(Some(g)) = g else {
                panic!("{g:?}")
            };
            assert_eq!(g.field(&mut store, 0).unwrap().unwrap_i32(), 2);
            let t = instance.get_table(&mut store, "t").unwrap();
            let Some(keel::Ref::Exn(Some(t3))) = t.get(&mut store, 3) else {
                panic!("table element 3")
            };
            assert_eq!(t3.field(&mut store, 0).unwrap().unwrap_i32(), 3);
            assert_eq!(run.call(&mut store, 3000).unwrap(), 654_321);
        }
    }
}

/// The epoch callback runs inside a builtin, where the interrupted wasm's
/// frames cannot be walked: wasm it calls may throw as much as it likes,
/// and the exception the interrupted function keeps in a local survives
/// (collections wait until the callback is over).
#[test]
fn wasm_called_from_the_epoch_callback_does_not_collect_the_interrupted_frames() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        format!(
            r#"(module
          (import "host" "tick" (func $tick))
          (tag $e (param i32))
          (func $throw (param i32) (throw $e (local.get 0)))
          ;; The last exit to the host is from a frame gone by the time
          ;; the callback runs.
          (func $tick_in_callee (call $tick))
          {EXNREF_HELPERS}
          ;; Keeps an exception in a local across a loop, whose header
          ;; checks the epoch: the callback runs there.
          (func (export "keep") (param $v i32) (result i32)
            (local $kept exnref) (local $i i32)
            (local.set $kept (call $caught_ref (local.get $v)))
            (call $tick_in_callee)
            (loop $l
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
            (call $churn (i32.const 3000))
            (block $h (result i32)
              (try_table (catch $e $h) (throw_ref (local.get $kept)))
              (i32.const -1))))"#,
        ),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let ticker = engine.clone();
    let tick = Func::wrap(&mut store, move || ticker.increment_epoch());
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "tick", tick).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let churn = instance.get_func(&mut store, "churn").unwrap();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    store.epoch_deadline_callback(move |mut ctx| {
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.set_epoch_deadline(1000);
        churn.call(&mut ctx, &[Val::I32(3000)], &mut [])?;
        Ok(keel::UpdateDeadline::Continue(1000))
    });
    store.set_epoch_deadline(1);
    let keep = instance
        .get_typed_func::<i32, i32>(&mut store, "keep")
        .unwrap();
    assert_eq!(keep.call(&mut store, 77).unwrap(), 77);
    assert!(calls.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    // After the callback, collections run again.
    store.gc();
    assert!(store.exception_heap_usage().0 <= 1024);
}

/// A host function that throws an exception whose `ThrownException` was
/// dropped and which was collected since returns an ordinary error, not
/// a dangling exception.
#[test]
fn rethrowing_a_collected_exception_is_an_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "rethrow" (func $rethrow))
          (tag $e (export "e") (param i32))
          (func (export "fail") (param i32) (throw $e (local.get 0)))
          (func (export "call_rethrow") (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (call $rethrow))
              (i32.const -1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let stale: std::sync::Arc<std::sync::Mutex<Option<ExnRef>>> = Default::default();
    let held = stale.clone();
    let rethrow = Func::wrap(&mut store, move || -> keel::Result<()> {
        let exn = held.lock().unwrap().expect("set before the call");
        Err(ThrownException::new(exn).into())
    });
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "rethrow", rethrow).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let fail = instance
        .get_typed_func::<i32, ()>(&mut store, "fail")
        .unwrap();
    let call_rethrow = instance
        .get_typed_func::<(), i32>(&mut store, "call_rethrow")
        .unwrap();

    // While its error lives, the exception can be rethrown into wasm.
    let err = fail.call(&mut store, 5).unwrap_err();
    *stale.lock().unwrap() = Some(err.downcast_ref::<ThrownException>().unwrap().exn());
    assert_eq!(call_rethrow.call(&mut store, ()).unwrap(), 5);
    // Once the error is gone and a collection ran, it cannot.
    drop(err);
    store.gc();
    let err = call_rethrow.call(&mut store, ()).unwrap_err();
    let thrown = err.downcast_ref::<ThrownException>().unwrap();
    assert!(thrown.exn().fields(&mut store).is_err());
}
