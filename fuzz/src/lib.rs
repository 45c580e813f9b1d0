//! Shared pieces of keel's fuzz targets: the wasm-smith configurations for
//! what keel supports (WebAssembly 2.0 and the 3.0 proposals), and the
//! differential comparison with wasmi.

use arbitrary::{Result, Unstructured};

/// A wasm-smith configuration for what keel implements and wasmi also
/// runs deterministically: WebAssembly 2.0 and the 3.0 proposals tail
/// calls, extended constants, multiple memories and memory64, plus wide
/// arithmetic and custom page sizes (each on or off as `u` says), with
/// sizes kept small enough for fast iterations. Relaxed SIMD (whose
/// results may differ between correct engines), threads and typed
/// function references (which wasmi lacks) are off; see
/// [`smith_config_all`].
pub fn smith_config(u: &mut Unstructured<'_>, imports: bool) -> Result<wasm_smith::Config> {
    let mut config = wasm_smith::Config {
        // 2.0: on.
        simd_enabled: u.arbitrary()?,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        // 3.0 proposals keel and wasmi both implement, and two more.
        tail_call_enabled: u.arbitrary()?,
        extended_const_enabled: u.arbitrary()?,
        memory64_enabled: u.arbitrary()?,
        wide_arithmetic_enabled: u.arbitrary()?,
        custom_page_sizes_enabled: u.arbitrary()?,
        // Off: nondeterministic, not in wasmi, or not in keel.
        relaxed_simd_enabled: false,
        threads_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        ..Default::default()
    };
    config.max_memories = u.int_in_range(1..=2)?;
    config.max_tables = u.int_in_range(0..=3)?;
    config.max_memory32_bytes = 16 << 20;
    config.max_memory64_bytes = 16 << 20;
    config.max_table_elements = 1_000;
    config.max_funcs = 50;
    config.max_instructions = 500;
    config.max_imports = if imports { 20 } else { 0 };
    config.min_funcs = 1;
    config.export_everything = true;
    Ok(config)
}

/// [`smith_config`] with also relaxed SIMD and threads (shared memories,
/// atomics, waits) as `u` says: for targets that only compile (a generated
/// wait may block forever, and relaxed SIMD results are not comparable).
pub fn smith_config_all(u: &mut Unstructured<'_>, imports: bool) -> Result<wasm_smith::Config> {
    let mut config = smith_config(u, imports)?;
    config.relaxed_simd_enabled = config.simd_enabled && u.arbitrary()?;
    config.threads_enabled = u.arbitrary()?;
    // wasmi has neither exception handling nor GC: only targets without
    // it throw, and make structs, arrays and casts.
    config.exceptions_enabled = u.arbitrary()?;
    config.gc_enabled = u.arbitrary()?;
    Ok(config)
}

/// A wasm-smith module from `u` made to terminate (a fuel counter traps
/// instead of looping forever), as bytes; `None` when the input runs out.
/// `imports` as [`smith_config`]; `canonicalize_nans` makes NaN results
/// deterministic for comparisons by bits.
pub fn terminating_module(
    u: &mut Unstructured<'_>,
    imports: bool,
    canonicalize_nans: bool,
) -> Option<Vec<u8>> {
    let config = smith_config(u, imports).ok()?;
    terminating_module_with(u, config, canonicalize_nans)
}

/// [`terminating_module`] that may also throw and catch exceptions and
/// use GC types and operators (as `u` says): for targets that run keel
/// alone (wasmi has neither).
pub fn terminating_module_keel(
    u: &mut Unstructured<'_>,
    imports: bool,
    canonicalize_nans: bool,
) -> Option<Vec<u8>> {
    let mut config = smith_config(u, imports).ok()?;
    config.exceptions_enabled = u.arbitrary().ok()?;
    config.gc_enabled = u.arbitrary().ok()?;
    terminating_module_with(u, config, canonicalize_nans)
}

fn terminating_module_with(
    u: &mut Unstructured<'_>,
    mut config: wasm_smith::Config,
    canonicalize_nans: bool,
) -> Option<Vec<u8>> {
    config.canonicalize_nans = canonicalize_nans;
    let mut module = wasm_smith::Module::new(config, u).ok()?;
    module.ensure_termination(1_000).ok()?;
    Some(module.to_bytes())
}

/// A keel engine for fuzzing: one thread per compilation (the fuzzer runs
/// one input at a time).
pub fn keel_engine() -> keel::Engine {
    keel_engine_compiling(false)
}

/// [`keel_engine`], compiling each function at its first call when `lazy`
/// (`Config::lazy_compilation`).
pub fn keel_engine_compiling(lazy: bool) -> keel::Engine {
    let mut config = keel::Config::new();
    config
        .parallel_compilation(false)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true)
        .lazy_compilation(lazy)
        // As linear memories: a generated `array.new` cannot take
        // gigabytes (the concurrent target has no store limits).
        .max_gc_heap_size(MAX_MEMORY_BYTES);
    keel::Engine::new(&config).expect("keel engine")
}

