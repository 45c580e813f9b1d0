//! Async calls: guests suspended by async host functions, epoch deadlines
//! and fuel, resumed later (also on other threads), cancelled by dropping
//! their futures; traps, stack overflows and panics on the call's stack.

#[path = "support/rerun.rs"]
mod rerun;
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use keel::{Config, Engine, Func, Instance, Linker, Module, Store, Trap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Poll `future` to completion with a no-op waker; the output and how
/// many polls returned `Pending`.
fn run<F: Future>(future: F) -> (F::Output, usize) {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let mut pending = 0;
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return (output, pending),
            Poll::Pending => pending += 1,
        }
    }
}

/// Pending `n` times (waking its task each time), then ready.
struct PendingFor(usize);

impl Future for PendingFor {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn async_engine(configure: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    config.async_support(true);
    configure(&mut config);
    Engine::new(&config).unwrap()
}

/// A linker with `host::sleep(n)`: pending n polls, then returns n + 1.
fn sleeper(engine: &Engine) -> Linker<()> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap_async("host", "sleep", |_caller, (n,): (i32,)| {
            Box::new(async move {
                PendingFor(n as usize).await;
                n + 1
            })
        })
        .unwrap();
    linker
}

/// An instance of `wat` (which imports `host.sleep`) in a new store of
/// an async engine.
fn sleeper_instance(wat: &str) -> (Store<()>, Instance) {
    let engine = async_engine(|_| {});
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = sleeper(&engine).instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn async_host_function_suspends_the_guest() {
    let engine = async_engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
                (i32.add (call $sleep (local.get 0)) (i32.const 100))))"#,
    )
    .unwrap();
    let linker = sleeper(&engine);
    let mut store = Store::new(&engine, ());
    let (instance, pending) = run(linker.instantiate_async(&mut store, &module));
    let instance = instance.unwrap();
    assert_eq!(pending, 0);
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let (r, pending) = run(f.call_async(&mut store, 5));
    assert_eq!(r.unwrap(), 106);
    assert_eq!(pending, 5);
    // The untyped API too.
    let func = instance.get_func(&mut store, "run").unwrap();
    let mut results = [keel::Val::I32(0)];
    let (r, pending) = run(func.call_async(&mut store, &[keel::Val::I32(3)], &mut results));
    r.unwrap();
    assert_eq!(results[0].unwrap_i32(), 104);
    assert_eq!(pending, 3);
    // A synchronous call that reaches the async host function fails.
    let err = f.call(&mut store, 1).unwrap_err();
    assert!(
        format!("{err:#}").contains("call_async"),
        "unexpected error: {err:#}"
    );
    // The store still works afterwards.
    assert_eq!(run(f.call_async(&mut store, 0)).0.unwrap(), 101);
}

fn module_for(engine: &Engine) -> Module {
    Module::new(engine, r#"(module (func (export "f")))"#).unwrap()
}

#[test]
fn async_calls_need_async_support() {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (func (export "f")))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let err = run(f.call_async(&mut store, ())).0.unwrap_err();
    assert!(format!("{err}").contains("async_support"), "{err}");
    let mut linker = Linker::<()>::new(&engine);
    let err = linker
        .func_wrap_async("host", "f", |_, (): ()| Box::new(async {}))
        .err()
        .unwrap();
    assert!(format!("{err}").contains("async_support"), "{err}");
    assert!(
        run(Instance::new_async(&mut store, &module, &[]))
            .0
            .is_err()
    );
    // max_wasm_stack must fit in the async stack, which must leave room
    // for host frames.
    let mut config = Config::new();
    config.async_support(true).async_stack_size(64 * 1024);
    assert!(Engine::new(&config).is_err());
    config.max_wasm_stack(4096).async_stack_size(4096);
    let err = Engine::new(&config).err().unwrap();
    assert!(format!("{err}").contains("at least"), "{err}");
    config.async_stack_size(usize::MAX);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module_for(&engine), &[]).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let err = run(f.call_async(&mut store, ())).0.unwrap_err();
    assert!(format!("{err:#}").contains("stack"), "{err:#}");
}

