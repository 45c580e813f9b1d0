//! WASI throughput (issue 12): the `big_write` and `big_read` test programs
//! (C with wasi-libc, `crates/wasi/tests/programs`) moving 100 MB through
//! `fd_write` into a preopened directory and back through `fd_read`, under
//! keel-wasi and under Wasmtime 48's wasmtime-wasi in the same run, each
//! as `keel run` / `wasmtime run` do it: a fresh store and WASI context,
//! instantiation, `_start`. The modules are compiled once, outside the
//! measurement.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench wasi`

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn programs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/wasi/tests/programs")
}

fn keel_run(engine: &keel::Engine, module: &keel::Module, sandbox: &Path, name: &str) {
    keel_benches::keel_wasi_run(engine, module, sandbox, name);
}

fn wasmtime_run(engine: &wasmtime::Engine, module: &wasmtime::Module, sandbox: &Path, name: &str) {
    keel_benches::wasmtime_wasi_run(engine, module, sandbox, name);
}

fn wasi(c: &mut Criterion) {
    let mut group = c.benchmark_group("wasi");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let sandbox = std::env::temp_dir().join(format!("keel-wasi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&sandbox).unwrap();
    let keel_engine = keel::Engine::default();
    let wasmtime_engine = wasmtime::Engine::default();
    for name in ["big_write", "big_read"] {
        let path = programs().join(format!("{name}.wasm"));
        let keel_module = keel::Module::from_file(&keel_engine, &path).unwrap();
        let wasmtime_module = wasmtime::Module::from_file(&wasmtime_engine, &path).unwrap();
        // `big_read` reads what `big_write` wrote.
        keel_run(&keel_engine, &keel_module, &sandbox, name);
        group.bench_function(BenchmarkId::new(name, "keel"), |b| {
            b.iter(|| keel_run(&keel_engine, &keel_module, &sandbox, name))
        });
        group.bench_function(BenchmarkId::new(name, "wasmtime"), |b| {
            b.iter(|| wasmtime_run(&wasmtime_engine, &wasmtime_module, &sandbox, name))
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(sandbox);
}

criterion_group!(benches, wasi);
criterion_main!(benches);
