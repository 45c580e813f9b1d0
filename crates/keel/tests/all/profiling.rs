//! `Config::profiler(ProfilingStrategy::PerfMap)`: every function and
//! trampoline of a module is in `/tmp/perf-PID.map`, named from the name
//! section, at distinct addresses; so are the engine's trampolines into
//! host functions.

use keel::{Config, Engine, Module, ProfilingStrategy};

#[test]
fn perf_map_lists_every_function() -> keel::Result<()> {
    let mut config = Config::new();
    config.profiler(ProfilingStrategy::PerfMap);
    let engine = Engine::new(&config)?;
    // A name only this test uses: other tests of this process append to
    // the same map.
    let mut wat = String::from("(module $perf_map_test_7f3a");
    for i in 0..50 {
        if i % 5 == 0 {
            wat += &format!("(func (export \"e{i}\") (result i32) i32.const {i})");
        } else {
            wat += &format!("(func $f{i} (result i32) i32.const {i})");
        }
    }
    wat += ")";
    Module::new(&engine, &wat)?;
    let text = std::fs::read_to_string(keel::perf_map_path())?;
    let mut ranges = Vec::new();
    for i in 0..50 {
        let name = if i % 5 == 0 {
            format!("perf_map_test_7f3a::function[{i}]")
        } else {
            format!("perf_map_test_7f3a::f{i}")
        };
        let line = text
            .lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("{name} missing from the perf map"));
        let mut fields = line.split(' ');
        let start = usize::from_str_radix(fields.next().unwrap(), 16)?;
        let size = usize::from_str_radix(fields.next().unwrap(), 16)?;
        assert!(size > 0, "{line}");
        ranges.push((start, start + size));
    }
    ranges.sort();
    assert!(
        ranges.windows(2).all(|w| w[0].1 <= w[1].0),
        "overlapping ranges"
    );
    assert!(text.contains("perf_map_test_7f3a::array_to_wasm_trampoline[type "));

    // The engine's trampoline into host functions, compiled for a host
    // function type no other test of this process uses.
    let mut store = keel::Store::new(&engine, ());
    keel::Func::wrap(&mut store, |a: i64, b: f32, c: i64| {
        a as f64 + f64::from(b) + c as f64
    });
    let text = std::fs::read_to_string(keel::perf_map_path())?;
    let line = text
        .lines()
        .find(|l| {
            l.ends_with(" host::wasm_to_array_trampoline[(func (param i64 f32 i64) (result f64))]")
        })
        .unwrap_or_else(|| panic!("no host trampoline in the perf map:\n{text}"));
    let size = usize::from_str_radix(line.split(' ').nth(1).unwrap(), 16)?;
    assert!(size > 0, "{line}");
    // No other test of this process profiles.
    std::fs::remove_file(keel::perf_map_path())?;
    Ok(())
}