/// Whether an input runs with lazy compilation: the low bit of its last
/// byte, which the module generator reads last if at all, so that adding
/// the choice did not change what the committed seeds generate.
pub fn lazy_choice(data: &[u8]) -> bool {
    data.last().is_some_and(|b| b & 1 == 1)
}

/// The largest linear memory a fuzzed store may grow to (64 MiB), the
/// same for keel and for wasmi, so that a generated `memory.grow` cannot
/// exhaust the host.
pub const MAX_MEMORY_BYTES: usize = 64 << 20;

/// The most elements a fuzzed table may have: a generated `table.grow` to
/// 2^31 elements would otherwise make the peer allocate 17 GB.
pub const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// keel's limits for a fuzzed store.
pub fn keel_limits() -> keel::StoreLimits {
    keel::StoreLimitsBuilder::new()
        .memory_size(MAX_MEMORY_BYTES)
        .table_elements(MAX_TABLE_ELEMENTS)
        .build()
}

/// A keel store with [`keel_limits`] installed.
pub fn keel_store(engine: &keel::Engine) -> keel::Store<keel::StoreLimits> {
    let mut store = keel::Store::new(engine, keel_limits());
    store.limiter(|limits| limits);
    store
}

/// A wasmi store with the same limits as [`keel_store`].
pub fn wasmi_store(engine: &wasmi::Engine) -> wasmi::Store<wasmi::StoreLimits> {
    let limits = wasmi::StoreLimitsBuilder::new()
        .memory_size(MAX_MEMORY_BYTES)
        .table_elements(MAX_TABLE_ELEMENTS)
        .build();
    let mut store = wasmi::Store::new(engine, limits);
    store.limiter(|limits| limits);
    store
}

/// An arbitrary argument of type `ty` for keel and the same for wasmi.
fn arg(u: &mut Unstructured<'_>, ty: keel::ValType) -> (keel::Val, wasmi::Val) {
    use keel::ValType as T;
    match ty {
        T::I32 => {
            let v: i32 = u.arbitrary().unwrap_or(0);
            (keel::Val::I32(v), wasmi::Val::I32(v))
        }
        T::I64 => {
            let v: i64 = u.arbitrary().unwrap_or(0);
            (keel::Val::I64(v), wasmi::Val::I64(v))
        }
        T::F32 => {
            let v: u32 = u.arbitrary().unwrap_or(0);
            (keel::Val::F32(v), wasmi::Val::F32(wasmi::F32::from_bits(v)))
        }
        T::F64 => {
            let v: u64 = u.arbitrary().unwrap_or(0);
            (keel::Val::F64(v), wasmi::Val::F64(wasmi::F64::from_bits(v)))
        }
        T::V128 => {
            let v: u128 = u.arbitrary().unwrap_or(0);
            (keel::Val::V128(v), wasmi::Val::V128(wasmi::V128::from(v)))
        }
        T::FuncRef => (
            keel::Val::FuncRef(None),
            wasmi::Val::FuncRef(wasmi::Nullable::Null),
        ),
        T::ExternRef => (
            keel::Val::ExternRef(None),
            wasmi::Val::ExternRef(wasmi::Nullable::Null),
        ),
        // Typed references are not generated (function references off).
        T::Ref(_) => (
            keel::Val::FuncRef(None),
            wasmi::Val::FuncRef(wasmi::Nullable::Null),
        ),
    }
}

/// A value in a form both engines' values can be compared in: numbers by
/// bits (NaNs are canonicalized by the generator), references by nullness.
fn keel_key(v: &keel::Val) -> String {
    match v {
        keel::Val::I32(x) => format!("i32:{x}"),
        keel::Val::I64(x) => format!("i64:{x}"),
        keel::Val::F32(x) => format!("f32:{x:#x}"),
        keel::Val::F64(x) => format!("f64:{x:#x}"),
        keel::Val::V128(x) => format!("v128:{x:#x}"),
        v => format!("ref:null={}", v.is_null()),
    }
}

fn wasmi_key(v: &wasmi::Val) -> String {
    match v {
        wasmi::Val::I32(x) => format!("i32:{x}"),
        wasmi::Val::I64(x) => format!("i64:{x}"),
        wasmi::Val::F32(x) => format!("f32:{:#x}", x.to_bits()),
        wasmi::Val::F64(x) => format!("f64:{:#x}", x.to_bits()),
        wasmi::Val::V128(x) => format!("v128:{:#x}", x.as_u128()),
        wasmi::Val::FuncRef(r) => format!("ref:null={}", r.is_null()),
        wasmi::Val::ExternRef(r) => format!("ref:null={}", r.is_null()),
    }
}

