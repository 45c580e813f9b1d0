//! The cost of guest control (issue 11): the execution workloads with fuel
//! metering and with epoch interruption, each against the same runtime
//! without them, for keel and for Wasmtime 48 in the same run. The stores
//! get `u64::MAX` fuel and the farthest epoch deadline, so only the
//! checks' cost is measured.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench guest_control`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keel_benches::{
    Metering, Runner, check_runners, keel_runner_metered, wasmtime_runner_metered, workloads,
};
use std::time::Duration;

fn guest_control(c: &mut Criterion) {
    let mut group = c.benchmark_group("guest_control");
    group.sample_size(15);
    group.measurement_time(Duration::from_secs(3));
    let settings = [
        ("plain", Metering::default()),
        (
            "fuel",
            Metering {
                fuel: true,
                epochs: false,
            },
        ),
        (
            "epoch",
            Metering {
                fuel: false,
                epochs: true,
            },
        ),
    ];
    for w in workloads() {
        let mut runners: Vec<(String, Runner)> = Vec::new();
        for (name, m) in settings {
            let mut kc = keel::Config::new();
            kc.consume_fuel(m.fuel).epoch_interruption(m.epochs);
            let mut wc = wasmtime::Config::new();
            wc.consume_fuel(m.fuel).epoch_interruption(m.epochs);
            runners.push((
                format!("keel_{name}"),
                keel_runner_metered(&kc, w.wasm, w.ret, m).unwrap(),
            ));
            runners.push((
                format!("wasmtime_{name}"),
                wasmtime_runner_metered(&wc, w.wasm, w.ret, m).unwrap(),
            ));
        }
        check_runners(&w, &mut runners);
        let arg = w.arg;
        for (name, mut run) in runners {
            group.bench_function(BenchmarkId::new(w.name, name), |b| b.iter(|| run(arg)));
        }
    }
    group.finish();
}

criterion_group!(benches, guest_control);
criterion_main!(benches);
