//! Resident memory per idle instance (issue 15's memory target): each
//! runtime, in a child process of its own, compiles a module with one
//! 64 KiB page of linear memory and one function, makes one instance to
//! warm its allocator, reads its resident set size (`VmRSS` in
//! `/proc/self/status`), then makes 10,000 more, each in its own store,
//! keeps them all alive without calling into them, and reads it again.
//! The difference divided by the count is the resident memory per idle
//! instance. The parent writes every runtime's figures to
//! `target/idle-rss.json` for `write-report`.
//!
//! `cargo run --manifest-path benches/Cargo.toml --profile bench --bin idle-rss [COUNT]`

use anyhow::{Context, Result, bail};
use std::process::Command;

const WAT: &str = r#"(module
    (memory (export "memory") 1)
    (func (export "run") (result i32) i32.const 0 i32.load))"#;

/// The runtimes measured, each in its own process.
const RUNTIMES: [&str; 3] = ["keel", "wasmtime", "wasmi"];

/// Resident set size of this process in bytes.
fn rss() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line in /proc/self/status")?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
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

/// Make `count` idle instances in `runtime` and return the resident bytes
/// they added.
fn measure(runtime: &str, count: usize) -> Result<u64> {
    let wasm = wat::parse_str(WAT)?;
    macro_rules! run {
        ($new_store:expr, $instantiate:expr) => {{
            let mut keep = Vec::with_capacity(count + 1);
            let mut store = $new_store;
            $instantiate(&mut store)?;
            keep.push(store);
            let before = rss()?;
            for _ in 0..count {
                let mut store = $new_store;
                $instantiate(&mut store)?;
                keep.push(store);
            }
            let after = rss()?;
            drop(keep);
            Ok(after.saturating_sub(before))
        }};
    }
    match runtime {
        "keel" => {
            let engine = keel::Engine::default();
            let module = keel::Module::new(&engine, &wasm)?;
            let linker = keel::Linker::new(&engine);
            run!(keel::Store::new(&engine, ()), |s: &mut keel::Store<()>| {
                linker.instantiate(s, &module).map(drop)
            })
        }
        "wasmtime" => {
            let engine = wasmtime::Engine::default();
            let module = wt(wasmtime::Module::new(&engine, &wasm))?;
            let linker = wasmtime::Linker::new(&engine);
            run!(
                wasmtime::Store::new(&engine, ()),
                |s: &mut wasmtime::Store<()>| wt(linker.instantiate(s, &module).map(drop))
            )
        }
        "wasmi" => {
            let engine = wasmi::Engine::default();
            let module = wasmi::Module::new(&engine, &wasm)?;
            let linker = wasmi::Linker::<()>::new(&engine);
            run!(wasmi::Store::new(&engine, ()), |s: &mut wasmi::Store<()>| {
                linker
                    .instantiate_and_start(s, &module)
                    .map(drop)
                    .map_err(anyhow::Error::from)
            })
        }
        other => bail!("unknown runtime `{other}`"),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, runtime, count] = args.as_slice()
        && flag == "--child"
    {
        let bytes = measure(runtime, count.parse()?)?;
        println!("{bytes}");
        return Ok(());
    }
    let count: usize = match args.first() {
        Some(n) => n
            .parse()
            .context("the argument is the number of instances")?,
        None => 10_000,
    };
    let me = std::env::current_exe()?;
    let mut json = serde_json::Map::new();
    json.insert("instances".into(), count.into());
    for runtime in RUNTIMES {
        let out = Command::new(&me)
            .args(["--child", runtime, &count.to_string()])
            .output()?;
        if !out.status.success() {
            bail!(
                "{runtime}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let bytes: u64 = String::from_utf8(out.stdout)?.trim().parse()?;
        println!(
            "{runtime}: {bytes} bytes resident for {count} idle instances, {:.0} per instance",
            bytes as f64 / count as f64
        );
        json.insert(runtime.into(), bytes.into());
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/idle-rss.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
    println!("wrote {}", path.display());
    Ok(())
}
