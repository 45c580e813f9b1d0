//! Errors of the runtime's resource management: typed, so that callers can
//! match on them, with the platform's (operating system's) error kept as
//! their [`source`](core::error::Error::source).

use alloc::string::String;
use core::fmt;
use keel_trap::PlatformError;

/// Why a runtime resource (linear memory, table, code memory, VMContext)
/// could not be created or grown.
#[derive(Debug)]
#[non_exhaustive]
pub enum VmError {
    /// The platform refused address space or memory; `what` says which
    /// operation, the source is the platform's error.
    Platform {
        /// What keel was doing, e.g. "cannot commit the initial pages of a
        /// linear memory".
        what: String,
        /// The platform's error (hosted: holds the `std::io::Error`).
        source: PlatformError,
    },
    /// No platform is registered (only possible without `std`).
    NoPlatform,
    /// A keel implementation limit was exceeded (see ARCHITECTURE.md's
    /// limits section).
    ImplLimit(String),
    /// A type's limits are inconsistent, e.g. a minimum above the maximum.
    InvalidLimits(String),
    /// Growth past a memory's or table's declared maximum (or keel's
    /// limit for it); says which.
    ExceedsMaximum(String),
    /// The Rust allocator could not provide `bytes` bytes for `what`.
    OutOfMemory {
        /// What was being allocated.
        what: &'static str,
        /// How many bytes.
        bytes: usize,
    },
}

impl VmError {
    pub(crate) fn platform(what: impl Into<String>, source: PlatformError) -> Self {
        VmError::Platform {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The source is shown by error reporters that walk the chain
            // (`{:#}` with anyhow), not repeated here.
            VmError::Platform { what, .. } => f.write_str(what),
            VmError::NoPlatform => {
                f.write_str("no keel platform is registered: pass one with `Config::platform`")
            }
            VmError::ImplLimit(m) => write!(f, "implementation limit exceeded: {m}"),
            VmError::InvalidLimits(m) | VmError::ExceedsMaximum(m) => f.write_str(m),
            VmError::OutOfMemory { what, bytes } => {
                write!(f, "out of memory allocating {bytes} bytes for {what}")
            }
        }
    }
}

impl core::error::Error for VmError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            VmError::Platform { source, .. } => Some(source),
            _ => None,
        }
    }
}
