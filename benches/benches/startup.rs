//! Start-up (issue 33), keel against Wasmtime 48 in one run:
//!
//! * `programs_cached/<program>/<runtime>`: `Module::new` of a program
//!   that an earlier compilation put in the compilation cache (keel with
//!   `Config::cache`, Wasmtime with its `cache` feature, each with a cache
//!   directory of its own, warmed before timing), for the real programs of
//!   `programs/README.md` and the large one (`programs/large`).
//! * `module_new_large/python/<runtime>`: `Module::new` of the large
//!   program without a cache: keel compiling lazily (`keel_lazy`: validation
//!   and the tables only, what stands between a user and the first
//!   instruction), keel compiling everything (`keel`), and Wasmtime.
//! * `lazy_execution/<workload>/<mode>`: one call of `run` of the seven
//!   execution workloads, compiled eagerly (`keel`) and lazily
//!   (`keel_lazy`), after a first call compiled what the call reaches: the
//!   lazy stubs must not stay on the hot path.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench startup`;
//! artifact sizes are the `artifact-sizes` binary's, whole-process times
//! `startup-cli.sh`'s.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keel_benches::{keel_runner_with, large_program, real_programs, workloads};

fn programs_cached(c: &mut Criterion) {
    let mut group = c.benchmark_group("programs_cached");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    let dir = std::env::temp_dir().join(format!("keel-startup-bench-{}", std::process::id()));
    let mut keel_cache = keel::CacheConfig::new();
    keel_cache.with_directory(dir.join("keel"));
    let keel_cache = keel::Cache::new(keel_cache).unwrap();
    let mut keel_config = keel::Config::new();
    keel_config.cache(Some(keel_cache.clone()));
    let keel_engine = keel::Engine::new(&keel_config).unwrap();
    let mut wasmtime_cache = wasmtime::CacheConfig::new();
    wasmtime_cache.with_directory(dir.join("wasmtime"));
    let mut wasmtime_config = wasmtime::Config::new();
    wasmtime_config.cache(Some(wasmtime::Cache::new(wasmtime_cache).unwrap()));
    let wasmtime_engine = wasmtime::Engine::new(&wasmtime_config).unwrap();
    for (name, path) in real_programs().into_iter().chain([large_program()]) {
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("startup: skipping {name}: no {}", path.display());
            continue;
        };
        // Warm both caches; the second keel compilation must be a hit.
        keel::Module::new(&keel_engine, &bytes).unwrap();
        let hits = keel_cache.hits();
        keel::Module::new(&keel_engine, &bytes).unwrap();
        assert_eq!(keel_cache.hits(), hits + 1, "{name}: not a cache hit");
        wasmtime::Module::new(&wasmtime_engine, &bytes).unwrap();
        group.bench_with_input(BenchmarkId::new(name, "keel"), &bytes, |b, bytes| {
            b.iter(|| keel::Module::new(&keel_engine, bytes).unwrap())
        });
        group.bench_with_input(BenchmarkId::new(name, "wasmtime"), &bytes, |b, bytes| {
            b.iter(|| wasmtime::Module::new(&wasmtime_engine, bytes).unwrap())
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn module_new_large(c: &mut Criterion) {
    let (name, path) = large_program();
    let bytes = std::fs::read(&path).unwrap();
    let mut group = c.benchmark_group("module_new_large");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(30));
    let mut lazy = keel::Config::new();
    lazy.lazy_compilation(true);
    let lazy = keel::Engine::new(&lazy).unwrap();
    let eager = keel::Engine::default();
    let wasmtime = wasmtime::Engine::default();
    group.bench_with_input(BenchmarkId::new(name, "keel_lazy"), &bytes, |b, bytes| {
        b.iter(|| keel::Module::new(&lazy, bytes).unwrap())
    });
    group.bench_with_input(BenchmarkId::new(name, "keel"), &bytes, |b, bytes| {
        b.iter(|| keel::Module::new(&eager, bytes).unwrap())
    });
    group.bench_with_input(BenchmarkId::new(name, "wasmtime"), &bytes, |b, bytes| {
        b.iter(|| wasmtime::Module::new(&wasmtime, bytes).unwrap())
    });
    group.finish();
}

fn lazy_execution(c: &mut Criterion) {
    let mut group = c.benchmark_group("lazy_execution");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let mut lazy = keel::Config::new();
    lazy.lazy_compilation(true);
    for w in workloads() {
        let mut eager = keel_runner_with(&keel::Config::new(), w.wasm, w.ret).unwrap();
        let mut lazy = keel_runner_with(&lazy, w.wasm, w.ret).unwrap();
        // The first lazy call compiles what it reaches; both compute the
        // same thing.
        let arg = w.arg;
        assert_eq!(eager(arg), lazy(arg), "{}", w.name);
        group.bench_function(BenchmarkId::new(w.name, "keel"), |b| b.iter(|| eager(arg)));
        group.bench_function(BenchmarkId::new(w.name, "keel_lazy"), |b| {
            b.iter(|| lazy(arg))
        });
    }
    group.finish();
}

criterion_group!(benches, lazy_execution, programs_cached, module_new_large);
criterion_main!(benches);
