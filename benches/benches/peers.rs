//! keel side by side with Wasmtime and wasmi (default configurations),
//! and native code (`gcc -O2`) for the execution workloads.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench peers`;
//! `benches/report` runs this and writes BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keel_benches::{
    Ret, generated_module, instantiation_cases, keel_runner, wasmi_runner, wasmtime_runner,
    wasmtime_runner_with, workloads,
};
use std::time::{Duration, Instant};

fn compile(c: &mut Criterion) {
    // About 1 KB: the SHA-256 workload as clang built it.
    let small = include_bytes!("../workloads/sha256.wasm").to_vec();
    let medium = generated_module(100 * 1024);
    let large = generated_module(1024 * 1024);
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for (size, bytes) in [("small", &small), ("medium", &medium), ("large", &large)] {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let keel_engine = keel::Engine::default();
        group.bench_with_input(BenchmarkId::new(size, "keel"), bytes, |b, bytes| {
            b.iter(|| keel::Module::new(&keel_engine, bytes).unwrap())
        });
        let wasmtime_engine = wasmtime::Engine::default();
        group.bench_with_input(BenchmarkId::new(size, "wasmtime"), bytes, |b, bytes| {
            b.iter(|| wasmtime::Module::new(&wasmtime_engine, bytes).unwrap())
        });
        let wasmi_engine = wasmi::Engine::default();
        group.bench_with_input(BenchmarkId::new(size, "wasmi"), bytes, |b, bytes| {
            b.iter(|| wasmi::Module::new(&wasmi_engine, bytes).unwrap())
        });
    }
    group.finish();
}

fn instantiate(c: &mut Criterion) {
    let cases = instantiation_cases();

    let mut group = c.benchmark_group("instantiate");
    for (name, bytes) in &cases {
        let keel = keel::Engine::default();
        let wasmtime = wasmtime::Engine::default();
        instantiate_keel_and_wasmtime(&mut group, name, bytes, &keel, &wasmtime);
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, bytes).unwrap();
        let linker = wasmi::Linker::<()>::new(&engine);
        group.bench_function(BenchmarkId::new(*name, "wasmi"), |b| {
            b.iter(|| {
                let mut store = wasmi::Store::new(&engine, ());
                linker.instantiate_and_start(&mut store, &module).unwrap();
                store
            })
        });
    }
    group.finish();

    // Both runtimes with their pooling allocators (same limits).
    let mut group = c.benchmark_group("instantiate_pooling");
    for (name, bytes) in &cases {
        let keel = keel_pooling_engine();
        let wasmtime = wasmtime_pooling_engine();
        instantiate_keel_and_wasmtime(&mut group, name, bytes, &keel, &wasmtime);
    }
    group.finish();

    // Throughput on two threads: each iteration is one new store and
    // instance on each of two threads at once, so instances per second are
    // 2e9 / (ns per iteration). Engines, modules and linkers are shared.
    let mut group = c.benchmark_group("instantiate_2threads");
    for (name, bytes) in &cases {
        for (runtime, keel) in [
            ("keel", keel::Engine::default()),
            ("keel_pooling", keel_pooling_engine()),
        ] {
            let module = keel::Module::new(&keel, bytes).unwrap();
            let linker = keel::Linker::new(&keel);
            group.bench_function(BenchmarkId::new(*name, runtime), |b| {
                on_two_threads(b, || {
                    let mut store = keel::Store::new(&keel, ());
                    linker.instantiate(&mut store, &module).unwrap();
                    store
                })
            });
        }
        for (runtime, wasmtime) in [
            ("wasmtime", wasmtime::Engine::default()),
            ("wasmtime_pooling", wasmtime_pooling_engine()),
        ] {
            let module = wasmtime::Module::new(&wasmtime, bytes).unwrap();
            let linker = wasmtime::Linker::new(&wasmtime);
            group.bench_function(BenchmarkId::new(*name, runtime), |b| {
                on_two_threads(b, || {
                    let mut store = wasmtime::Store::new(&wasmtime, ());
                    linker.instantiate(&mut store, &module).unwrap();
                    store
                })
            });
        }
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, bytes).unwrap();
        let linker = wasmi::Linker::<()>::new(&engine);
        group.bench_function(BenchmarkId::new(*name, "wasmi"), |b| {
            on_two_threads(b, || {
                let mut store = wasmi::Store::new(&engine, ());
                linker.instantiate_and_start(&mut store, &module).unwrap();
                store
            })
        });
    }
    group.finish();
}

