//! `keel.h`'s module functions: compilation and validation with errors
//! (`wasm_module_new` can only print them), artifacts
//! (`keel_module_serialize`, the unsafe `keel_module_deserialize`) and
//! precompilation for another target; as Wasmtime's `wasmtime_module_*`.

use crate::prelude::*;

use crate::engine::wasm_engine_t;
use crate::error::keel_error_t;
use crate::module::wasm_module_t;
use crate::wasm_byte_vec_t;
use keel_rt::Module;

/// `len` bytes at `data` (none if `len` is 0).
///
/// # Safety
///
/// `data` points at `len` readable bytes, or `len` is 0.
unsafe fn slice<'a>(data: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: per the contract.
    unsafe { crate::vec::raw_slice(data.cast_mut(), len) }
}

/// The artifact of `module`; an error in a build without the compiler
/// (which writes no artifacts).
pub(crate) fn serialize(module: &Module) -> anyhow::Result<Vec<u8>> {
    #[cfg(feature = "compiler")]
    return module.serialize();
    #[cfg(not(feature = "compiler"))]
    {
        let _ = module;
        anyhow::bail!("this build of keel has no compiler: it loads artifacts but writes none")
    }
}

/// `engine.precompile_module(wasm)`; an error in a build without the
/// compiler.
fn precompile(engine: &keel_rt::Engine, wasm: &[u8]) -> anyhow::Result<Vec<u8>> {
    #[cfg(feature = "compiler")]
    return engine.precompile_module(wasm);
    #[cfg(not(feature = "compiler"))]
    {
        let _ = (engine, wasm);
        anyhow::bail!("this build of keel has no compiler: it loads artifacts but compiles none")
    }
}

/// Make `*out` the module of `result` (a new module object, owned by the
/// caller) and return null, or return the error.
///
/// # Safety
///
/// `out` points at writable memory for a pointer.
unsafe fn write_module(
    result: Result<Module, *mut keel_error_t>,
    out: *mut *mut wasm_module_t,
) -> *mut keel_error_t {
    match result {
        Ok(module) => {
            let module = wasm_module_t::new(core::ptr::null_mut(), module);
            // SAFETY: per the contract.
            unsafe { out.write(Box::into_raw(Box::new(module))) };
            core::ptr::null_mut()
        }
        Err(e) => e,
    }
}

/// Run `f`, turning its error or panic into an owned `keel_error_t`
/// prefixed with `what`.
fn attempt<R>(what: &str, f: impl FnOnce() -> anyhow::Result<R>) -> Result<R, *mut keel_error_t> {
    match crate::guard(f) {
        Some(Ok(r)) => Ok(r),
        Some(Err(e)) => Err(keel_error_t::boxed(format_args!("{what}: {e:#}"))),
        None => Err(keel_error_t::boxed(format_args!("{what}: internal error"))),
    }
}

/// Compile the module in `wasm` (`len` bytes of the binary format, or of
/// the text format) for `engine` and make `*out` it, owned by the
/// caller. Returns null on success, else why the module is malformed,
/// invalid or cannot be compiled (with the byte offset where the binary
/// is wrong).
///
/// # Safety
///
/// `engine` is valid; `wasm` points at `len` readable bytes; `out` points
/// at writable memory for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_module_new(
    engine: *const wasm_engine_t,
    wasm: *const u8,
    len: usize,
    out: *mut *mut wasm_module_t,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let (engine, bytes) = (unsafe { &(*engine).engine }, unsafe { slice(wasm, len) });
    // SAFETY: per the contract.
    unsafe {
        write_module(
            attempt("keel_module_new", || Module::new(engine, bytes)),
            out,
        )
    }
}

/// Check that `wasm` (`len` bytes, binary format) is a valid module for
/// `engine`'s features, without compiling it. Returns null if it is,
/// else why not.
///
/// # Safety
///
/// `engine` is valid; `wasm` points at `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_module_validate(
    engine: *const wasm_engine_t,
    wasm: *const u8,
    len: usize,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let (engine, bytes) = (unsafe { &(*engine).engine }, unsafe { slice(wasm, len) });
    match attempt("keel_module_validate", || Module::validate(engine, bytes)) {
        Ok(()) => core::ptr::null_mut(),
        Err(e) => e,
    }
}

/// Make `*out` the artifact of `module`: its compiled code and metadata
/// in keel's format (an ELF file), owned by the caller, for
/// `keel_module_deserialize` by an engine with the same settings and
/// keel build. Returns null on success, else why it cannot be written.
///
/// # Safety
///
/// `module` is valid; `out` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_module_serialize(
    module: *const wasm_module_t,
    out: *mut wasm_byte_vec_t,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let module = unsafe { (*module).module() };
    match attempt("keel_module_serialize", || serialize(module)) {
        Ok(bytes) => {
            // SAFETY: per the contract.
            unsafe { out.write(wasm_byte_vec_t::from_vec(bytes)) };
            core::ptr::null_mut()
        }
        Err(e) => e,
    }
}

/// Make `*out` the module of the artifact `bytes` (`len` bytes, from
/// `keel_module_serialize` or `keel_engine_precompile_module`), owned by
/// the caller, without compiling. Returns null on success, else why the
/// bytes are not an artifact this engine can load (another format
/// version, keel build, target or settings; a truncated or corrupted
/// file: every table is checked).
///
/// # Safety
///
/// `engine` is valid; `bytes` points at `len` readable bytes; `out`
/// points at writable memory for a pointer. The artifact's machine code
/// runs as it is: it must come from a trusted source (one you wrote),
/// as it would be for a shared library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_module_deserialize(
    engine: *const wasm_engine_t,
    bytes: *const u8,
    len: usize,
    out: *mut *mut wasm_module_t,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let (engine, bytes) = (unsafe { &(*engine).engine }, unsafe { slice(bytes, len) });
    // SAFETY: per the contract, the artifact is trusted.
    let module = attempt("keel_module_deserialize", || unsafe {
        Module::deserialize(engine, bytes)
    });
    // SAFETY: per the contract.
    unsafe { write_module(module, out) }
}

/// Compile `wasm` (`len` bytes) for `engine`'s target, which may be
/// another machine's (`keel_config_target_set`), and make `*out` its
/// artifact, owned by the caller. Returns null on success, else why it
/// cannot be compiled.
///
/// # Safety
///
/// `engine` is valid; `wasm` points at `len` readable bytes; `out` points
/// at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_engine_precompile_module(
    engine: *const wasm_engine_t,
    wasm: *const u8,
    len: usize,
    out: *mut wasm_byte_vec_t,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let (engine, bytes) = (unsafe { &(*engine).engine }, unsafe { slice(wasm, len) });
    match attempt("keel_engine_precompile_module", || {
        precompile(engine, bytes)
    }) {
        Ok(artifact) => {
            // SAFETY: per the contract.
            unsafe { out.write(wasm_byte_vec_t::from_vec(artifact)) };
            core::ptr::null_mut()
        }
        Err(e) => e,
    }
}
