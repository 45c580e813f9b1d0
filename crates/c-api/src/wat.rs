//! `keel_wat2wasm`: the WebAssembly text format to its binary encoding
//! (as Wasmtime's `wasmtime_wat2wasm`), through the `wat` crate.

use crate::error::keel_error_t;
use crate::wasm_byte_vec_t;

/// Make `*out` the binary encoding of the WebAssembly text `wat`
/// (`wat_len` bytes of UTF-8, a module in the
/// [text format](https://webassembly.github.io/spec/core/text/index.html)),
/// owned by the caller. Returns null on success, else the parse error
/// (with its line and column) and leaves `*out` untouched.
///
/// # Safety
///
/// `wat` points at `wat_len` readable bytes (or `wat_len` is 0); `out`
/// points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_wat2wasm(
    wat: *const core::ffi::c_char,
    wat_len: usize,
    out: *mut wasm_byte_vec_t,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let bytes = unsafe { crate::vec::raw_slice(wat.cast::<u8>().cast_mut(), wat_len) };
    let Ok(text) = core::str::from_utf8(bytes) else {
        return keel_error_t::boxed("keel_wat2wasm: the text is not UTF-8");
    };
    match crate::guard(|| wat::parse_str(text)) {
        Some(Ok(wasm)) => {
            // SAFETY: per the contract.
            unsafe { out.write(wasm_byte_vec_t::from_vec(wasm)) };
            core::ptr::null_mut()
        }
        Some(Err(e)) => keel_error_t::boxed(format_args!("keel_wat2wasm: {e}")),
        None => keel_error_t::boxed("keel_wat2wasm: internal error"),
    }
}