#[test]
fn yields_from_deep_recursion() {
    let (mut store, instance) = sleeper_instance(
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (func $down (export "down") (param i32) (result i32)
                (if (result i32) (i32.eqz (local.get 0))
                    (then (call $sleep (i32.const 2)))
                    (else (i32.add (i32.const 1)
                        (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#,
    );
    let down = instance
        .get_typed_func::<i32, i32>(&mut store, "down")
        .unwrap();
    let (r, pending) = run(down.call_async(&mut store, 5000));
    assert_eq!(r.unwrap(), 5003);
    assert_eq!(pending, 2);
}

#[test]
fn stack_overflow_traps_on_the_async_stack() {
    let engine = async_engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module (func $f (export "f") (param i32) (result i32)
            (i32.add (call $f (local.get 0)) (i32.const 1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "f")
        .unwrap();
    for _ in 0..3 {
        let err = run(f.call_async(&mut store, 0)).0.unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>().copied(),
            Some(Trap::StackOverflow)
        );
    }
}

#[test]
fn traps_and_backtraces_on_the_async_stack() {
    let (mut store, instance) = sleeper_instance(
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (memory 1)
            (func $inner (param i32) (result i32)
                (drop (call $sleep (i32.const 1)))
                (i32.load (local.get 0)))
            (func (export "outer") (param i32) (result i32)
                (call $inner (local.get 0))))"#,
    );
    let outer = instance
        .get_typed_func::<i32, i32>(&mut store, "outer")
        .unwrap();
    let err = run(outer.call_async(&mut store, 1 << 20)).0.unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied(),
        Some(Trap::MemoryOutOfBounds)
    );
    let bt = err.downcast_ref::<keel::WasmBacktrace>().unwrap();
    let frames: Vec<u32> = bt.frames().iter().map(|f| f.func_index).collect();
    assert_eq!(frames, [1, 2], "{bt:?}");
}

#[test]
fn host_panics_come_out_of_poll() {
    let engine = async_engine(|_| {});
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap_async("host", "boom", |_caller, (x,): (i32,)| {
            Box::new(async move {
                PendingFor(1).await;
                if x == 0 {
                    panic!("host future panicked");
                }
            })
        })
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "boom" (func $b (param i32)))
            (func (export "f") (call $b (i32.const 0))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(f.call_async(&mut store, ()))
    }));
    let payload = r.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"host future panicked")
    );
    // The store is usable after the panic.
    let module = Module::new(
        &engine,
        r#"(module (func (export "g") (result i32) i32.const 9))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let g = instance.get_typed_func::<(), i32>(&mut store, "g").unwrap();
    assert_eq!(run(g.call_async(&mut store, ())).0.unwrap(), 9);
}

