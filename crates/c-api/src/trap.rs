//! Traps (`wasm_trap_t`): spec "Traps" in wasm.h; the core spec's
//! [traps](https://webassembly.github.io/spec/core/intro/overview.html#trap).

use crate::engine::wasm_store_t;
use crate::externs::HostTrap;
use crate::wasm_byte_vec_t;

/// A trap: its message, owned by the C side once returned.
#[derive(Clone, Debug)]
pub struct wasm_trap_t {
    /// The message, without a terminating NUL.
    message: String,
}

impl wasm_trap_t {
    /// A trap saying `message`.
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }

    /// The trap a failed call or instantiation returns for `error`: the
    /// host function's own trap if one unwound, else keel's message (a
    /// wasm trap's is its kind, e.g. "unreachable").
    pub(crate) fn from_error(error: anyhow::Error) -> Self {
        if let Some(HostTrap(trap)) = error.downcast_ref::<HostTrap>() {
            return (**trap).clone();
        }
        if let Some(trap) = error.downcast_ref::<keel_rt::Trap>() {
            return Self::new(trap.to_string());
        }
        Self::new(format!("{error:#}"))
    }

    /// The message.
    pub(crate) fn message(&self) -> String {
        self.message.clone()
    }
}

/// Delete `t` (null is ignored).
///
/// # Safety
///
/// `t` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_delete(t: *mut wasm_trap_t) {
    if !t.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(t) });
    }
}

/// A copy of `t`, owned by the caller.
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_copy(t: *const wasm_trap_t) -> *mut wasm_trap_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*t).clone() }))
}

/// A new trap with `message` (a NUL-terminated `wasm_message_t`: bytes
/// up to the first NUL are the text), for a host function to return.
///
/// # Safety
///
/// `message` is null or a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_new(
    _store: *mut wasm_store_t,
    message: *const wasm_byte_vec_t,
) -> *mut wasm_trap_t {
    // SAFETY: per the contract.
    let bytes = match unsafe { message.as_ref() } {
        // SAFETY: per the contract, a valid vector.
        Some(m) => unsafe { m.as_slice() },
        None => &[],
    };
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    Box::into_raw(Box::new(wasm_trap_t::new(
        String::from_utf8_lossy(text).into_owned(),
    )))
}

/// Make `*out` the message of `t`, NUL-terminated (as
/// `wasm_message_t`), owned by the caller.
///
/// # Safety
///
/// `t` is valid; `out` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_message(t: *const wasm_trap_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: per the contract.
    let mut bytes = unsafe { &*t }.message.clone().into_bytes();
    bytes.push(0);
    // SAFETY: per the contract.
    unsafe { out.write(wasm_byte_vec_t::from_vec(bytes)) };
}