/// Time `iters` calls of `f` on each of two threads running at once (the
/// measured time includes starting the threads, about 30 µs, which
/// criterion's growing iteration counts make negligible).
fn on_two_threads<R>(b: &mut criterion::Bencher<'_>, f: impl Fn() -> R + Sync) {
    b.iter_custom(|iters| {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..iters {
                        drop(std::hint::black_box(f()));
                    }
                });
            }
        });
        start.elapsed()
    })
}

/// keel with its pooling allocator, limits as [`wasmtime_pooling_engine`].
fn keel_pooling_engine() -> keel::Engine {
    let mut pooling = keel::PoolingAllocationConfig::new();
    pooling
        .total_core_instances(100)
        .total_memories(100)
        .total_tables(100)
        .max_memory_size(1 << 20)
        .table_elements(1000);
    let mut config = keel::Config::new();
    config.allocation_strategy(keel::InstanceAllocationStrategy::Pooling(pooling));
    keel::Engine::new(&config).unwrap()
}

/// Wasmtime with its pooling allocator, limits as [`keel_pooling_engine`].
fn wasmtime_pooling_engine() -> wasmtime::Engine {
    let mut pooling = wasmtime::PoolingAllocationConfig::new();
    pooling
        .total_core_instances(100)
        .total_memories(100)
        .total_tables(100)
        .max_memory_size(1 << 20)
        .table_elements(1000);
    let mut config = wasmtime::Config::new();
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling));
    wasmtime::Engine::new(&config).unwrap()
}

/// Time a new store and instance of `bytes` in keel and in Wasmtime, each
/// with the given engine.
fn instantiate_keel_and_wasmtime(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    bytes: &[u8],
    keel: &keel::Engine,
    wasmtime: &wasmtime::Engine,
) {
    let module = keel::Module::new(keel, bytes).unwrap();
    let linker = keel::Linker::new(keel);
    group.bench_function(BenchmarkId::new(name, "keel"), |b| {
        b.iter(|| {
            let mut store = keel::Store::new(keel, ());
            linker.instantiate(&mut store, &module).unwrap();
            store
        })
    });
    let module = wasmtime::Module::new(wasmtime, bytes).unwrap();
    let linker = wasmtime::Linker::new(wasmtime);
    group.bench_function(BenchmarkId::new(name, "wasmtime"), |b| {
        b.iter(|| {
            let mut store = wasmtime::Store::new(wasmtime, ());
            linker.instantiate(&mut store, &module).unwrap();
            store
        })
    });
}

