//! Workloads and runtime adapters shared by keel's benchmarks: the same
//! `.wasm` run in keel, Wasmtime and wasmi with default configurations,
//! and the C sources compiled natively.

use anyhow::Result;

/// A memory-heavy loop: fill `pages` of linear memory with i32 values,
/// then sum them back `passes` times, with byte, 32-bit and 64-bit loads
/// and stores at varying static offsets.
pub const MEMORY_LOOP_WAT: &str = r#"(module
  (memory 16)
  (func (export "run") (param $passes i32) (result i64)
    (local $i i32) (local $end i32) (local $sum i64)
    (local.set $end (i32.const 1048576))
    ;; fill
    (local.set $i (i32.const 0))
    (loop $fill
      (i32.store (local.get $i) (i32.mul (local.get $i) (i32.const 2654435761)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $i) (local.get $end))))
    ;; sum, `passes` times
    (loop $pass
      (local.set $i (i32.const 0))
      (loop $sum
        (local.set $sum (i64.add (local.get $sum) (i64.load offset=8 (local.get $i))))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (i32.load8_u offset=3 (local.get $i)))))
        (i32.store offset=4 (local.get $i) (i32.wrap_i64 (local.get $sum)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $sum (i32.lt_u (local.get $i) (i32.const 1048560))))
      (local.tee $passes (i32.sub (local.get $passes) (i32.const 1)))
      (br_if $pass))
    (local.get $sum)))"#;

/// What a workload's `run` export returns.
#[derive(Clone, Copy, Debug)]
pub enum Ret {
    /// `i32`.
    I32,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

/// One compute workload: its wasm, the argument of `run`, and the native
/// build of the same C source.
pub struct Workload {
    /// Name, also the C source file name.
    pub name: &'static str,
    /// What it exercises.
    pub profile: &'static str,
    /// The wasm32 build (`workloads/build.sh`).
    pub wasm: &'static [u8],
    /// Argument to `run`.
    pub arg: u32,
    /// Result type of `run`.
    pub ret: Ret,
    /// The native build, returning the result as f64.
    pub native: fn(u32) -> f64,
}

unsafe extern "C" {
    fn fib_run(n: u32) -> u32;
    fn sieve_run(n: u32) -> u32;
    fn matmul_run(n: u32) -> f64;
    fn sha256_run(n: u32) -> u32;
    fn nbody_run(n: u32) -> f64;
    fn quicksort_run(n: u32) -> u32;
    fn simd_run(n: u32) -> f32;
    fn isort_run(n: u32) -> u32;
    fn indirect_run(n: u32) -> u32;
}

macro_rules! native {
    ($f:ident) => {
        |n| {
            // SAFETY: the C functions take and return plain numbers and
            // touch only their own static arrays.
            f64::from(unsafe { $f(n) })
        }
    };
}

/// The execution workloads.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "fib",
            profile: "recursive calls",
            wasm: include_bytes!("../workloads/fib.wasm"),
            arg: 27,
            ret: Ret::I32,
            native: native!(fib_run),
        },
        Workload {
            name: "sieve",
            profile: "tight integer loops, byte stores",
            wasm: include_bytes!("../workloads/sieve.wasm"),
            arg: 1,
            ret: Ret::I32,
            native: native!(sieve_run),
        },
        Workload {
            name: "matmul",
            profile: "floating point, memory",
            wasm: include_bytes!("../workloads/matmul.wasm"),
            arg: 2,
            ret: Ret::F64,
            native: native!(matmul_run),
        },
        Workload {
            name: "sha256",
            profile: "integer bit manipulation, memory",
            wasm: include_bytes!("../workloads/sha256.wasm"),
            arg: 4,
            ret: Ret::I32,
            native: native!(sha256_run),
        },
        Workload {
            name: "nbody",
            profile: "floating point, sqrt",
            wasm: include_bytes!("../workloads/nbody.wasm"),
            arg: 50_000,
            ret: Ret::F64,
            native: native!(nbody_run),
        },
        Workload {
            name: "quicksort",
            profile: "indirect calls, memory",
            wasm: include_bytes!("../workloads/quicksort.wasm"),
            arg: 1,
            ret: Ret::I32,
            native: native!(quicksort_run),
        },
        Workload {
            name: "simd",
            profile: "128-bit SIMD",
            wasm: include_bytes!("../workloads/simd.wasm"),
            arg: 2_000,
            ret: Ret::F32,
            native: native!(simd_run),
        },
        Workload {
            name: "isort",
            profile: "insertion sort: a memory-bound inner loop",
            wasm: include_bytes!("../workloads/isort.wasm"),
            arg: 1,
            ret: Ret::I32,
            native: native!(isort_run),
        },
        Workload {
            name: "indirect",
            profile: "call_indirect in a dispatch loop",
            wasm: include_bytes!("../workloads/indirect.wasm"),
            arg: 400,
            ret: Ret::I32,
            native: native!(indirect_run),
        },
    ]
}

