//! The cost of the Spectre mitigation on explicit bounds checks (issue 10):
//! the execution workloads with explicit checks (`signals_based_traps(false)`)
//! with the mitigation (keel's default), without it, and with guard pages
//! (no checks at all) for reference; Wasmtime with explicit checks as the
//! peer (Wasmtime applies its Spectre guard only with signals-based traps,
//! where an out-of-bounds access becomes a faulting load from null, so its
//! explicit mode is unguarded).
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench spectre`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keel_benches::{check_runners, keel_runner_with, wasmtime_runner_with, workloads};
use std::time::Duration;

fn keel_config(guard_pages: bool, spectre: bool) -> keel::Config {
    let mut config = keel::Config::new();
    config
        .signals_based_traps(guard_pages)
        .heap_access_spectre_mitigation(spectre)
        .table_access_spectre_mitigation(spectre);
    config
}

fn spectre(c: &mut Criterion) {
    let mut group = c.benchmark_group("spectre");
    group.sample_size(15);
    group.measurement_time(Duration::from_secs(3));
    let mut wasmtime_config = wasmtime::Config::new();
    wasmtime_config.signals_based_traps(false);
    for w in workloads() {
        let mut runners = vec![
            (
                "keel_guarded",
                keel_runner_with(&keel_config(false, true), w.wasm, w.ret).unwrap(),
            ),
            (
                "keel_unguarded",
                keel_runner_with(&keel_config(false, false), w.wasm, w.ret).unwrap(),
            ),
            (
                "keel_guard_pages",
                keel_runner_with(&keel_config(true, true), w.wasm, w.ret).unwrap(),
            ),
            (
                "wasmtime_explicit",
                wasmtime_runner_with(&wasmtime_config, w.wasm, w.ret).unwrap(),
            ),
        ];
        check_runners(&w, &mut runners);
        let arg = w.arg;
        for (name, mut run) in runners {
            group.bench_function(BenchmarkId::new(w.name, name), |b| b.iter(|| run(arg)));
        }
    }
    group.finish();
}

criterion_group!(benches, spectre);
criterion_main!(benches);