/// How a call or instantiation ended, comparably across engines.
#[derive(Debug, PartialEq)]
enum Outcome {
    Values(Vec<String>),
    Trap(String),
    /// Resource exhaustion, whose point legitimately differs.
    Exhausted,
    /// Any other error (e.g. a failed host-side operation).
    Error(String),
}

fn keel_outcome(r: &keel::Result<Vec<keel::Val>>) -> Outcome {
    match r {
        Ok(v) => Outcome::Values(v.iter().map(keel_key).collect()),
        Err(e) => match e.downcast_ref::<keel::Trap>().copied() {
            Some(keel::Trap::StackOverflow) => Outcome::Exhausted,
            Some(code) => Outcome::Trap(format!("{code:?}")),
            None => Outcome::Error(format!("{e:#}")),
        },
    }
}

fn wasmi_outcome(r: Result<Vec<wasmi::Val>, wasmi::Error>) -> Outcome {
    match r {
        Ok(v) => Outcome::Values(v.iter().map(wasmi_key).collect()),
        Err(e) => match e.as_trap_code() {
            Some(wasmi::TrapCode::StackOverflow | wasmi::TrapCode::OutOfFuel) => Outcome::Exhausted,
            Some(wasmi::TrapCode::GrowthOperationLimited) => Outcome::Exhausted,
            Some(code) => Outcome::Trap(format!("{code:?}")),
            None => Outcome::Error(format!("{e}")),
        },
    }
}

/// The exports of `module` by name.
fn exports(module: &keel::Module) -> Vec<(String, keel::ExternType)> {
    module
        .exports()
        .map(|e| (e.name().to_string(), e.ty()))
        .collect()
}

/// Instantiate `wasm` (no imports) in keel and wasmi, call every exported
/// function with arbitrary arguments, and panic on any difference in
/// results, traps, exported globals or memory contents.
pub fn differential(keel_engine: &keel::Engine, wasm: &[u8], u: &mut Unstructured<'_>) {
    let keel_module = keel::Module::from_binary(keel_engine, wasm)
        .unwrap_or_else(|e| panic!("keel rejected a valid module: {e:#}"));
    let mut wasmi_config = wasmi::Config::default();
    wasmi_config
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true);
    let wasmi_engine = wasmi::Engine::new(&wasmi_config);
    let Ok(wasmi_module) = wasmi::Module::new(&wasmi_engine, wasm) else {
        // wasmi's own limits; nothing to compare against.
        return;
    };
    let mut ks = keel_store(keel_engine);
    let mut ws = wasmi_store(&wasmi_engine);
    let ki = keel::Linker::new(keel_engine).instantiate(&mut ks, &keel_module);
    let wi = wasmi::Linker::new(&wasmi_engine).instantiate_and_start(&mut ws, &wasmi_module);
    let (ki, wi) = match (ki, wi) {
        (Ok(k), Ok(w)) => (k, w),
        (k, w) => {
            let (ko, wo) = (
                keel_outcome(&k.map(|_| vec![])),
                wasmi_outcome(w.map(|_| vec![])),
            );
            match (&ko, &wo) {
                // Both refused: wasmi reports some instantiation failures
                // (e.g. a segment out of bounds) as plain errors rather
                // than trap codes, so only two traps are compared.
                (Outcome::Trap(a), Outcome::Trap(b)) => {
                    assert_eq!(a, b, "instantiation traps differ")
                }
                (Outcome::Values(_), _) | (_, Outcome::Values(_)) => {
                    panic!("instantiation differs: keel {ko:?}, wasmi {wo:?}")
                }
                _ => {}
            }
            return;
        }
    };
    let exports = exports(&keel_module);
    for (name, ty) in &exports {
        let keel::ExternType::Func(fty) = ty else {
            continue;
        };
        let kf = ki.get_func(&mut ks, name).expect("keel export");
        let Some(wf) = wi.get_func(&ws, name) else {
            continue;
        };
        let (kargs, wargs): (Vec<_>, Vec<_>) = fty.params().map(|t| arg(u, t)).unzip();
        let mut kres: Vec<keel::Val> = fty.results().map(keel::Val::default_for).collect();
        let mut wres: Vec<wasmi::Val> = wf
            .ty(&ws)
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        let ko = keel_outcome(&kf.call(&mut ks, &kargs, &mut kres).map(|()| kres));
        let wo = wasmi_outcome(wf.call(&mut ws, &wargs, &mut wres).map(|()| wres));
        if ko == Outcome::Exhausted || wo == Outcome::Exhausted {
            // One engine ran out of stack or fuel where the other did not;
            // their states may now differ legitimately.
            return;
        }
        assert_eq!(ko, wo, "calling `{name}`");
        compare_state(&ki, &mut ks, &wi, &ws, &exports);
    }
}

