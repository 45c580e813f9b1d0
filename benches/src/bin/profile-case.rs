//! Run one benchmark case of keel in a loop, for profiling it alone
//! (`perf record -g target/release/profile-case instantiate-data`):
//! the criterion binary also builds every other case's inputs, which
//! drowns a profile.
//!
//! Cases: `instantiate-empty`, `instantiate-data`, `instantiate-funcs`,
//! `wasm-to-host`, `typed-call` (and `typed-call-wasmtime`, the same in
//! Wasmtime), and `exec-WORKLOAD-RUNTIME` (an execution
//! workload such as `exec-nbody-wasmtime`, runtime `keel` or `wasmtime`).
//! An optional second argument is the number of seconds. With
//! `KEEL_PERFMAP=1` both runtimes name their JIT code for `perf report`.

use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    // `KEEL_PERFMAP=1` names the JIT code for `perf report`.
    let mut config = keel::Config::new();
    if std::env::var_os("KEEL_PERFMAP").is_some() {
        config.profiler(keel::ProfilingStrategy::PerfMap);
    }
    let engine = keel::Engine::new(&config)?;
    let mut iterations = 0u64;
    match case.as_str() {
        "instantiate-empty" | "instantiate-data" | "instantiate-funcs" => {
            let which = match case.as_str() {
                "instantiate-empty" => "empty",
                "instantiate-data" => "data_64k",
                _ => "funcs_1000",
            };
            let (_, wasm) = keel_benches::instantiation_cases()
                .into_iter()
                .find(|(name, _)| *name == which)
                .expect("a known case");
            let module = keel::Module::new(&engine, &wasm)?;
            let linker = keel::Linker::new(&engine);
            let start = Instant::now();
            while Instant::now() < deadline {
                let mut store = keel::Store::new(&engine, ());
                linker.instantiate(&mut store, &module)?;
                iterations += 1;
            }
            println!(
                "{case}: {:.2} µs per instantiation",
                start.elapsed().as_secs_f64() * 1e6 / iterations as f64
            );
        }
        "wasm-to-host" => {
            let module = keel::Module::new(
                &engine,
                r#"(module (import "host" "inc" (func $inc (param i32) (result i32)))
                    (func (export "host_loop") (param $n i32) (result i32) (local $acc i32)
                      (loop $l
                        (local.set $acc (call $inc (local.get $acc)))
                        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
                      local.get $acc))"#,
            )?;
            let mut store = keel::Store::new(&engine, ());
            let mut linker = keel::Linker::new(&engine);
            linker.func_wrap("host", "inc", |x: i32| x + 1)?;
            let instance = linker.instantiate(&mut store, &module)?;
            let f = instance.get_typed_func::<i32, i32>(&mut store, "host_loop")?;
            let start = Instant::now();
            while Instant::now() < deadline {
                f.call(&mut store, 1_000_000)?;
                iterations += 1_000_000;
            }
            println!(
                "{case}: {:.2} ns per call",
                start.elapsed().as_secs_f64() * 1e9 / iterations as f64
            );
        }
        "typed-call" => {
            let module = keel::Module::new(
                &engine,
                r#"(module (func (export "id") (param i32) (result i32)
                    local.get 0 i32.const 1 i32.add))"#,
            )?;
            let mut store = keel::Store::new(&engine, ());
            let instance = keel::Linker::new(&engine).instantiate(&mut store, &module)?;
            let f = instance.get_typed_func::<i32, i32>(&mut store, "id")?;
            let start = Instant::now();
            while Instant::now() < deadline {
                for _ in 0..1_000_000 {
                    std::hint::black_box(f.call(&mut store, std::hint::black_box(7))?);
                }
                iterations += 1_000_000;
            }
            println!(
                "{case}: {:.2} ns per call",
                start.elapsed().as_secs_f64() * 1e9 / iterations as f64
            );
        }
        "typed-call-wasmtime" => {
            let engine = wasmtime::Engine::default();
            let module = wasmtime::Module::new(
                &engine,
                wat::parse_str(
                    r#"(module (func (export "id") (param i32) (result i32)
                        local.get 0 i32.const 1 i32.add))"#,
                )?,
            )
            .map_err(wt)?;
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = wasmtime::Linker::new(&engine)
                .instantiate(&mut store, &module)
                .map_err(wt)?;
            let f = instance
                .get_typed_func::<i32, i32>(&mut store, "id")
                .map_err(wt)?;
            let start = Instant::now();
            while Instant::now() < deadline {
                for _ in 0..1_000_000 {
                    std::hint::black_box(f.call(&mut store, std::hint::black_box(7)).map_err(wt)?);
                }
                iterations += 1_000_000;
            }
            println!(
                "{case}: {:.2} ns per call",
                start.elapsed().as_secs_f64() * 1e9 / iterations as f64
            );
        }
        exec if exec.starts_with("exec-") => {
            let (name, runtime) = exec["exec-".len()..]
                .rsplit_once('-')
                .ok_or_else(|| anyhow::anyhow!("expected exec-WORKLOAD-RUNTIME"))?;
            let w = keel_benches::workloads()
                .into_iter()
                .find(|w| w.name == name)
                .ok_or_else(|| anyhow::anyhow!("unknown workload `{name}`"))?;
            let mut run = match runtime {
                "keel" => keel_benches::keel_runner_with(&config, w.wasm, w.ret)?,
                "wasmtime" => {
                    let mut config = wasmtime::Config::new();
                    if std::env::var_os("KEEL_PERFMAP").is_some() {
                        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
                    }
                    keel_benches::wasmtime_runner_with(&config, w.wasm, w.ret)?
                }
                other => anyhow::bail!("unknown runtime `{other}`"),
            };
            let start = Instant::now();
            while Instant::now() < deadline {
                std::hint::black_box(run(w.arg));
                iterations += 1;
            }
            println!(
                "{case}: {:.3} ms per run",
                start.elapsed().as_secs_f64() * 1e3 / iterations as f64
            );
        }
        other => anyhow::bail!("unknown case `{other}`"),
    }
    Ok(())
}

/// Wasmtime's error as an `anyhow::Error`.
fn wt(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}
