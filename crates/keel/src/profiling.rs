//! Naming JIT code for profilers ([`ProfilingStrategy`]): `perf` finds
//! the names of code it cannot symbolize in `/tmp/perf-PID.map`, one
//! `START SIZE NAME` line (hexadecimal, no `0x`) per function, as
//! Wasmtime's `--profile=perfmap` writes it.

#[cfg(feature = "std")]
use crate::prelude::*;

/// Which profiler keel describes its compiled code to
/// ([`Config::profiler`](crate::Config::profiler)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfilingStrategy {
    /// None (the default).
    #[default]
    None,
    /// Append each module's functions and trampolines, and the engine's
    /// trampolines into host functions
    /// (`host::wasm_to_array_trampoline[TYPE]`), to
    /// `/tmp/perf-PID.map` when that code is loaded (feature
    /// `std`; Linux `perf`'s map format). Wasm functions are named
    /// `MODULE::NAME` from the module's name section (`wasm` and
    /// `function[INDEX]` where it has none).
    PerfMap,
}

/// The perf map lines of `module`'s code loaded at `code`.
#[cfg(feature = "std")]
pub(crate) fn perf_map_lines(
    module: &keel_translate::Module,
    code: &keel_vm::CodeMemory,
) -> String {
    use core::fmt::Write as _;
    let module_name = module.name.as_deref().unwrap_or("wasm");
    let module_name = keel_translate::DisplayName(module_name);
    let text = code.text();
    let base = code.base();
    let mut out = String::new();
    for (def, loc) in text.functions.iter() {
        let index = module.func_index(def);
        let _ = match module.func_names.get(&index) {
            Some(name) => writeln!(
                out,
                "{:x} {:x} {module_name}::{}",
                base + loc.start as usize,
                loc.length,
                keel_translate::DisplayName(name)
            ),
            None => writeln!(
                out,
                "{:x} {:x} {module_name}::function[{}]",
                base + loc.start as usize,
                loc.length,
                index.as_u32()
            ),
        };
    }
    for (ty, loc) in &text.array_to_wasm_trampolines {
        let _ = writeln!(
            out,
            "{:x} {:x} {module_name}::array_to_wasm_trampoline[type {}]",
            base + loc.start as usize,
            loc.length,
            ty.as_u32()
        );
    }
    for (i, (_, loc)) in text.wasm_to_array_trampolines.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:x} {:x} {module_name}::wasm_to_array_trampoline[{i}]",
            base + loc.start as usize,
            loc.length
        );
    }
    out
}

/// Append `module`'s code to this process's perf map.
///
/// # Errors
///
/// When the map cannot be opened or written.
#[cfg(feature = "std")]
pub(crate) fn write_perf_map(
    module: &keel_translate::Module,
    code: &keel_vm::CodeMemory,
) -> crate::Result<()> {
    append_perf_map(&perf_map_lines(module, code))
}

/// Append the engine's wasm-to-array trampoline for host functions of
/// type `ty`, `len` bytes at `addr`, to this process's perf map, named
/// `host::wasm_to_array_trampoline[TYPE]`.
///
/// # Errors
///
/// When the map cannot be opened or written.
#[cfg(feature = "std")]
pub(crate) fn write_perf_map_host_trampoline(
    ty: &keel_translate::WasmFuncType,
    addr: usize,
    len: u32,
) -> crate::Result<()> {
    append_perf_map(&format!(
        "{addr:x} {len:x} host::wasm_to_array_trampoline[{ty}]\n"
    ))
}

/// Append a lazily compiled function of `module`, defined function
/// `def`, `len` bytes at `address`, to this process's perf map, named as
/// [`write_perf_map`] names functions. Errors are reported at debug
/// level: the function is already running.
#[cfg(all(feature = "std", feature = "compiler"))]
pub(crate) fn append_perf_map_line(
    module: &keel_translate::Module,
    def: keel_translate::DefinedFuncIndex,
    address: usize,
    len: usize,
) {
    let module_name = keel_translate::DisplayName(module.name.as_deref().unwrap_or("wasm"));
    let index = module.func_index(def);
    let line = match module.func_names.get(&index) {
        Some(name) => format!(
            "{address:x} {len:x} {module_name}::{}\n",
            keel_translate::DisplayName(name)
        ),
        None => format!(
            "{address:x} {len:x} {module_name}::function[{}]\n",
            index.as_u32()
        ),
    };
    if let Err(e) = append_perf_map(&line) {
        tracing::debug!("{e:#}");
    }
}

/// Append `lines` (whole lines) to this process's perf map.
#[cfg(feature = "std")]
fn append_perf_map(lines: &str) -> crate::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let path = perf_map_path();
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .with_context(|| format!("writing the perf map {}", path.display()))
}

/// `/tmp/perf-PID.map`, where `perf` looks for this process's JIT names.
#[cfg(feature = "std")]
pub fn perf_map_path() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}