/// A prepared `run(i32)` entry point that returns its result as f64.
pub type Runner = Box<dyn FnMut(u32) -> f64>;

/// Panic unless every runner computes what the native build of `w`
/// computes (so a benchmark never times a wrong result).
pub fn check_runners<N: std::fmt::Display>(w: &Workload, runners: &mut [(N, Runner)]) {
    let expect = (w.native)(w.arg);
    for (name, run) in runners {
        let got = run(w.arg);
        assert!(
            (got - expect).abs() <= 1e-6 * expect.abs().max(1.0),
            "{}: {name} computed {got}, native {expect}",
            w.name
        );
    }
}

/// A [`Runner`] around `$get`, the engine's typed `run` for result type
/// `$r` (an alias the caller's expression names), called in `$store`.
macro_rules! typed_runner {
    ($ret:expr, $store:ident, $r:ident => $get:expr, $what:literal) => {
        match $ret {
            Ret::I32 => {
                type $r = i32;
                let f = $get;
                Box::new(
                    move |n: u32| f64::from(f.call(&mut $store, n as i32).expect($what) as u32),
                ) as Runner
            }
            Ret::F32 => {
                type $r = f32;
                let f = $get;
                Box::new(move |n: u32| f64::from(f.call(&mut $store, n as i32).expect($what)))
                    as Runner
            }
            Ret::F64 => {
                type $r = f64;
                let f = $get;
                Box::new(move |n: u32| f.call(&mut $store, n as i32).expect($what)) as Runner
            }
        }
    };
}

/// Instantiate `wasm` in keel and return its `run`.
pub fn keel_runner(wasm: &[u8], ret: Ret) -> Result<Runner> {
    keel_runner_with(&keel::Config::default(), wasm, ret)
}

/// Instantiate `wasm` in keel configured by `config` and return its `run`.
pub fn keel_runner_with(config: &keel::Config, wasm: &[u8], ret: Ret) -> Result<Runner> {
    keel_runner_metered(config, wasm, ret, Metering::default())
}

/// Which guest controls a runner's store uses; the engine's configuration
/// must enable them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Metering {
    /// Give the store `u64::MAX` fuel.
    pub fuel: bool,
    /// Set the store's epoch deadline as far away as it goes.
    pub epochs: bool,
}

/// As [`keel_runner_with`], with the store set up for `metering`.
pub fn keel_runner_metered(
    config: &keel::Config,
    wasm: &[u8],
    ret: Ret,
    metering: Metering,
) -> Result<Runner> {
    let engine = keel::Engine::new(config)?;
    let module = keel::Module::new(&engine, wasm)?;
    let mut store = keel::Store::new(&engine, ());
    if metering.fuel {
        store.set_fuel(u64::MAX)?;
    }
    if metering.epochs {
        store.set_epoch_deadline(u64::MAX);
    }
    let instance = keel::Linker::new(&engine).instantiate(&mut store, &module)?;
    Ok(
        typed_runner!(ret, store, R => instance.get_typed_func::<i32, R>(&mut store, "run")?, "keel run"),
    )
}

/// Wasmtime's error as an `anyhow::Error`.
fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Instantiate `wasm` in Wasmtime and return its `run`.
pub fn wasmtime_runner(wasm: &[u8], ret: Ret) -> Result<Runner> {
    wasmtime_runner_with(&wasmtime::Config::default(), wasm, ret)
}

