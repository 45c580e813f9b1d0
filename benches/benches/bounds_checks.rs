//! Guard pages against explicit bounds checks on a memory-heavy loop.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench bounds_checks`

use criterion::{Criterion, criterion_group, criterion_main};
use keel::{Config, Engine, Linker, Module, Store, TypedFunc};
use keel_benches::MEMORY_LOOP_WAT;

fn setup(guard_pages: bool) -> (Store<()>, TypedFunc<i32, i64>) {
    let mut config = Config::new();
    config.signals_based_traps(guard_pages);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(&engine, MEMORY_LOOP_WAT).expect("module");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("instance");
    let run = instance
        .get_typed_func::<i32, i64>(&mut store, "run")
        .expect("run export");
    (store, run)
}

fn bounds_checks(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_loop");
    // Both modes must compute the same thing.
    let (mut a, run_a) = setup(true);
    let (mut b, run_b) = setup(false);
    assert_eq!(
        run_a.call(&mut a, 3).unwrap(),
        run_b.call(&mut b, 3).unwrap()
    );
    for (name, guard_pages) in [("guard_pages", true), ("explicit_checks", false)] {
        let (mut store, run) = setup(guard_pages);
        group.bench_function(name, |bencher| {
            bencher.iter(|| run.call(&mut store, 8).expect("run"))
        });
    }
    group.finish();
}

criterion_group!(benches, bounds_checks);
criterion_main!(benches);
