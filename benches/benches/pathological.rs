//! Compile time of the pathological module shapes of issue 10 at 1x, 4x
//! and 16x their base size: linear scaling shows as a constant time per
//! byte. The shapes are the ones `crates/compile/tests/pathological.rs`
//! checks structurally.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench pathological`

#[path = "../../crates/compile/tests/pathological/shapes.rs"]
mod shapes;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::time::Duration;

/// Each shape at base size `n`: its name and generator.
type Shape = (&'static str, u32, fn(u32) -> Vec<u8>);

/// The shapes and their 1x sizes (16x stays within wasmparser's limits).
pub const SHAPES: &[Shape] = &[
    ("br_table_depths", 4_000, |n| shapes::br_table(n / 8, n * 8)),
    ("duplicate_types", 60_000, |n| {
        shapes::duplicate_types(n, true)
    }),
    ("elem_segment_items", 60_000, |n| {
        shapes::elem_segments(5, n)
    }),
    ("functions", 6_000, shapes::many_functions),
    ("locals", 3_000, shapes::locals),
    ("nesting", 60_000, shapes::nesting),
    ("block_chain", 12_000, shapes::block_chain),
    ("data_segments", 6_000, shapes::data_segments),
    ("nested_try_tables", 1_000, shapes::nested_try_tables),
    ("catch_clauses", 500, |n| {
        shapes::many_catch_clauses(n, n - 1)
    }),
];

fn pathological(c: &mut Criterion) {
    let engine = keel::Engine::default();
    let mut group = c.benchmark_group("pathological");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    for &(name, base, make) in SHAPES {
        for scale in [1u32, 4, 16] {
            let bytes = make(base * scale);
            keel::Module::from_binary(&engine, &bytes).expect("compiles");
            group.bench_function(
                BenchmarkId::new(name, format!("{scale}x_{}", bytes.len())),
                |b| b.iter(|| keel::Module::from_binary(&engine, &bytes).unwrap()),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, pathological);
criterion_main!(benches);
