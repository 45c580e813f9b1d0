//! Real programs (issue 15, item 7): whole C programs built with clang and
//! wasi-libc (`benches/programs`), run under keel-wasi and under Wasmtime
//! 48's wasmtime-wasi in the same run:
//!
//! * `programs_run/<name>/<runtime>`: what `keel run` / `wasmtime run` do
//!   for one execution, a fresh store and WASI context (argv, a captured
//!   stdout, `/sandbox` preopened), instantiation and `_start`; the module
//!   is compiled once, outside the measurement;
//! * `programs_compile/<name>/<runtime>`: `Module::new` on the same bytes.
//!
//! Our own programs (`lz77`, `json`, `raytrace`, `kvstore`) are committed
//! as `.wasm` next to their sources; the SQLite and zlib drivers are built
//! by build.rs into OUT_DIR from the sources of the libsqlite3-sys and
//! libz-sys crates, and are left out, with a note, when that build could
//! not run (no wasm32-wasi clang).
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench programs`

use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use keel_benches::{keel_wasi_run, real_programs, wasmtime_wasi_run};

fn keel_run(engine: &keel::Engine, module: &keel::Module, sandbox: &Path, name: &str) {
    keel_wasi_run(engine, module, sandbox, name);
}

fn wasmtime_run(engine: &wasmtime::Engine, module: &wasmtime::Module, sandbox: &Path, name: &str) {
    wasmtime_wasi_run(engine, module, sandbox, name);
}

/// The programs whose `.wasm` exists, read into memory.
fn available() -> Vec<(&'static str, Vec<u8>)> {
    real_programs()
        .into_iter()
        .filter_map(|(name, path)| match std::fs::read(&path) {
            Ok(bytes) => Some((name, bytes)),
            Err(e) => {
                eprintln!(
                    "programs: skipping {name}: {} ({e}); build.rs builds it with \
                     benches/programs/build.sh when clang can target wasm32-wasi",
                    path.display()
                );
                None
            }
        })
        .collect()
}

fn programs_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("programs_run");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    let sandbox = std::env::temp_dir().join(format!("keel-programs-bench-{}", std::process::id()));
    std::fs::create_dir_all(&sandbox).unwrap();
    let keel_engine = keel::Engine::default();
    let wasmtime_engine = wasmtime::Engine::default();
    for (name, bytes) in available() {
        let keel_module = keel::Module::new(&keel_engine, &bytes).unwrap();
        let wasmtime_module = wasmtime::Module::new(&wasmtime_engine, &bytes).unwrap();
        // One checked run in each runtime before timing: the programs verify
        // their own results and exit non-zero (failing the assertion in
        // `*_run`) when something is off.
        keel_run(&keel_engine, &keel_module, &sandbox, name);
        wasmtime_run(&wasmtime_engine, &wasmtime_module, &sandbox, name);
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

fn programs_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("programs_compile");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    let keel_engine = keel::Engine::default();
    let wasmtime_engine = wasmtime::Engine::default();
    for (name, bytes) in available() {
        group.bench_with_input(BenchmarkId::new(name, "keel"), &bytes, |b, bytes| {
            b.iter(|| keel::Module::new(&keel_engine, bytes).unwrap())
        });
        group.bench_with_input(BenchmarkId::new(name, "wasmtime"), &bytes, |b, bytes| {
            b.iter(|| wasmtime::Module::new(&wasmtime_engine, bytes).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, programs_run, programs_compile);
criterion_main!(benches);
