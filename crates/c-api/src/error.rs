//! `keel_error_t`: the errors of `keel.h`'s functions (as Wasmtime's
//! `wasmtime_error_t`): an owned message, with the error's whole chain of
//! causes.

use crate::prelude::*;

use crate::wasm_byte_vec_t;

/// An error a `keel.h` function returns: null means success, anything
/// else is owned by the caller, who reads it with
/// [`keel_error_message`] and frees it with [`keel_error_delete`].
pub struct keel_error_t {
    /// The error and its causes, "outer: inner".
    message: String,
}

impl keel_error_t {
    /// `error` as an owned C error.
    pub(crate) fn boxed(error: impl core::fmt::Display) -> *mut keel_error_t {
        Box::into_raw(Box::new(keel_error_t {
            message: error.to_string(),
        }))
    }
}

/// Delete `error` (null is ignored).
///
/// # Safety
///
/// `error` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_error_delete(error: *mut keel_error_t) {
    if !error.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(error) });
    }
}

/// Make `*message` the error's message, NUL-terminated (a
/// `wasm_message_t`: its `size` counts the NUL), owned by the caller.
///
/// # Safety
///
/// `error` is valid; `message` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_error_message(
    error: *const keel_error_t,
    message: *mut wasm_byte_vec_t,
) {
    // SAFETY: per the contract.
    let mut bytes = unsafe { &*error }.message.clone().into_bytes();
    bytes.push(0);
    // SAFETY: per the contract.
    unsafe { message.write(wasm_byte_vec_t::from_vec(bytes)) };
}
