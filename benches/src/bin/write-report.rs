//! Reads criterion's results (`target/criterion/**/new/{benchmark,estimates}.json`)
//! and writes `BENCHMARKS.md` at the repository root: per benchmark the
//! median of each runtime and keel's ratios to Wasmtime and wasmi, the
//! geometric mean of keel/Wasmtime over the execution workloads, the
//! instantiation throughput on two threads, the real programs, the
//! resident memory per idle instance (`target/idle-rss.json`, written by
//! the `idle-rss` binary), the targets of issue 15 checked against all of
//! these, the start-up measures of issue 33 (`startup-cli.sh`'s
//! `target/startup-cli.json`, the `startup` benchmark, `artifact-sizes`'
//! `target/artifact-sizes.json`), and the machine and versions. `benches/earlier-results.md`, the
//! hand-kept tables of benchmarks the report does not run, is appended as
//! it is.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `(group, case) -> runtime -> median ns`.
type Results = BTreeMap<(String, String), BTreeMap<String, f64>>;

fn collect(dir: &Path, out: &mut Results) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                let bench: Value =
                    serde_json::from_str(&std::fs::read_to_string(path.join("benchmark.json"))?)?;
                let est: Value =
                    serde_json::from_str(&std::fs::read_to_string(path.join("estimates.json"))?)?;
                let full = bench["full_id"].as_str().unwrap_or_default().to_string();
                let median = est["median"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
                let mut parts = full.splitn(3, '/');
                if let (Some(group), Some(case), Some(runtime)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    out.entry((group.into(), case.into()))
                        .or_default()
                        .insert(runtime.into(), median);
                }
            } else {
                collect(&path, out)?;
            }
        }
    }
    Ok(())
}

fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "–".into()
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// A ratio with two decimals, or a dash when a side is missing.
fn fmt_ratio(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}")
    } else {
        "–".into()
    }
}

/// Geometric mean of the finite values of `v` (NaN when there are none).
fn geomean(v: &[f64]) -> f64 {
    let v: Vec<f64> = v.iter().copied().filter(|r| r.is_finite()).collect();
    (v.iter().map(|r| r.ln()).sum::<f64>() / v.len() as f64).exp()
}

/// One line of the summary: a measured value against its target.
struct Check {
    what: String,
    value: f64,
    target: f64,
}

