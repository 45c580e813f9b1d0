//! Async calls (issue 14): a guest suspended and resumed by an async host
//! function (a yield/resume round trip), an async host call that completes
//! at once, an empty `call_async`, and the cost of `async_support` on
//! plain synchronous calls; keel and Wasmtime 48 (async support on) in
//! the same run. Futures are polled by a loop with a no-op waker, the same
//! for both runtimes.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench async_calls`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Host calls per guest call in the loops below.
const CALLS: i32 = 1000;

/// The guest: `loop(n)` calls `host.f` n times; `nop()` does nothing.
const GUEST: &str = r#"(module
    (import "host" "f" (func $f))
    (func (export "loop") (param i32)
        (loop $l
            (call $f)
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_if $l (local.get 0))))
    (func (export "nop")))"#;

/// Pending `n` times (waking its task at once), then ready.
struct PendingFor(u32);

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

/// Poll to completion with a no-op waker.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// keel: `loop` and `nop` with `host.f` an async host function pending
/// `pending` times per call.
fn keel_guest(
    pending: u32,
) -> (
    keel::Store<()>,
    keel::TypedFunc<i32, ()>,
    keel::TypedFunc<(), ()>,
) {
    let mut config = keel::Config::new();
    config.async_support(true);
    let engine = keel::Engine::new(&config).unwrap();
    let module = keel::Module::new(&engine, GUEST).unwrap();
    let mut linker = keel::Linker::new(&engine);
    linker
        .func_wrap_async("host", "f", move |_caller, (): ()| {
            Box::new(PendingFor(pending))
        })
        .unwrap();
    let mut store = keel::Store::new(&engine, ());
    let instance = block_on(linker.instantiate_async(&mut store, &module)).unwrap();
    let lp = instance.get_typed_func(&mut store, "loop").unwrap();
    let nop = instance.get_typed_func(&mut store, "nop").unwrap();
    (store, lp, nop)
}

/// Wasmtime: the same.
fn wasmtime_guest(
    pending: u32,
) -> (
    wasmtime::Store<()>,
    wasmtime::TypedFunc<i32, ()>,
    wasmtime::TypedFunc<(), ()>,
) {
    // Wasmtime 48 needs no `async_support` (deprecated, without effect).
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, wat::parse_str(GUEST).unwrap()).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    linker
        .func_wrap_async("host", "f", move |_caller, (): ()| {
            Box::new(PendingFor(pending))
        })
        .unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = block_on(linker.instantiate_async(&mut store, &module)).unwrap();
    let lp = instance.get_typed_func(&mut store, "loop").unwrap();
    let nop = instance.get_typed_func(&mut store, "nop").unwrap();
    (store, lp, nop)
}

fn async_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("async");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));

    // A yield/resume round trip: each host call is pending once.
    {
        let (mut ks, kl, _) = keel_guest(1);
        let (mut ws, wl, _) = wasmtime_guest(1);
        group.bench_function(BenchmarkId::new("yield_resume_x1000", "keel"), |b| {
            b.iter(|| block_on(kl.call_async(&mut ks, CALLS)).unwrap())
        });
        group.bench_function(BenchmarkId::new("yield_resume_x1000", "wasmtime"), |b| {
            b.iter(|| block_on(wl.call_async(&mut ws, CALLS)).unwrap())
        });
    }
    // An async host call whose future is ready at once.
    {
        let (mut ks, kl, knop) = keel_guest(0);
        let (mut ws, wl, wnop) = wasmtime_guest(0);
        group.bench_function(BenchmarkId::new("async_host_call_x1000", "keel"), |b| {
            b.iter(|| block_on(kl.call_async(&mut ks, CALLS)).unwrap())
        });
        group.bench_function(BenchmarkId::new("async_host_call_x1000", "wasmtime"), |b| {
            b.iter(|| block_on(wl.call_async(&mut ws, CALLS)).unwrap())
        });
        // An empty call_async: a fiber switch in and out.
        group.bench_function(BenchmarkId::new("call_async_nop", "keel"), |b| {
            b.iter(|| block_on(knop.call_async(&mut ks, ())).unwrap())
        });
        group.bench_function(BenchmarkId::new("call_async_nop", "wasmtime"), |b| {
            b.iter(|| block_on(wnop.call_async(&mut ws, ())).unwrap())
        });
    }
    // The cost of async support on plain calls: a synchronous call of an
    // empty function and of a loop of 1000 synchronous host calls, in
    // engines with and without it (keel allows synchronous calls with
    // async support on), two engines of each, interleaved, so that the
    // spread between identical engines (code placement) shows next to any
    // difference the setting makes.
    for (k, async_support) in [false, true, false, true].into_iter().enumerate() {
        let mut config = keel::Config::new();
        config.async_support(async_support);
        let engine = keel::Engine::new(&config).unwrap();
        let module = keel::Module::new(&engine, GUEST).unwrap();
        let mut linker = keel::Linker::new(&engine);
        linker.func_wrap("host", "f", || {}).unwrap();
        let mut store = keel::Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let lp = instance
            .get_typed_func::<i32, ()>(&mut store, "loop")
            .unwrap();
        let nop = instance
            .get_typed_func::<(), ()>(&mut store, "nop")
            .unwrap();
        let name = format!(
            "{}_{k}",
            if async_support {
                "async_on"
            } else {
                "async_off"
            }
        );
        group.bench_function(BenchmarkId::new("sync_call_nop", &name), |b| {
            b.iter(|| nop.call(&mut store, ()).unwrap())
        });
        group.bench_function(BenchmarkId::new("sync_host_call_x1000", &name), |b| {
            b.iter(|| lp.call(&mut store, CALLS).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, async_calls);
criterion_main!(benches);
