//! Ahead-of-time artifacts: loading a precompiled module against compiling
//! it (`Module::new`), and against Wasmtime 48 loading its own artifact of
//! the same module (`Module::deserialize`); the artifact sizes are printed
//! next to each other.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench artifact`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keel_benches::generated_module;

fn artifacts(c: &mut Criterion) {
    // About 1 KB: the SHA-256 workload as clang built it.
    let small = include_bytes!("../workloads/sha256.wasm").to_vec();
    let medium = generated_module(100 * 1024);
    let large = generated_module(1024 * 1024);
    let mut group = c.benchmark_group("artifact");
    group.sample_size(10);
    let keel_engine = keel::Engine::default();
    let wasmtime_engine = wasmtime::Engine::default();
    for (size, bytes) in [("small", &small), ("medium", &medium), ("large", &large)] {
        let keel_artifact = keel_engine.precompile_module(bytes).unwrap();
        let wasmtime_artifact = wasmtime_engine.precompile_module(bytes).unwrap();
        eprintln!(
            "artifact size, {size} ({} bytes of wasm): keel {} bytes, Wasmtime {} bytes ({:.2})",
            bytes.len(),
            keel_artifact.len(),
            wasmtime_artifact.len(),
            keel_artifact.len() as f64 / wasmtime_artifact.len() as f64
        );
        group.bench_with_input(BenchmarkId::new(size, "keel compile"), bytes, |b, bytes| {
            b.iter(|| keel::Module::new(&keel_engine, bytes).unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new(size, "keel deserialize"),
            &keel_artifact,
            |b, artifact| {
                // SAFETY: keel wrote the artifact just above.
                b.iter(|| unsafe { keel::Module::deserialize(&keel_engine, artifact) }.unwrap())
            },
        );
        group.bench_with_input(
            BenchmarkId::new(size, "wasmtime deserialize"),
            &wasmtime_artifact,
            |b, artifact| {
                // SAFETY: Wasmtime wrote the artifact just above.
                b.iter(|| {
                    unsafe { wasmtime::Module::deserialize(&wasmtime_engine, artifact) }.unwrap()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, artifacts);
criterion_main!(benches);
