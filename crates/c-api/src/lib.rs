//! keel's C API: the standard WebAssembly C API of the
//! [wasm-c-api](https://github.com/WebAssembly/wasm-c-api) project
//! (`include/wasm.h`, vendored unchanged) over keel, built as
//! `libkeel.a` and `libkeel.so`.
//!
//! Every function here is an `extern "C"` symbol declared in `wasm.h`;
//! their Rust docs say what each does, and the ownership rules are the
//! standard's (see `crates/c-api/README.md`): `own` results belong to
//! the caller, who releases them with the matching `_delete`; objects of
//! a store (functions, globals, tables, memories, instances, externs,
//! references) must be deleted before the store.
//!
//! No function unwinds into C: a panic inside keel is caught at the
//! boundary and becomes a null result or a trap, as the function's
//! errors do.

#![cfg_attr(not(feature = "std"), no_std)]
#![allow(
    non_camel_case_types,
    reason = "the C API's type names are wasm.h's (`wasm_store_t`)"
)]

extern crate alloc;

/// What every module uses from `alloc` (the std prelude's items, also
/// without std).
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

mod config;
mod engine;
mod error;
mod externs;
#[cfg(not(feature = "std"))]
mod freestanding;
mod host_info;
mod linker;
mod module;
mod module_ext;
mod objects;
mod platform;
mod store_ext;
mod trap;
mod types;
mod val;
mod vec;
#[cfg(feature = "std")]
mod wasi;
#[cfg(feature = "std")]
mod wat;

pub use config::*;
pub use engine::*;
pub use error::*;
pub use externs::*;
pub use host_info::*;
pub use linker::*;
pub use module::*;
pub use module_ext::*;
pub use objects::*;
pub use platform::*;
pub use store_ext::*;
pub use trap::*;
pub use types::*;
pub use val::*;
pub use vec::*;
#[cfg(feature = "std")]
pub use wasi::*;
#[cfg(feature = "std")]
pub use wat::*;

/// Run `f`, catching a panic (a keel bug, or an allocation failure keel
/// reports by panicking) so that it does not unwind into C: `None` then,
/// after reporting it. Without `std` a panic aborts through the program's
/// panic hook instead, and `f` always returns.
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> Option<R> {
    #[cfg(feature = "std")]
    {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => Some(r),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                report(&format!("keel: internal error: {message}"));
                None
            }
        }
    }
    #[cfg(not(feature = "std"))]
    {
        Some(f())
    }
}

/// Tell the C program's user why a call returned null: wasm.h has no
/// error values, so the reason goes to standard error (as the reference
/// implementation and Wasmtime's C API print them), or without `std` to
/// the registered platform's `log` callback, if any.
pub(crate) fn report(message: &str) {
    #[cfg(feature = "std")]
    eprintln!("{message}");
    #[cfg(not(feature = "std"))]
    platform::log(message);
}