fn compare_state(
    ki: &keel::Instance,
    ks: &mut keel::Store<keel::StoreLimits>,
    wi: &wasmi::Instance,
    ws: &wasmi::Store<wasmi::StoreLimits>,
    exports: &[(String, keel::ExternType)],
) {
    for (name, ty) in exports {
        match ty {
            keel::ExternType::Global(_) => {
                let k = ki
                    .get_global(&mut *ks, name)
                    .expect("keel global")
                    .get(&mut *ks);
                let w = wi.get_global(ws, name).expect("wasmi global").get(ws);
                assert_eq!(keel_key(&k), wasmi_key(&w), "global `{name}`");
            }
            keel::ExternType::Memory(_) => {
                let k = ki.get_memory(&mut *ks, name).expect("keel memory");
                let w = wi.get_memory(ws, name).expect("wasmi memory");
                let (kd, wd) = (k.data(&*ks), w.data(ws));
                assert_eq!(kd.len(), wd.len(), "memory `{name}` size");
                // `==` is one memcmp; the byte search (slow under the
                // fuzzer's coverage instrumentation) only runs on a mismatch.
                if kd != wd
                    && let Some(i) = kd.iter().zip(wd).position(|(a, b)| a != b)
                {
                    panic!(
                        "memory `{name}` differs at byte {i}: keel {} wasmi {}",
                        kd[i], wd[i]
                    );
                }
            }
            _ => {}
        }
    }
}

/// A keel engine with fuel metering, in either memory mode, compiling
/// each function at its first call when `lazy`.
pub fn keel_fuel_engine(signals_based_traps: bool, lazy: bool) -> keel::Engine {
    let mut config = keel::Config::new();
    config
        .parallel_compilation(false)
        .lazy_compilation(lazy)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true)
        .consume_fuel(true)
        .signals_based_traps(signals_based_traps)
        .max_gc_heap_size(MAX_MEMORY_BYTES);
    keel::Engine::new(&config).expect("keel engine")
}

/// The fuel given to each call of [`fuel_consistency`].
pub const FUEL_PER_CALL: u64 = 1_000_000;

/// Run `wasm` (no imports) in two keel engines with fuel, one with
/// guard pages and one with explicit bounds checks: every export called
/// with the same arbitrary arguments must give the same outcome and leave
/// the same fuel. Panics on a difference.
pub fn fuel_consistency(engines: [&keel::Engine; 2], wasm: &[u8], u: &mut Unstructured<'_>) {
    let modules = engines.map(|e| {
        keel::Module::from_binary(e, wasm)
            .unwrap_or_else(|err| panic!("keel rejected a valid module: {err:#}"))
    });
    let mut stores = engines.map(keel_store);
    let mut instances = Vec::new();
    let mut outcomes = Vec::new();
    for (store, module) in stores.iter_mut().zip(&modules) {
        store.set_fuel(FUEL_PER_CALL).expect("fuel is on");
        let result = keel::Linker::new(store.engine()).instantiate(&mut *store, module);
        let fuel = store.get_fuel().expect("fuel is on");
        let (outcome, instance) = match result {
            Ok(i) => (keel_outcome(&Ok(vec![])), Some(i)),
            Err(e) => (keel_outcome(&Err(e)), None),
        };
        outcomes.push((outcome, fuel));
        instances.push(instance);
    }
    if outcomes.iter().any(|(o, _)| *o == Outcome::Exhausted) {
        return;
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "instantiation (outcome, fuel left)"
    );
    let (Some(i0), Some(i1)) = (instances[0], instances[1]) else {
        return;
    };
    let instances = [i0, i1];
    let exports = exports(&modules[0]);
    for (name, ty) in &exports {
        let keel::ExternType::Func(fty) = ty else {
            continue;
        };
        let args: Vec<keel::Val> = fty.params().map(|t| arg(u, t).0).collect();
        let mut outcomes = Vec::new();
        for (store, instance) in stores.iter_mut().zip(instances) {
            let f = instance.get_func(&mut *store, name).expect("export");
            let mut results: Vec<keel::Val> = fty.results().map(keel::Val::default_for).collect();
            store.set_fuel(FUEL_PER_CALL).expect("fuel is on");
            let result = f.call(&mut *store, &args, &mut results).map(|()| results);
            let fuel = store.get_fuel().expect("fuel is on");
            outcomes.push((keel_outcome(&result), fuel));
        }
        if outcomes.iter().any(|(o, _)| *o == Outcome::Exhausted) {
            // Stack frames differ between the modes, so the depth of a
            // stack overflow (and the fuel burnt until then) may too.
            return;
        }
        assert_eq!(
            outcomes[0], outcomes[1],
            "calling `{name}`: (outcome, fuel left)"
        );
    }
}