#[test]
fn yields_inside_host_wasm_host_nesting() {
    let engine = async_engine(|_| {});
    let mut linker = sleeper(&engine);
    // host::reenter calls the instance's `leaf` export synchronously; leaf
    // calls the async sleep, which must suspend the whole nest.
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: keel::Caller<'_, ()>, x: i32| {
                let leaf = caller.get_export("leaf").unwrap().into_func().unwrap();
                let leaf = leaf.typed::<i32, i32>(&caller).unwrap();
                leaf.call(&mut caller, x).map(|v| v * 2)
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (import "host" "reenter" (func $reenter (param i32) (result i32)))
            (func (export "leaf") (param i32) (result i32) (call $sleep (local.get 0)))
            (func (export "top") (param i32) (result i32)
                (i32.add (call $reenter (local.get 0)) (i32.const 1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let top = instance
        .get_typed_func::<i32, i32>(&mut store, "top")
        .unwrap();
    let (r, pending) = run(top.call_async(&mut store, 4));
    assert_eq!(r.unwrap(), (4 + 1) * 2 + 1);
    assert_eq!(pending, 4);
}

#[test]
fn resumes_on_other_threads() {
    let (mut store, instance) = sleeper_instance(
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
                (local $i i32) (local $sum i32)
                (loop $l
                    (local.set $sum (i32.add (local.get $sum) (call $sleep (i32.const 1))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
                (local.get $sum)))"#,
    );
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let mut future = Box::pin(f.call_async(&mut store, 8));
    let mut cx = Context::from_waker(Waker::noop());
    // Each poll runs the guest to its next suspension, on a new thread.
    let mut polls = 0;
    let result = loop {
        polls += 1;
        let (returned, poll) = std::thread::scope(|s| {
            s.spawn(move || {
                let mut cx = Context::from_waker(Waker::noop());
                let poll = future.as_mut().poll(&mut cx);
                (future, poll)
            })
            .join()
            .unwrap()
        });
        future = returned;
        if let Poll::Ready(r) = poll {
            break r;
        }
        // And sometimes on this thread.
        if polls % 3 == 0
            && let Poll::Ready(r) = future.as_mut().poll(&mut cx)
        {
            break r;
        }
    };
    assert_eq!(result.unwrap(), 16);
}

#[test]
fn dropping_a_suspended_call_cancels_it_and_frees_its_stack() {
    let engine = async_engine(|_| {});
    let held = Arc::new(());
    let finished = Arc::new(AtomicUsize::new(0));
    let mut linker = Linker::new(&engine);
    let (h, done) = (held.clone(), finished.clone());
    linker
        .func_wrap_async("host", "wait", move |_caller, (): ()| {
            let h = h.clone();
            let done = done.clone();
            Box::new(async move {
                let _h = h;
                PendingFor(usize::MAX).await;
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "wait" (func $w)) (func (export "f") (call $w)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let maps_before = mappings();
    for _ in 0..1000 {
        let mut future = Box::pin(f.call_async(&mut store, ()));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..3 {
            assert!(future.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(
            Arc::strong_count(&held),
            3,
            "the host future is alive while suspended"
        );
        drop(future);
        assert_eq!(
            Arc::strong_count(&held),
            2,
            "cancelling dropped the host future"
        );
    }
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    // Stacks are reused or freed: the process did not gain a mapping per
    // cancelled call.
    let maps_after = mappings();
    assert!(
        maps_after < maps_before + 50,
        "mappings grew from {maps_before} to {maps_after}"
    );
    // Dropping a store with a cached stack frees it too.
    drop(store);
}

/// The number of memory mappings of this process.
fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

/// The global allocator of this test binary: the system's, counting the
/// net heap bytes each thread allocates, so that a leak check does not
/// see what tests on other threads (or a panic's backtrace) allocate.
struct Counting;

std::thread_local!(static NET_HEAP_BYTES: std::cell::Cell<isize> = const { std::cell::Cell::new(0) });

fn count(delta: isize) {
    let _ = NET_HEAP_BYTES.try_with(|n| n.set(n.get() + delta));
}

// SAFETY: every method forwards to `System` with the same arguments.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count(-(layout.size() as isize));
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        count(new as isize - layout.size() as isize);
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap bytes this thread has allocated and not freed.
fn net_heap_bytes() -> isize {
    NET_HEAP_BYTES.with(std::cell::Cell::get)
}

/// A million yields leak no heap memory and no mappings. The count of
/// mappings is the process's, so the measurement runs alone in a child
/// process (`a_million_yields_child`): tests running beside it on other
/// threads map and unmap memories and stacks, and under qemu-user, where
/// the million yields take long, they overlap it.
#[test]
fn a_million_yields_leak_nothing() {
    let output = rerun::this_test_binary()
        .args([
            "--exact",
            "a_million_yields_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEEL_YIELDS_CHILD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}

/// The measurement of `a_million_yields_leak_nothing`, in a child process.
#[test]
fn a_million_yields_child() {
    if std::env::var_os("KEEL_YIELDS_CHILD").is_none() {
        return;
    }
    let (mut store, instance) = sleeper_instance(
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (func (export "run") (param i32)
                (loop $l
                    (drop (call $sleep (i32.const 1)))
                    (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                    (br_if $l (local.get 0)))))"#,
    );
    let f = instance
        .get_typed_func::<i32, ()>(&mut store, "run")
        .unwrap();
    // Warm up (first stack, allocator pools), then measure.
    run(f.call_async(&mut store, 1000)).0.unwrap();
    // The guest and its polls run on this thread, so its net heap bytes
    // are the call's (the fiber stack is mapped, and reused).
    let maps_before = mappings();
    let before = net_heap_bytes();
    let (r, pending) = run(f.call_async(&mut store, 1_000_000));
    r.unwrap();
    assert_eq!(pending, 1_000_000);
    let after = net_heap_bytes();
    assert!(
        after - before < 4096,
        "the heap grew by {} bytes over a million yields",
        after - before
    );
    assert!(
        mappings() < maps_before + 50,
        "mappings grew over a million yields"
    );
}

#[test]
fn epoch_deadlines_yield_and_guests_take_turns() {
    let engine = async_engine(|c| {
        c.epoch_interruption(true);
    });
    let module = Module::new(
        &engine,
        r#"(module
            (global $n (mut i32) (i32.const 0))
            (func (export "count") (param i32) (result i32)
                (loop $l
                    (global.set $n (i32.add (global.get $n) (i32.const 1)))
                    (br_if $l (i32.lt_u (global.get $n) (local.get 0))))
                (global.get $n)))"#,
    )
    .unwrap();
    // Three guests, round-robin: each poll runs one until the epoch moves.
    let mut stores: Vec<Store<()>> = (0..3).map(|_| Store::new(&engine, ())).collect();
    let mut funcs = Vec::new();
    for store in &mut stores {
        store.epoch_deadline_async_yield_and_update(1);
        store.set_epoch_deadline(1);
        let instance = Instance::new(&mut *store, &module, &[]).unwrap();
        funcs.push(
            instance
                .get_typed_func::<i32, i32>(&mut *store, "count")
                .unwrap(),
        );
    }
    let mut futures: Vec<_> = stores
        .iter_mut()
        .zip(&funcs)
        .map(|(store, f)| Some(Box::pin(f.call_async(store, 20_000_000))))
        .collect();
    let engine2 = engine.clone();
    let ticker = std::thread::spawn(move || {
        for _ in 0..2000 {
            std::thread::sleep(std::time::Duration::from_micros(500));
            engine2.increment_epoch();
        }
    });
    let mut cx = Context::from_waker(Waker::noop());
    let mut yields = [0usize; 3];
    while futures.iter().any(Option::is_some) {
        for (i, slot) in futures.iter_mut().enumerate() {
            let Some(future) = slot else { continue };
            match future.as_mut().poll(&mut cx) {
                Poll::Pending => yields[i] += 1,
                Poll::Ready(r) => {
                    assert_eq!(r.unwrap(), 20_000_000);
                    *slot = None;
                }
            }
        }
    }
    ticker.join().unwrap();
    assert!(
        yields.iter().all(|&y| y > 0),
        "every guest yielded: {yields:?}"
    );
    // A synchronous call that reaches the deadline cannot yield.
    let mut store = Store::new(&engine, ());
    store.epoch_deadline_async_yield_and_update(1);
    store.set_epoch_deadline(0);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    engine.increment_epoch();
    let err = f.call(&mut store, 100).unwrap_err();
    assert!(format!("{err:#}").contains("call_async"), "{err:#}");
}

#[test]
fn fuel_yields_at_its_interval_and_still_runs_out() {
    let engine = async_engine(|c| {
        c.consume_fuel(true);
    });
    let module = Module::new(
        &engine,
        r#"(module (func (export "spin") (param i32)
            (loop $l
                (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                (br_if $l (local.get 0)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(1_000_000).unwrap();
    assert!(store.fuel_async_yield_interval(Some(0)).is_err());
    store.fuel_async_yield_interval(Some(10_000)).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<i32, ()>(&mut store, "spin")
        .unwrap();
    let (r, pending) = run(f.call_async(&mut store, 10_000));
    r.unwrap();
    let used = 1_000_000 - store.get_fuel().unwrap();
    assert!(
        pending >= (used / 10_000) as usize - 1 && pending <= (used / 10_000) as usize + 1,
        "{pending} yields for {used} fuel"
    );
    assert!(pending > 0);
    // The store's fuel still bounds the guest.
    let (r, _) = run(f.call_async(&mut store, i32::MAX));
    assert_eq!(
        r.unwrap_err().downcast_ref::<Trap>().copied(),
        Some(Trap::OutOfFuel)
    );
    assert_eq!(store.get_fuel().unwrap(), 0);
}

#[test]
fn start_functions_run_async() {
    let engine = async_engine(|_| {});
    let linker = sleeper(&engine);
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (global $g (export "g") (mut i32) (i32.const 0))
            (func $start (global.set $g (call $sleep (i32.const 3))))
            (start $start))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let (instance, pending) = run(linker.instantiate_async(&mut store, &module));
    let instance = instance.unwrap();
    assert_eq!(pending, 3);
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(g.get(&mut store).unwrap_i32(), 4);
    // Instantiating synchronously reaches the async import and fails.
    assert!(linker.instantiate(&mut store, &module).is_err());
}

#[test]
fn func_wrap_async_on_a_store() {
    let engine = async_engine(|_| {});
    let mut store = Store::new(&engine, 7i64);
    let f = Func::wrap_async(&mut store, |caller: keel::Caller<'_, i64>, (x,): (i64,)| {
        let base = *caller.data();
        Box::new(async move {
            PendingFor(2).await;
            Ok::<_, keel::Error>(x + base)
        })
    });
    let module = Module::new(
        &engine,
        r#"(module (import "" "f" (func $f (param i64) (result i64)))
            (func (export "g") (result i64) (call $f (i64.const 35))))"#,
    )
    .unwrap();
    let (instance, _) = run(Instance::new_async(&mut store, &module, &[f.into()]));
    let instance = instance.unwrap();
    let g = instance.get_typed_func::<(), i64>(&mut store, "g").unwrap();
    let (r, pending) = run(g.call_async(&mut store, ()));
    assert_eq!(r.unwrap(), 42);
    assert_eq!(pending, 2);
}

/// A one-shot channel: the receiver's future is pending until another
/// thread sends, which wakes the task that polled it.
#[derive(Default)]
struct Oneshot {
    value: std::sync::Mutex<(Option<i32>, Option<Waker>)>,
}

struct Receive(Arc<Oneshot>);

impl Future for Receive {
    type Output = i32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i32> {
        let mut slot = self.0.value.lock().unwrap();
        match slot.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Wakes a parked thread.
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

#[test]
fn host_futures_are_woken_by_other_threads() {
    // A real executor: park until woken. The guest awaits a channel that
    // another thread fills later; the executor thread sleeps meanwhile
    // instead of spinning, and the host future keeps the `Caller` across
    // its await.
    let engine = async_engine(|_| {});
    let channel = Arc::new(Oneshot::default());
    let mut linker: Linker<i32> = Linker::new(&engine);
    let rx = channel.clone();
    linker
        .func_wrap_async(
            "host",
            "recv",
            move |mut caller: keel::Caller<'_, i32>, (): ()| {
                let rx = rx.clone();
                Box::new(async move {
                    let v = Receive(rx).await;
                    *caller.data_mut() += 1;
                    v + *caller.data()
                })
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "recv" (func $r (result i32)))
            (func (export "f") (result i32) (i32.mul (call $r) (i32.const 2))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 10);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    let tx = channel.clone();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut slot = tx.value.lock().unwrap();
        slot.0 = Some(100);
        if let Some(waker) = slot.1.take() {
            waker.wake();
        }
    });
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    let result = {
        let mut future = pin!(f.call_async(&mut store, ()));
        loop {
            polls += 1;
            if let Poll::Ready(r) = future.as_mut().poll(&mut cx) {
                break r;
            }
            std::thread::park();
        }
    };
    sender.join().unwrap();
    assert_eq!(result.unwrap(), (100 + 11) * 2);
    assert!(
        polls >= 2,
        "the guest was suspended while the channel was empty"
    );
    assert!(
        polls < 100,
        "the executor spun instead of sleeping: {polls} polls"
    );
    assert_eq!(*store.data(), 11);
}

/// The futures of every async entry point are `Send` for `Send` data.
#[test]
fn async_futures_are_send() {
    fn assert_send<F: Future + Send>(f: F) -> F {
        f
    }
    let engine = async_engine(|_| {});
    let module = Module::new(&engine, r#"(module (func (export "f")))"#).unwrap();
    let linker = Linker::<Vec<u8>>::new(&engine);
    let mut store = Store::new(&engine, Vec::new());
    let instance = run(assert_send(linker.instantiate_async(&mut store, &module)))
        .0
        .unwrap();
    let func = instance.get_func(&mut store, "f").unwrap();
    run(assert_send(func.call_async(&mut store, &[], &mut [])))
        .0
        .unwrap();
    let typed = func.typed::<(), ()>(&store).unwrap();
    run(assert_send(typed.call_async(&mut store, ())))
        .0
        .unwrap();
    run(assert_send(Instance::new_async(&mut store, &module, &[])))
        .0
        .unwrap();
}

#[test]
fn async_host_functions_may_make_async_calls() {
    // host.outer awaits a `call_async` of the instance's `leaf`, which
    // sleeps: a fiber polled from inside another fiber.
    let engine = async_engine(|_| {});
    let mut linker = sleeper(&engine);
    linker
        .func_wrap_async(
            "host",
            "outer",
            |mut caller: keel::Caller<'_, ()>, (x,): (i32,)| {
                Box::new(async move {
                    let leaf = caller.get_export("leaf").unwrap().into_func().unwrap();
                    let leaf = leaf.typed::<i32, i32>(&caller).unwrap();
                    PendingFor(1).await;
                    let v = leaf.call_async(&mut caller, x).await?;
                    Ok::<_, keel::Error>(v * 10)
                })
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "sleep" (func $sleep (param i32) (result i32)))
            (import "host" "outer" (func $outer (param i32) (result i32)))
            (func (export "leaf") (param i32) (result i32) (call $sleep (local.get 0)))
            (func (export "top") (param i32) (result i32) (call $outer (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let top = instance
        .get_typed_func::<i32, i32>(&mut store, "top")
        .unwrap();
    let (r, pending) = run(top.call_async(&mut store, 3));
    assert_eq!(r.unwrap(), 40);
    assert_eq!(pending, 1 + 3);
    // And cancelled half-way through the inner call.
    let mut future = Box::pin(top.call_async(&mut store, 5));
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..3 {
        assert!(future.as_mut().poll(&mut cx).is_pending());
    }
    drop(future);
    assert_eq!(run(top.call_async(&mut store, 0)).0.unwrap(), 10);
}