const CALLS_WAT: &str = r#"(module
    (import "host" "inc" (func $inc (param i32) (result i32)))
    (func (export "id") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
    (func (export "host_loop") (param $n i32) (result i32) (local $acc i32)
      (loop $l
        (local.set $acc (call $inc (local.get $acc)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      local.get $acc))"#;

/// The three call benchmarks of one runtime: a typed call, an untyped
/// call (`$val` is its value type) and a loop of wasm-to-host calls.
macro_rules! bench_calls {
    ($group:ident, $runtime:literal, $store:ident, $typed:ident, $untyped:ident, $host_loop:ident, $val:path) => {{
        $group.throughput(Throughput::Elements(1));
        $group.bench_function(BenchmarkId::new("typed", $runtime), |b| {
            b.iter(|| $typed.call(&mut $store, 7).unwrap())
        });
        $group.bench_function(BenchmarkId::new("untyped", $runtime), |b| {
            use $val as V;
            let mut out = [V::I32(0)];
            b.iter(|| $untyped.call(&mut $store, &[V::I32(7)], &mut out).unwrap())
        });
        $group.throughput(Throughput::Elements(LOOP as u64));
        $group.bench_function(BenchmarkId::new("wasm_to_host", $runtime), |b| {
            b.iter(|| $host_loop.call(&mut $store, LOOP).unwrap())
        });
    }};
}

const LOOP: i32 = 1000;

/// Host-to-wasm and wasm-to-host calls, per call.
fn calls(c: &mut Criterion) {
    let bytes = wat::parse_str(CALLS_WAT).unwrap();
    let mut group = c.benchmark_group("calls");
    {
        let engine = keel::Engine::default();
        let module = keel::Module::new(&engine, &bytes).unwrap();
        let mut store = keel::Store::new(&engine, ());
        let mut linker = keel::Linker::new(&engine);
        linker.func_wrap("host", "inc", |x: i32| x + 1).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let typed = instance
            .get_typed_func::<i32, i32>(&mut store, "id")
            .unwrap();
        let untyped = instance.get_func(&mut store, "id").unwrap();
        let host_loop = instance
            .get_typed_func::<i32, i32>(&mut store, "host_loop")
            .unwrap();
        bench_calls!(group, "keel", store, typed, untyped, host_loop, keel::Val);
    }
    {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, &bytes).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let mut linker = wasmtime::Linker::new(&engine);
        linker.func_wrap("host", "inc", |x: i32| x + 1).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let typed = instance
            .get_typed_func::<i32, i32>(&mut store, "id")
            .unwrap();
        let untyped = instance.get_func(&mut store, "id").unwrap();
        let host_loop = instance
            .get_typed_func::<i32, i32>(&mut store, "host_loop")
            .unwrap();
        bench_calls!(
            group,
            "wasmtime",
            store,
            typed,
            untyped,
            host_loop,
            wasmtime::Val
        );
    }
    {
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, &bytes).unwrap();
        let mut store = wasmi::Store::new(&engine, ());
        let mut linker = wasmi::Linker::<()>::new(&engine);
        linker.func_wrap("host", "inc", |x: i32| x + 1).unwrap();
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        let typed = instance.get_typed_func::<i32, i32>(&store, "id").unwrap();
        let untyped = instance.get_func(&store, "id").unwrap();
        let host_loop = instance
            .get_typed_func::<i32, i32>(&store, "host_loop")
            .unwrap();
        bench_calls!(group, "wasmi", store, typed, untyped, host_loop, wasmi::Val);
    }
    group.finish();
}

fn execution(c: &mut Criterion) {
    let mut group = c.benchmark_group("execution");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for w in workloads() {
        let mut keel = keel_runner(w.wasm, w.ret).unwrap();
        let mut wasmtime = wasmtime_runner(w.wasm, w.ret).unwrap();
        let mut wasmi = wasmi_runner(w.wasm, w.ret).unwrap();
        // All four must compute the same thing (floats to the printed
        // precision: native code may use other instructions).
        let expect = (w.native)(w.arg);
        for (name, got) in [
            ("keel", keel(w.arg)),
            ("wasmtime", wasmtime(w.arg)),
            ("wasmi", wasmi(w.arg)),
        ] {
            let same = match w.ret {
                Ret::I32 => got == expect,
                Ret::F32 | Ret::F64 => (got - expect).abs() <= 1e-6 * expect.abs().max(1.0),
            };
            assert!(same, "{}: {name} computed {got}, native {expect}", w.name);
        }
        let arg = w.arg;
        group.bench_function(BenchmarkId::new(w.name, "keel"), |b| b.iter(|| keel(arg)));
        group.bench_function(BenchmarkId::new(w.name, "wasmtime"), |b| {
            b.iter(|| wasmtime(arg))
        });
        group.bench_function(BenchmarkId::new(w.name, "wasmi"), |b| b.iter(|| wasmi(arg)));
        let native = w.native;
        group.bench_function(BenchmarkId::new(w.name, "native"), |b| {
            b.iter(|| native(std::hint::black_box(arg)))
        });
    }
    group.finish();
}

/// The tail-call interpreter (`workloads/tailcall.wat`) in Rust: what its
/// `run(n)` returns.
fn tailcall_native(n: u32) -> u32 {
    let (mut acc, mut i) = (1u32, 0u32);
    loop {
        acc = acc.wrapping_mul(31).wrapping_add(i);
        i += 1;
        if i >= n {
            return acc;
        }
    }
}

/// Increments per thread and call in `atomics_2threads`.
const ATOMIC_INCREMENTS: i32 = 1_000_000;

/// A `run` on its own store, callable from the thread that locks it.
type ThreadRunner = std::sync::Mutex<Box<dyn FnMut(i32) -> i32 + Send>>;

/// Two keel stores importing one shared memory, each with the atomics
/// workload's `run`.
fn keel_atomic_runners(wasm: &[u8]) -> Vec<ThreadRunner> {
    let engine = keel::Engine::default();
    let module = keel::Module::new(&engine, wasm).unwrap();
    let memory = keel::SharedMemory::new(&engine, keel::MemoryType::shared(1, 1)).unwrap();
    (0..2)
        .map(|_| {
            let mut store = keel::Store::new(&engine, ());
            let mut linker = keel::Linker::new(&engine);
            linker
                .define(&mut store, "env", "mem", memory.clone())
                .unwrap();
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let run = instance
                .get_typed_func::<i32, i32>(&mut store, "run")
                .unwrap();
            let f: Box<dyn FnMut(i32) -> i32 + Send> =
                Box::new(move |n| run.call(&mut store, n).unwrap());
            std::sync::Mutex::new(f)
        })
        .collect()
}

/// The same with Wasmtime (threads on, as by default; Wasmtime 48 also
/// wants `shared_memory` for host-made shared memories).
fn wasmtime_atomic_runners(wasm: &[u8]) -> Vec<ThreadRunner> {
    let mut config = wasmtime::Config::new();
    config.shared_memory(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let memory = wasmtime::SharedMemory::new(&engine, wasmtime::MemoryType::shared(1, 1)).unwrap();
    (0..2)
        .map(|_| {
            let mut store = wasmtime::Store::new(&engine, ());
            let instance =
                wasmtime::Instance::new(&mut store, &module, &[memory.clone().into()]).unwrap();
            let run = instance
                .get_typed_func::<i32, i32>(&mut store, "run")
                .unwrap();
            let f: Box<dyn FnMut(i32) -> i32 + Send> =
                Box::new(move |n| run.call(&mut store, n).unwrap());
            std::sync::Mutex::new(f)
        })
        .collect()
}

/// One call of `run(n)` on each runner, all at once on their own threads;
/// returns the largest result.
fn run_on_threads(runners: &[ThreadRunner], n: i32) -> i32 {
    std::thread::scope(|s| {
        let handles: Vec<_> = runners
            .iter()
            .map(|r| s.spawn(move || (r.lock().unwrap())(n)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap_or(0)
    })
}

/// WebAssembly 3.0 workloads: a tail-call interpreter (keel, Wasmtime,
/// wasmi) and an atomic counter on two threads sharing one memory (keel,
/// Wasmtime; wasmi has no threads).
fn wasm3(c: &mut Criterion) {
    let mut group = c.benchmark_group("wasm3");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));

    let tailcall = wat::parse_str(include_str!("../workloads/tailcall.wat")).unwrap();
    const N: u32 = 2_000_000;
    let expect = tailcall_native(N);
    let mut runners = [
        ("keel", keel_runner(&tailcall, Ret::I32).unwrap()),
        ("wasmtime", wasmtime_runner(&tailcall, Ret::I32).unwrap()),
        ("wasmi", wasmi_runner(&tailcall, Ret::I32).unwrap()),
    ];
    for (name, run) in &mut runners {
        assert_eq!(run(N), f64::from(expect), "tailcall: {name}");
    }
    for (name, mut run) in runners {
        group.bench_function(BenchmarkId::new("tailcall", name), |b| b.iter(|| run(N)));
    }
    group.bench_function(BenchmarkId::new("tailcall", "native"), |b| {
        b.iter(|| tailcall_native(std::hint::black_box(N)))
    });

    let atomics = wat::parse_str(include_str!("../workloads/atomics.wat")).unwrap();
    for (name, runners) in [
        ("keel", keel_atomic_runners(&atomics)),
        ("wasmtime", wasmtime_atomic_runners(&atomics)),
    ] {
        // Both threads' increments add up.
        let total = run_on_threads(&runners, ATOMIC_INCREMENTS);
        assert_eq!(total, 2 * ATOMIC_INCREMENTS, "atomics: {name}");
        group.bench_function(BenchmarkId::new("atomics_2threads", name), |b| {
            b.iter(|| run_on_threads(&runners, ATOMIC_INCREMENTS))
        });
    }
    group.finish();
}

/// Exception handling: `run(n)` throws n exceptions through 1, 10 and 100
/// wasm frames and catches each (keel and Wasmtime with exceptions on;
/// wasmi has none).
fn exceptions(c: &mut Criterion) {
    let mut group = c.benchmark_group("exceptions");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    const N: u32 = 10_000;
    let mut wasmtime_config = wasmtime::Config::new();
    wasmtime_config.wasm_exceptions(true);
    for depth in [1, 10, 100] {
        let wat = include_str!("../workloads/exceptions.wat").replace("DEPTH", &depth.to_string());
        let wasm = wat::parse_str(&wat).unwrap();
        let expect = (N * (N - 1) / 2) as i32;
        let mut runners = [
            ("keel", keel_runner(&wasm, Ret::I32).unwrap()),
            (
                "wasmtime",
                wasmtime_runner_with(&wasmtime_config, &wasm, Ret::I32).unwrap(),
            ),
        ];
        for (name, run) in &mut runners {
            assert_eq!(run(N), f64::from(expect), "throw_{depth}: {name}");
        }
        for (name, mut run) in runners {
            group.bench_function(BenchmarkId::new(format!("throw_{depth}"), name), |b| {
                b.iter(|| run(N))
            });
        }
    }
    group.finish();
}

/// GC workloads (structs and arrays on the collected heap): binary trees
/// and a chained hash map, keel and Wasmtime (its default collector, GC
/// on); wasmi has no GC. Each runner's store lives across iterations, as
/// a long-running guest's would.
fn gc(c: &mut Criterion) {
    let mut group = c.benchmark_group("gc");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    let mut wasmtime_config = wasmtime::Config::default();
    wasmtime_config.wasm_gc(true).wasm_function_references(true);
    for (workload, wat, n, expect) in [
        (
            "binary_trees",
            include_str!("../workloads/gc_trees.wat"),
            14,
            3_222_190.0,
        ),
        (
            "hash_map",
            include_str!("../workloads/gc_hashmap.wat"),
            200_000,
            2_302_374_022.0,
        ),
    ] {
        let wasm = wat::parse_str(wat).unwrap();
        let mut runners = [
            ("keel", keel_runner(&wasm, Ret::I32).unwrap()),
            (
                "wasmtime",
                wasmtime_runner_with(&wasmtime_config, &wasm, Ret::I32).unwrap(),
            ),
        ];
        for (name, run) in &mut runners {
            assert_eq!(run(n), expect, "{workload}: {name}");
        }
        for (name, mut run) in runners {
            group.bench_function(BenchmarkId::new(workload, name), |b| b.iter(|| run(n)));
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    execution,
    calls,
    instantiate,
    compile,
    wasm3,
    gc,
    exceptions
);
criterion_main!(benches);
