//! Memory mapping through the registered [`Platform`](keel_trap::Platform).

use crate::VmError;
use core::ptr::NonNull;
use keel_trap::{Access, Platform, PlatformError};

/// The registered platform.
///
/// # Errors
///
/// [`VmError::NoPlatform`] when no platform is registered (only possible
/// without `std`).
pub(crate) fn platform() -> Result<&'static dyn Platform, VmError> {
    keel_trap::platform().ok_or(VmError::NoPlatform)
}

/// The platform's page size in bytes.
pub(crate) fn page_size() -> usize {
    keel_trap::platform().map_or(4096, |p| p.page_size())
}

/// The registered platform, or a [`PlatformError`] saying there is none.
fn platform_or_error() -> Result<&'static dyn Platform, PlatformError> {
    platform().map_err(|e| PlatformError::new(alloc::format!("{e}")))
}

/// Reserve `len` bytes of inaccessible address space.
pub(crate) fn reserve(len: usize) -> Result<*mut u8, PlatformError> {
    let p = platform_or_error()?;
    p.reserve(len).map(NonNull::as_ptr)
}

/// Change the access of `len` bytes at `addr`.
///
/// # Safety
///
/// As [`Platform::protect`]: the range lies in a live reservation, with no
/// live references into any part whose access is removed.
pub(crate) unsafe fn protect(
    addr: *mut u8,
    len: usize,
    access: Access,
) -> Result<(), PlatformError> {
    let p = platform_or_error()?;
    let addr = NonNull::new(addr).ok_or_else(|| PlatformError::new("protect of a null address"))?;
    // SAFETY: per the caller's contract.
    unsafe { p.protect(addr, len, access) }
}

/// Release a reservation made by [`reserve`].
///
/// # Safety
///
/// As [`Platform::release`]: exactly one reservation nothing uses.
pub(crate) unsafe fn release(addr: *mut u8, len: usize) {
    if let (Ok(p), Some(addr)) = (platform(), NonNull::new(addr)) {
        // SAFETY: per the caller's contract.
        unsafe { p.release(addr, len) };
    }
}