/// Instantiate `wasm` in Wasmtime configured by `config` and return its
/// `run`.
pub fn wasmtime_runner_with(config: &wasmtime::Config, wasm: &[u8], ret: Ret) -> Result<Runner> {
    wasmtime_runner_metered(config, wasm, ret, Metering::default())
}

/// As [`wasmtime_runner_with`], with the store set up for `metering`.
pub fn wasmtime_runner_metered(
    config: &wasmtime::Config,
    wasm: &[u8],
    ret: Ret,
    metering: Metering,
) -> Result<Runner> {
    let engine = wt(wasmtime::Engine::new(config))?;
    let module = wt(wasmtime::Module::new(&engine, wasm))?;
    let mut store = wasmtime::Store::new(&engine, ());
    if metering.fuel {
        wt(store.set_fuel(u64::MAX))?;
    }
    if metering.epochs {
        store.set_epoch_deadline(u64::MAX);
    }
    let instance = wt(wasmtime::Instance::new(&mut store, &module, &[]))?;
    Ok(
        typed_runner!(ret, store, R => wt(instance.get_typed_func::<i32, R>(&mut store, "run"))?, "wasmtime run"),
    )
}

/// Instantiate `wasm` in wasmi and return its `run`.
pub fn wasmi_runner(wasm: &[u8], ret: Ret) -> Result<Runner> {
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, wasm)?;
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module)?;
    Ok(
        typed_runner!(ret, store, R => instance.get_typed_func::<i32, R>(&store, "run")?, "wasmi run"),
    )
}

/// A module of about `target_bytes`, generated deterministically: many
/// functions with loops, arithmetic, memory accesses and calls, to time
/// compilation.
pub fn generated_module(target_bytes: usize) -> Vec<u8> {
    let mut wat = String::from("(module (memory 1) (table 16 funcref)\n");
    let mut i = 0usize;
    loop {
        let callee = if i == 0 { 0 } else { (i * 7) % i };
        wat += &format!(
            "(func $f{i} (param $a i32) (param $b i32) (result i32) (local $t i32) (local $x f64)
               (local.set $t (i32.add (local.get $a) (i32.const {k})))
               (block $out (loop $l
                 (br_if $out (i32.ge_u (local.get $t) (i32.add (local.get $b) (i32.const 100))))
                 (i32.store offset={off} (i32.and (local.get $t) (i32.const 0xfff0))
                   (i32.xor (i32.mul (local.get $t) (i32.const {m})) (i32.load offset=4 (i32.and (local.get $b) (i32.const 0xff00)))))
                 (local.set $x (f64.add (local.get $x) (f64.sqrt (f64.convert_i32_u (local.get $t)))))
                 (local.set $t (i32.add (local.get $t) (i32.const 1)))
                 (br $l)))
               (if (result i32) (i32.gt_s (local.get $a) (i32.const 3))
                 (then (call $f{callee} (i32.sub (local.get $a) (i32.const 1)) (local.get $t)))
                 (else (i32.add (i32.trunc_sat_f64_s (local.get $x)) (local.get $t)))))\n",
            k = i % 97,
            off = (i % 16) * 4,
            m = (i * 2654435761usize) % 1_000_003,
        );
        i += 1;
        if i.is_multiple_of(64)
            && wat::parse_str(&(wat.clone() + ")"))
                .map(|b| b.len())
                .unwrap_or(0)
                >= target_bytes
        {
            break;
        }
    }
    wat::parse_str(wat + ")").expect("generated module parses")
}