/// The start-up section (issue 33): whole-process times of
/// `startup-cli.sh` (`target/startup-cli.json`, hyperfine's), the
/// criterion groups of `benches/startup.rs` and the artifact sizes of the
/// `artifact-sizes` binary (`target/artifact-sizes.json`). Parts whose
/// results are missing are left out.
fn startup(md: &mut String, results: &Results, root: &Path, checks: &mut Vec<Check>) -> Result<()> {
    let cli: Option<Value> = std::fs::read_to_string(root.join("target/startup-cli.json"))
        .ok()
        .map(|t| serde_json::from_str(&t))
        .transpose()?;
    let sizes: Option<Value> = std::fs::read_to_string(root.join("target/artifact-sizes.json"))
        .ok()
        .map(|t| serde_json::from_str(&t))
        .transpose()?;
    let group = |g: &'static str| results.iter().filter(move |((rg, _), _)| rg == g);
    if cli.is_none() && sizes.is_none() && group("lazy_execution").next().is_none() {
        return Ok(());
    }
    writeln!(md, "## Start-up: compilation cache and lazy compilation\n")?;
    if let Some(cli) = &cli {
        // `case/runtime` -> median seconds.
        let mut by_case: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        for r in cli["results"].as_array().into_iter().flatten() {
            let name = r["command"].as_str().unwrap_or_default();
            if let Some((case, runtime)) = name.split_once('/') {
                let median = r["median"].as_f64().unwrap_or(f64::NAN);
                by_case
                    .entry(case.into())
                    .or_default()
                    .insert(runtime.into(), median);
            }
        }
        writeln!(
            md,
            "`benches/startup-cli.sh`: wall time of the whole `keel run` / `wasmtime run` \
             process (Wasmtime's release CLI), hyperfine's median of 5 runs. `python_pass`: \
             the large program (`programs/large`, CPython 3.11, 11.1 MiB of wasm) with `-c \
             pass`; `python_short`: its short run (SQLite, JSON, decimal, SHA-256, zlib); both \
             without a cache (`-C cache=n`), keel lazily (its default at this size) and \
             eagerly (`-C lazy=n`). `*_cached`: a second run with a warm compilation cache.\n"
        )?;
        writeln!(
            md,
            "| case | keel lazy | keel | Wasmtime | keel lazy/Wasmtime | keel/Wasmtime |\n\
             |---|---:|---:|---:|---:|---:|"
        )?;
        let s = |x: f64| {
            if x.is_finite() {
                format!("{x:.3} s")
            } else {
                "–".into()
            }
        };
        for (case, rt) in &by_case {
            let get = |r: &str| rt.get(r).copied().unwrap_or(f64::NAN);
            let (lazy, keel, wt) = (get("keel_lazy"), get("keel"), get("wasmtime"));
            writeln!(
                md,
                "| {case} | {} | {} | {} | {} | {} |",
                s(lazy),
                s(keel),
                s(wt),
                fmt_ratio(lazy / wt),
                fmt_ratio(keel / wt)
            )?;
            if case == "python_short" {
                checks.push(Check {
                    what: "large program's short run, uncached, keel lazy/Wasmtime".into(),
                    value: lazy / wt,
                    target: 0.2,
                });
            }
            if case.ends_with("_cached") {
                checks.push(Check {
                    what: format!("`{case}` second run (cache), keel/Wasmtime"),
                    value: keel / wt,
                    target: 1.0,
                });
            }
        }
        writeln!(md)?;
    }
    let mut rows = group("programs_cached").peekable();
    if rows.peek().is_some() {
        writeln!(
            md,
            "`benches/startup.rs` `programs_cached`: `Module::new` of a program in a warm \
             compilation cache, in process.\n\n| program | keel | Wasmtime | keel/Wasmtime |\n\
             |---|---:|---:|---:|"
        )?;
        for ((_, case), rt) in rows {
            let get = |r: &str| rt.get(r).copied().unwrap_or(f64::NAN);
            let (k, w) = (get("keel"), get("wasmtime"));
            writeln!(
                md,
                "| {case} | {} | {} | {} |",
                fmt_ns(k),
                fmt_ns(w),
                fmt_ratio(k / w)
            )?;
            checks.push(Check {
                what: format!("`{case}` from the cache (`Module::new`), keel/Wasmtime"),
                value: k / w,
                target: 1.0,
            });
        }
        writeln!(md)?;
    }
    for ((_, case), rt) in group("module_new_large") {
        let get = |r: &str| rt.get(r).copied().unwrap_or(f64::NAN);
        let (lazy, k, w) = (get("keel_lazy"), get("keel"), get("wasmtime"));
        writeln!(
            md,
            "`module_new_large`: `Module::new` of `{case}` without a cache, in process: keel \
             lazily {} (validation and tables; {} of Wasmtime's), keel eagerly {} ({}), \
             Wasmtime {}.\n",
            fmt_ns(lazy),
            fmt_ratio(lazy / w),
            fmt_ns(k),
            fmt_ratio(k / w),
            fmt_ns(w)
        )?;
    }
    let mut rows = group("lazy_execution").peekable();
    if rows.peek().is_some() {
        writeln!(
            md,
            "`lazy_execution`: one call of `run` of the execution workloads after a first \
             call, keel compiling eagerly and lazily.\n\n| workload | eager | lazy | \
             lazy/eager |\n|---|---:|---:|---:|"
        )?;
        for ((_, case), rt) in rows {
            let get = |r: &str| rt.get(r).copied().unwrap_or(f64::NAN);
            let (eager, lazy) = (get("keel"), get("keel_lazy"));
            writeln!(
                md,
                "| {case} | {} | {} | {} |",
                fmt_ns(eager),
                fmt_ns(lazy),
                fmt_ratio(lazy / eager)
            )?;
            checks.push(Check {
                what: format!("execution `{case}` compiled lazily, lazy/eager"),
                value: lazy / eager,
                target: 1.02,
            });
        }
        writeln!(md)?;
    }
    if let Some(sizes) = &sizes {
        writeln!(
            md,
            "`artifact-sizes`: bytes of each program's artifact, keel's (the format of its \
             cache entries) and Wasmtime's `.cwasm`.\n\n| program | wasm | keel | Wasmtime | \
             keel/Wasmtime |\n|---|---:|---:|---:|---:|"
        )?;
        let (mut keel_total, mut wt_total) = (0.0, 0.0);
        for row in sizes.as_array().into_iter().flatten() {
            let n = |k: &str| row[k].as_f64().unwrap_or(f64::NAN);
            let (k, w) = (n("keel"), n("wasmtime"));
            keel_total += k;
            wt_total += w;
            writeln!(
                md,
                "| {} | {:.0} | {:.0} | {:.0} | {} |",
                row["program"].as_str().unwrap_or_default(),
                n("wasm"),
                k,
                w,
                fmt_ratio(k / w)
            )?;
        }
        writeln!(
            md,
            "| total | | {keel_total:.0} | {wt_total:.0} | {} |\n",
            fmt_ratio(keel_total / wt_total)
        )?;
        checks.push(Check {
            what: "artifact sizes in total, keel/Wasmtime".into(),
            value: keel_total / wt_total,
            target: 0.8,
        });
    }
    Ok(())
}

