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

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// (benchmark name, path of the `.wasm`).
fn programs() -> Vec<(&'static str, PathBuf)> {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    vec![
        ("lz77", own.join("lz77.wasm")),
        ("json", own.join("json.wasm")),
        ("raytrace", own.join("raytrace.wasm")),
        ("kvstore", own.join("kvstore.wasm")),
        (
            "sqlite",
            PathBuf::from(concat!(env!("OUT_DIR"), "/sqlite_bench.wasm")),
        ),
        (
            "zlib",
            PathBuf::from(concat!(env!("OUT_DIR"), "/zlib_bench.wasm")),
        ),
    ]
}

fn keel_run(engine: &keel::Engine, module: &keel::Module, sandbox: &Path, name: &str) {
    let wasi = keel_wasi::WasiCtxBuilder::new()
        .arg(name)
        .stdout(keel_wasi::pipe::MemoryOutputPipe::new(1 << 16))
        .preopened_dir(
            sandbox,
            "/sandbox",
            keel_wasi::DirPerms::all(),
            keel_wasi::FilePerms::all(),
        )
        .unwrap()
        .build();
    let mut linker = keel::Linker::new(engine);
    keel_wasi::add_to_linker(&mut linker, |cx: &mut keel_wasi::WasiCtx| cx).unwrap();
    let mut store = keel::Store::new(engine, wasi);
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    if let Err(e) = start.call(&mut store, ()) {
        assert_eq!(
            e.downcast_ref::<keel_wasi::I32Exit>().map(|e| e.0),
            Some(0),
            "{name}: {e:#}"
        );
    }
}

fn wasmtime_run(engine: &wasmtime::Engine, module: &wasmtime::Module, sandbox: &Path, name: &str) {
    let wasi = wasmtime_wasi::WasiCtxBuilder::new()
        .arg(name)
        .stdout(wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 16))
        .preopened_dir(sandbox, "/sandbox", wasmtime_wasi::FsPerms::ReadWrite)
        .unwrap()
        .build_p1();
    let mut linker = wasmtime::Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut wasmtime_wasi::p1::WasiP1Ctx| cx)
        .unwrap();
    let mut store = wasmtime::Store::new(engine, wasi);
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    if let Err(e) = start.call(&mut store, ()) {
        assert_eq!(
            e.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0),
            Some(0),
            "{name}: {e:#}"
        );
    }
}

/// The programs whose `.wasm` exists, read into memory.
fn available() -> Vec<(&'static str, Vec<u8>)> {
    programs()
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
