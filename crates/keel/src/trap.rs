//! The [`Trap`] error value.

use keel_translate::TrapCode;
use std::fmt;

/// A WebAssembly trap (spec §4.4.1): execution stopped and the store's
/// state is as the trapping instruction left it.
///
/// Found inside a keel [`Error`](crate::Error) with
/// `err.downcast_ref::<Trap>()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    code: TrapCode,
}

impl Trap {
    pub(crate) fn new(code: TrapCode) -> Self {
        Self { code }
    }

    /// Why execution trapped.
    pub fn code(&self) -> TrapCode {
        self.code
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.code)
    }
}

impl std::error::Error for Trap {}
