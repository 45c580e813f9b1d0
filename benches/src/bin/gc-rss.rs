//! Peak resident memory of the GC workloads (issue 32's memory measure):
//! each runtime, in a child process of its own, compiles and instantiates
//! a workload, reads its peak resident set (`VmHWM` in
//! `/proc/self/status`), calls `run` once, and reads it again. The growth
//! is what the guest's allocations cost at their peak: the collector's
//! heap, its bookkeeping, and whatever it did not give back. The parent
//! writes every figure to `target/gc-rss.json` for `write-report`.
//!
//! `cargo run --manifest-path benches/Cargo.toml --profile bench --bin gc-rss`

use anyhow::{Context, Result, bail};
use std::process::Command;

/// The workloads and their argument: binary trees of depth 18 (a 16 MiB
/// long-lived tree, 2^26 nodes allocated in all) and a hash map of one
/// million insertions.
const WORKLOADS: [(&str, &str, i32); 2] = [
    (
        "binary_trees",
        include_str!("../../workloads/gc_trees.wat"),
        18,
    ),
    (
        "hash_map",
        include_str!("../../workloads/gc_hashmap.wat"),
        1_000_000,
    ),
];

/// The runtimes measured.
const RUNTIMES: [&str; 2] = ["keel", "wasmtime"];

/// Peak resident set size of this process in bytes.
fn peak_rss() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM line in /proc/self/status")?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

/// Wasmtime's error as an `anyhow::Error`.
fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Run workload `name` once in `runtime`; the growth of the peak RSS and
/// the result.
fn measure(runtime: &str, name: &str) -> Result<(u64, i32)> {
    let (_, wat, n) = WORKLOADS
        .iter()
        .find(|(w, _, _)| *w == name)
        .context("unknown workload")?;
    let wasm = wat::parse_str(wat)?;
    match runtime {
        "keel" => {
            let engine = keel::Engine::default();
            let module = keel::Module::new(&engine, &wasm)?;
            let mut store = keel::Store::new(&engine, ());
            let instance = keel::Instance::new(&mut store, &module, &[])?;
            let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
            let before = peak_rss()?;
            let result = run.call(&mut store, *n)?;
            Ok((peak_rss()?.saturating_sub(before), result))
        }
        "wasmtime" => {
            let mut config = wasmtime::Config::default();
            config.wasm_gc(true).wasm_function_references(true);
            let engine = wt(wasmtime::Engine::new(&config))?;
            let module = wt(wasmtime::Module::new(&engine, &wasm))?;
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = wt(wasmtime::Instance::new(&mut store, &module, &[]))?;
            let run = wt(instance.get_typed_func::<i32, i32>(&mut store, "run"))?;
            let before = peak_rss()?;
            let result = wt(run.call(&mut store, *n))?;
            Ok((peak_rss()?.saturating_sub(before), result))
        }
        other => bail!("unknown runtime {other}"),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, runtime, workload] = &args[..] {
        let (bytes, result) = measure(runtime, workload)?;
        println!("{bytes} {result}");
        return Ok(());
    }
    let me = std::env::current_exe()?;
    let mut json = serde_json::Map::new();
    for (workload, _, _) in WORKLOADS {
        let mut peaks = serde_json::Map::new();
        let mut results = Vec::new();
        for runtime in RUNTIMES {
            let out = Command::new(&me).args([runtime, workload]).output()?;
            if !out.status.success() {
                bail!(
                    "{runtime} {workload}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let text = String::from_utf8(out.stdout)?;
            let mut parts = text.split_whitespace();
            let bytes: u64 = parts.next().context("no figure")?.parse()?;
            let result: i32 = parts.next().context("no result")?.parse()?;
            println!(
                "{workload} {runtime}: peak RSS +{:.1} MiB (result {result})",
                bytes as f64 / (1024.0 * 1024.0)
            );
            peaks.insert(runtime.into(), bytes.into());
            results.push(result);
        }
        if results.windows(2).any(|w| w[0] != w[1]) {
            bail!("{workload}: the runtimes disagree: {results:?}");
        }
        json.insert(workload.into(), peaks.into());
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gc-rss.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
    Ok(())
}
