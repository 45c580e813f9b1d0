//! Errors from validating and translating a module.

use crate::prelude::*;

use core::fmt;

/// Result of translation.
pub type TranslateResult<T> = Result<T, WasmError>;

/// Why a module could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WasmError {
    /// The bytes are not a valid (or well-formed) WebAssembly module.
    InvalidWasm {
        /// What the validator reported.
        message: String,
        /// Byte offset in the module where the problem was found.
        offset: u64,
    },
    /// The module uses a feature keel does not implement yet.
    Unsupported(String),
    /// The module exceeds one of keel's implementation limits.
    ImplLimit(String),
}

/// Return `Err(WasmError::Unsupported)` with a formatted message.
#[macro_export]
macro_rules! unsupported {
    ($($arg:tt)*) => {
        return Err($crate::WasmError::Unsupported(format!($($arg)*)).into())
    };
}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        WasmError::InvalidWasm {
            message: e.message().into(),
            offset: e.offset(),
        }
    }
}

impl fmt::Display for WasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmError::InvalidWasm { message, offset } => {
                write!(
                    f,
                    "invalid WebAssembly at byte offset {offset:#x}: {message}"
                )
            }
            WasmError::Unsupported(m) => write!(f, "unsupported WebAssembly feature: {m}"),
            WasmError::ImplLimit(m) => write!(f, "implementation limit exceeded: {m}"),
        }
    }
}

impl core::error::Error for WasmError {}