fn version_of(lock: &str, name: &str) -> String {
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .map(|i| {
            lock[i + needle.len()..]
                .split('"')
                .next()
                .unwrap_or("?")
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut results = Results::new();
    collect(&root.join("target/criterion"), &mut results)
        .context("reading target/criterion (run the benchmarks first)")?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut md = String::new();
    writeln!(md, "# keel benchmarks\n")?;
    writeln!(
        md,
        "Generated by `benches/report` (criterion medians, one run, one machine). Lower is better;"
    )?;
    writeln!(md, "a ratio below 1 means keel is faster.\n")?;
    writeln!(md, "* machine: {cpu}, {cores} cores")?;
    writeln!(
        md,
        "* versions: keel {}, Wasmtime {} (Cranelift {}), wasmi {}; native: `gcc -O2`",
        version_of(&lock, "keel"),
        version_of(&lock, "wasmtime"),
        version_of(&lock, "cranelift-codegen"),
        version_of(&lock, "wasmi")
    )?;
    writeln!(md, "* all runtimes with their default configuration\n")?;

    let mut exec_ratios = Vec::new();
    let mut checks = Vec::new();
    for (group, title) in [
        ("execution", "Execution (one call of `run`)"),
        ("calls", "Calls (per call)"),
        (
            "instantiate",
            "Instantiation (new store + instance, per instance)",
        ),
        (
            "instantiate_pooling",
            "Instantiation with pooling allocators (keel's and Wasmtime's, same limits)",
        ),
        ("compile", "Compilation (`Module::new`)"),
        (
            "wasm3",
            "WebAssembly 3.0 workloads (one call of `run`; `atomics_2threads`: one call on each of two threads at once)",
        ),
        (
            "exceptions",
            "Exceptions (one call of `run`: 10,000 throws, each caught `throw_N` wasm frames above)",
        ),
        (
            "gc",
            "GC (one call of `run`: binary trees of depth 14, a hash map of 200,000 insertions and lookups; Wasmtime with GC on, its default collector; wasmi has no GC)",
        ),
    ] {
        writeln!(md, "## {title}\n")?;
        let native = group == "execution" || group == "wasm3";
        write!(md, "| case | keel | Wasmtime | wasmi |")?;
        if native {
            write!(md, " native |")?;
        }
        writeln!(md, " keel/Wasmtime | keel/wasmi |")?;
        write!(md, "|---|---:|---:|---:|")?;
        if native {
            write!(md, "---:|")?;
        }
        writeln!(md, "---:|---:|")?;
        for ((g, case), rt) in &results {
            if g != group {
                continue;
            }
            let get = |r: &str| rt.get(r).copied().unwrap_or(f64::NAN);
            let (k, wt, wi) = (get("keel"), get("wasmtime"), get("wasmi"));
            let per_call = match (group, case.as_str()) {
                ("calls", "wasm_to_host") => 1000.0,
                _ => 1.0,
            };
            write!(
                md,
                "| {case} | {} | {} | {} |",
                fmt_ns(k / per_call),
                fmt_ns(wt / per_call),
                fmt_ns(wi / per_call)
            )?;
            if native {
                write!(md, " {} |", fmt_ns(get("native")))?;
            }
            writeln!(md, " {} | {} |", fmt_ratio(k / wt), fmt_ratio(k / wi))?;
            if group == "execution" && (k / wt).is_finite() {
                exec_ratios.push(k / wt);
            }
            let target = match group {
                "execution" => Some(1.05),
                "calls" => Some(1.0),
                "instantiate" => Some(0.8),
                "instantiate_pooling" => Some(1.0),
                "wasm3" => Some(1.05),
                "exceptions" => Some(1.0),
                "gc" => Some(1.0),
                _ => None,
            };
            if let Some(target) = target {
                checks.push(Check {
                    what: format!("{group} `{case}`, keel/Wasmtime"),
                    value: k / wt,
                    target,
                });
            }
        }
        if group == "compile" {
            writeln!(
                md,
                "\nCompile throughput in MB/s (module size / median time):\n"
            )?;
            writeln!(
                md,
                "| case | bytes | keel | Wasmtime | wasmi |\n|---|---:|---:|---:|---:|"
            )?;
            for (size, bytes) in [
                ("small", include_bytes!("../../workloads/sha256.wasm").len()),
                ("medium", keel_benches::generated_module(100 * 1024).len()),
                ("large", keel_benches::generated_module(1024 * 1024).len()),
            ] {
                if let Some(rt) = results.get(&("compile".to_string(), size.to_string())) {
                    let mbs = |r: &str| {
                        bytes as f64 / 1e6 / (rt.get(r).copied().unwrap_or(f64::NAN) / 1e9)
                    };
                    writeln!(
                        md,
                        "| {size} | {bytes} | {:.1} | {:.1} | {:.1} |",
                        mbs("keel"),
                        mbs("wasmtime"),
                        mbs("wasmi")
                    )?;
                }
            }
        }
        writeln!(md)?;
    }
    // Instantiation throughput on two threads (`instantiate_2threads`).
    if results.keys().any(|(g, _)| g == "instantiate_2threads") {
        writeln!(md, "## Instantiation throughput on two threads\n")?;
        writeln!(
            md,
            "Instances per second with two threads each making a new store and instance \
             in a loop (shared engine, module and linker); higher is better. The ratio is \
             Wasmtime's rate over keel's, so below 1 means keel makes more.\n"
        )?;
        writeln!(
            md,
            "| case | keel | Wasmtime | wasmi | keel pooling | Wasmtime pooling | \
             keel/Wasmtime | keel/Wasmtime pooling |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for ((g, case), rt) in &results {
            if g != "instantiate_2threads" {
                continue;
            }
            // Each iteration is two instances, one per thread.
            let rate = |r: &str| 2e9 / rt.get(r).copied().unwrap_or(f64::NAN);
            let fmt_rate = |x: f64| {
                if x.is_finite() {
                    format!("{:.0}", x)
                } else {
                    "–".into()
                }
            };
            writeln!(
                md,
                "| {case} | {} | {} | {} | {} | {} | {} | {} |",
                fmt_rate(rate("keel")),
                fmt_rate(rate("wasmtime")),
                fmt_rate(rate("wasmi")),
                fmt_rate(rate("keel_pooling")),
                fmt_rate(rate("wasmtime_pooling")),
                fmt_ratio(rate("wasmtime") / rate("keel")),
                fmt_ratio(rate("wasmtime_pooling") / rate("keel_pooling")),
            )?;
        }
        writeln!(md)?;
    }
    // Peak resident memory of the GC workloads (`gc-rss` binary).
    if let Ok(text) = std::fs::read_to_string(root.join("target/gc-rss.json")) {
        let rss: Value = serde_json::from_str(&text)?;
        writeln!(
            md,
            "## Peak resident memory of the GC workloads
"
        )?;
        writeln!(
            md,
            "`cargo run --profile bench --bin gc-rss`: each runtime in a process of its own \
             runs the workload once; the growth of the peak resident set (`VmHWM`) from \
             before the call to after it.\n"
        )?;
        writeln!(
            md,
            "| workload | keel | Wasmtime | keel/Wasmtime |\n|---|---:|---:|---:|"
        )?;
        let mib = |b: f64| format!("{:.1} MiB", b / (1024.0 * 1024.0));
        if let Some(workloads) = rss.as_object() {
            for (workload, peaks) in workloads {
                let get = |r: &str| peaks[r].as_f64().unwrap_or(f64::NAN);
                let (k, w) = (get("keel"), get("wasmtime"));
                writeln!(
                    md,
                    "| {workload} | {} | {} | {} |",
                    mib(k),
                    mib(w),
                    fmt_ratio(k / w)
                )?;
                checks.push(Check {
                    what: format!("gc peak memory `{workload}`, keel/Wasmtime"),
                    value: k / w,
                    target: 1.0,
                });
            }
        }
        writeln!(md)?;
    }
    // Resident memory per idle instance (`idle-rss` binary).
    if let Ok(text) = std::fs::read_to_string(root.join("target/idle-rss.json")) {
        let rss: Value = serde_json::from_str(&text)?;
        let count = rss["instances"].as_f64().unwrap_or(f64::NAN);
        let per = |r: &str| rss[r].as_f64().unwrap_or(f64::NAN) / count;
        writeln!(md, "## Resident memory per idle instance\n")?;
        writeln!(
            md,
            "`cargo run --profile bench --bin idle-rss`: each runtime in a process of its own \
             makes {count} instances of a module with one 64 KiB page of linear memory, each \
             in its own store, all kept alive and never called; the growth of `VmRSS` divided \
             by the count.\n"
        )?;
        writeln!(
            md,
            "| keel | Wasmtime | wasmi | keel/Wasmtime | keel/wasmi |\n|---:|---:|---:|---:|---:|"
        )?;
        let kib = |b: f64| format!("{:.1} KiB", b / 1024.0);
        writeln!(
            md,
            "| {} | {} | {} | {} | {} |\n",
            kib(per("keel")),
            kib(per("wasmtime")),
            kib(per("wasmi")),
            fmt_ratio(per("keel") / per("wasmtime")),
            fmt_ratio(per("keel") / per("wasmi"))
        )?;
        checks.push(Check {
            what: "resident memory per idle instance, keel/Wasmtime".into(),
            value: per("keel") / per("wasmtime"),
            target: 1.0,
        });
    }
    startup(&mut md, &results, &root, &mut checks)?;
    // Whole WASI programs (`benches/programs.rs`).
    if results.keys().any(|(g, _)| g == "programs_run") {
        writeln!(md, "## Real programs\n")?;
        writeln!(
            md,
            "`benches/programs`: whole C programs built for wasm32-wasi (four of ours, and \
             SQLite and zlib built from the sources in the `libsqlite3-sys` and `libz-sys` \
             crates). Run is a fresh WASI context, store, instantiation and `_start` (keel \
             with keel-wasi, Wasmtime with wasmtime-wasi's preview 1); compile is \
             `Module::new`.\n"
        )?;
        writeln!(
            md,
            "| program | run keel | run Wasmtime | run keel/Wasmtime | compile keel | \
             compile Wasmtime | compile keel/Wasmtime |\n|---|---:|---:|---:|---:|---:|---:|"
        )?;
        let (mut run_ratios, mut compile_ratios) = (Vec::new(), Vec::new());
        for ((g, case), run) in &results {
            if g != "programs_run" {
                continue;
            }
            let empty = BTreeMap::new();
            let compile = results
                .get(&("programs_compile".to_string(), case.clone()))
                .unwrap_or(&empty);
            let get = |m: &BTreeMap<String, f64>, r: &str| m.get(r).copied().unwrap_or(f64::NAN);
            let (rk, rw) = (get(run, "keel"), get(run, "wasmtime"));
            let (ck, cw) = (get(compile, "keel"), get(compile, "wasmtime"));
            writeln!(
                md,
                "| {case} | {} | {} | {} | {} | {} | {} |",
                fmt_ns(rk),
                fmt_ns(rw),
                fmt_ratio(rk / rw),
                fmt_ns(ck),
                fmt_ns(cw),
                fmt_ratio(ck / cw)
            )?;
            run_ratios.push(rk / rw);
            compile_ratios.push(ck / cw);
            checks.push(Check {
                what: format!("program `{case}` run, keel/Wasmtime"),
                value: rk / rw,
                target: 1.15,
            });
        }
        let (run_geo, compile_geo) = (geomean(&run_ratios), geomean(&compile_ratios));
        writeln!(
            md,
            "\nGeometric means keel/Wasmtime: run **{run_geo:.3}**, compile \
             **{compile_geo:.3}**.\n"
        )?;
        checks.push(Check {
            what: "programs run, geometric mean keel/Wasmtime".into(),
            value: run_geo,
            target: 1.0,
        });
        checks.push(Check {
            what: "programs compile, geometric mean keel/Wasmtime".into(),
            value: compile_geo,
            target: 1.0,
        });
    }
    // The Spectre mitigation's cost (`benches/spectre.rs`).
    if results.keys().any(|(g, _)| g == "spectre") {
        writeln!(md, "## Spectre mitigation (explicit bounds checks)\n")?;
        writeln!(
            md,
            "Execution with `signals_based_traps(false)`: keel with its default Spectre \
             guards, without them, and with guard pages (no checks); Wasmtime with explicit \
             checks (it guards only with signals-based traps, so it is unguarded here).\n"
        )?;
        writeln!(
            md,
            "| case | keel guarded | keel unguarded | keel guard pages | Wasmtime explicit | \
             guarded/unguarded | keel unguarded/Wasmtime |\n|---|---:|---:|---:|---:|---:|---:|"
        )?;
        let mut costs = Vec::new();
        for ((g, case), rt) in &results {
            if g != "spectre" {
                continue;
            }
            let get = |r: &str| rt.get(r).copied().unwrap_or(f64::NAN);
            let (on, off, pages, wt) = (
                get("keel_guarded"),
                get("keel_unguarded"),
                get("keel_guard_pages"),
                get("wasmtime_explicit"),
            );
            writeln!(
                md,
                "| {case} | {} | {} | {} | {} | {:.3} | {:.2} |",
                fmt_ns(on),
                fmt_ns(off),
                fmt_ns(pages),
                fmt_ns(wt),
                on / off,
                off / wt
            )?;
            if (on / off).is_finite() {
                costs.push(on / off);
            }
        }
        if !costs.is_empty() {
            let geo = (costs.iter().map(|r| r.ln()).sum::<f64>() / costs.len() as f64).exp();
            writeln!(
                md,
                "\nGeometric mean cost of the mitigation (guarded/unguarded): **{geo:.3}**"
            )?;
        }
        writeln!(md)?;
    }
    // Fuel and epoch overheads (`benches/guest_control.rs`).
    if results.keys().any(|(g, _)| g == "guest_control") {
        writeln!(md, "## Guest control: fuel and epoch overhead\n")?;
        writeln!(
            md,
            "Each runtime with fuel metering (`consume_fuel`, the store given `u64::MAX`) and \
             with epoch interruption (deadline never reached), as overhead over the same \
             runtime without, measured in the same run.\n"
        )?;
        writeln!(
            md,
            "| case | keel | keel fuel | keel epoch | Wasmtime | Wasmtime fuel | Wasmtime epoch | \
             keel fuel overhead | Wasmtime fuel overhead | keel epoch overhead | \
             Wasmtime epoch overhead |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        let mut overheads: [Vec<f64>; 4] = Default::default();
        for ((g, case), rt) in &results {
            if g != "guest_control" {
                continue;
            }
            let get = |r: &str| rt.get(r).copied().unwrap_or(f64::NAN);
            let (k, kf, ke) = (get("keel_plain"), get("keel_fuel"), get("keel_epoch"));
            let (w, wf, we) = (
                get("wasmtime_plain"),
                get("wasmtime_fuel"),
                get("wasmtime_epoch"),
            );
            let ratios = [kf / k, wf / w, ke / k, we / w];
            writeln!(
                md,
                "| {case} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
                fmt_ns(k),
                fmt_ns(kf),
                fmt_ns(ke),
                fmt_ns(w),
                fmt_ns(wf),
                fmt_ns(we),
                ratios[0],
                ratios[1],
                ratios[2],
                ratios[3]
            )?;
            for (list, r) in overheads.iter_mut().zip(ratios) {
                if r.is_finite() {
                    list.push(r);
                }
            }
        }
        let geo = |v: &[f64]| (v.iter().map(|r| r.ln()).sum::<f64>() / v.len() as f64).exp();
        if overheads.iter().all(|v| !v.is_empty()) {
            writeln!(
                md,
                "\nGeometric mean overhead: fuel keel **{:.3}**, Wasmtime **{:.3}**; \
                 epochs keel **{:.3}**, Wasmtime **{:.3}** (targets: keel's at most Wasmtime's).",
                geo(&overheads[0]),
                geo(&overheads[1]),
                geo(&overheads[2]),
                geo(&overheads[3])
            )?;
        }
        writeln!(md)?;
    }
    // Compile-time scaling of hostile shapes (`benches/pathological.rs`).
    if results.keys().any(|(g, _)| g == "pathological") {
        writeln!(md, "## Pathological modules: compile time per byte\n")?;
        writeln!(
            md,
            "`Module::from_binary` of each hostile shape at 1x, 4x and 16x its base size; \
             linear compile time shows as a flat ns/byte.\n"
        )?;
        writeln!(
            md,
            "| shape | 1x bytes | 1x | 4x | 16x | ns/byte 1x | ns/byte 4x | ns/byte 16x | \
             16x/1x per byte |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for ((g, case), rt) in &results {
            if g != "pathological" {
                continue;
            }
            // Runtime keys are `{scale}x_{bytes}`.
            let mut by_scale = BTreeMap::new();
            for (key, ns) in rt {
                if let Some((scale, bytes)) = key.split_once("x_")
                    && let (Ok(scale), Ok(bytes)) = (scale.parse::<u32>(), bytes.parse::<f64>())
                {
                    by_scale.insert(scale, (*ns, bytes));
                }
            }
            let get = |s: u32| by_scale.get(&s).copied().unwrap_or((f64::NAN, f64::NAN));
            let ((t1, b1), (t4, b4), (t16, b16)) = (get(1), get(4), get(16));
            writeln!(
                md,
                "| {case} | {b1} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} |",
                fmt_ns(t1),
                fmt_ns(t4),
                fmt_ns(t16),
                t1 / b1,
                t4 / b4,
                t16 / b16,
                (t16 / b16) / (t1 / b1)
            )?;
        }
        writeln!(md)?;
    }
    if !exec_ratios.is_empty() {
        checks.push(Check {
            what: "execution, geometric mean keel/Wasmtime".into(),
            value: geomean(&exec_ratios),
            target: 1.0,
        });
    }
    if !checks.is_empty() {
        writeln!(md, "## Summary\n")?;
        writeln!(
            md,
            "Every target of the performance issues checked against this run (lower is \
             better); a miss is explained in the latest issue note.\n"
        )?;
        writeln!(
            md,
            "| measure | value | target | met |\n|---|---:|---:|:---:|"
        )?;
        for c in &checks {
            let met = if c.value <= c.target { "yes" } else { "**no**" };
            writeln!(
                md,
                "| {} | {} | ≤ {:.2} | {met} |",
                c.what,
                fmt_ratio(c.value),
                c.target
            )?;
        }
        writeln!(md)?;
    }
    md.push_str(&std::fs::read_to_string(root.join("earlier-results.md"))?);
    let out = root.join("../BENCHMARKS.md");
    std::fs::write(&out, md)?;
    println!("wrote {}", out.display());
    Ok(())
}