/// Run a WASI command's `_start` as `keel run` does (a fresh WASI context
/// with `name` as `argv[0]`, `sandbox` preopened as `/sandbox`, a new
/// store, instantiation) and return what it wrote to stdout (at most
/// 1 MiB).
///
/// # Panics
///
/// If instantiation fails or `_start` ends other than with exit status 0.
pub fn keel_wasi_run(
    engine: &keel::Engine,
    module: &keel::Module,
    sandbox: &std::path::Path,
    name: &str,
) -> Vec<u8> {
    let stdout = keel_wasi::pipe::MemoryOutputPipe::new(1 << 20);
    let wasi = keel_wasi::WasiCtxBuilder::new()
        .arg(name)
        .stdout(stdout.clone())
        .preopened_dir(
            sandbox,
            "/sandbox",
            keel_wasi::DirPerms::all(),
            keel_wasi::FilePerms::all(),
        )
        .unwrap()
        .build();
    let mut linker = keel::Linker::new(engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut keel_wasi::p1::WasiP1Ctx| cx).unwrap();
    let mut store = keel::Store::new(engine, wasi);
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    if let Err(e) = start.call(&mut store, ()) {
        assert_eq!(
            e.downcast_ref::<keel_wasi::I32Exit>().map(|e| e.0),
            Some(0),
            "{name}: {e:#}"
        );
    }
    stdout.contents()
}

/// [`keel_wasi_run`] with Wasmtime 48 and its preview-1 `wasmtime-wasi`.
///
/// # Panics
///
/// As [`keel_wasi_run`].
pub fn wasmtime_wasi_run(
    engine: &wasmtime::Engine,
    module: &wasmtime::Module,
    sandbox: &std::path::Path,
    name: &str,
) -> Vec<u8> {
    let stdout = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
    let wasi = wasmtime_wasi::WasiCtxBuilder::new()
        .arg(name)
        .stdout(stdout.clone())
        .preopened_dir(sandbox, "/sandbox", wasmtime_wasi::FsPerms::ReadWrite)
        .unwrap()
        .build_p1();
    let mut linker = wasmtime::Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut wasmtime_wasi::p1::WasiP1Ctx| cx)
        .unwrap();
    let mut store = wasmtime::Store::new(engine, wasi);
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    if let Err(e) = start.call(&mut store, ()) {
        assert_eq!(
            e.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0),
            Some(0),
            "{name}: {e:#}"
        );
    }
    stdout.contents().to_vec()
}

/// The real programs of `benches/programs` (issue 15): (name, `.wasm`
/// path). Ours are committed; the SQLite and zlib drivers are built by
/// build.rs into `OUT_DIR` and missing when it could not build them.
pub fn real_programs() -> Vec<(&'static str, std::path::PathBuf)> {
    let own = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    vec![
        ("lz77", own.join("lz77.wasm")),
        ("json", own.join("json.wasm")),
        ("raytrace", own.join("raytrace.wasm")),
        ("kvstore", own.join("kvstore.wasm")),
        (
            "sqlite",
            std::path::PathBuf::from(concat!(env!("OUT_DIR"), "/sqlite_bench.wasm")),
        ),
        (
            "zlib",
            std::path::PathBuf::from(concat!(env!("OUT_DIR"), "/zlib_bench.wasm")),
        ),
    ]
}

/// The large real program of issue 33 (`programs/large/python.wasm`,
/// CPython 3.11 for WASI, 11.1 MiB of wasm): (name, path).
pub fn large_program() -> (&'static str, std::path::PathBuf) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/large/python.wasm");
    ("python", path)
}

/// The instantiation benchmarks' modules, by case name: `empty` (no
/// items), `data_64k` (one page of memory filled by a 64 KiB active data
/// segment) and `funcs_1000` (1,000 functions, all placed in a 1,000-slot
/// funcref table by one active element segment).
pub fn instantiation_cases() -> [(&'static str, Vec<u8>); 3] {
    let data = format!(
        "(module (memory 1) (data (i32.const 0) \"{}\"))",
        "\\2a".repeat(65536)
    );
    let mut funcs = String::from("(module (table 1000 funcref)");
    for i in 0..1000 {
        funcs += &format!("(func $f{i} (result i32) i32.const {i})");
    }
    funcs += "(elem (i32.const 0) func";
    for i in 0..1000 {
        funcs += &format!(" $f{i}");
    }
    funcs += "))";
    [
        ("empty", wat::parse_str("(module)").unwrap()),
        ("data_64k", wat::parse_str(data).unwrap()),
        ("funcs_1000", wat::parse_str(funcs).unwrap()),
    ]
}
