//! Memory mapping through the registered [`Platform`](keel_trap::Platform).

use alloc::format;
use alloc::string::String;
use core::ptr::NonNull;
use keel_trap::{Access, Platform};

/// The registered platform.
///
/// # Errors
///
/// When no platform is registered (only possible without `std`).
pub(crate) fn platform() -> Result<&'static dyn Platform, String> {
    keel_trap::platform().ok_or_else(|| {
        String::from("no keel platform is registered: pass one with `Config::platform`")
    })
}

/// The platform's page size in bytes.
pub(crate) fn page_size() -> usize {
    keel_trap::platform().map_or(4096, |p| p.page_size())
}

/// Reserve `len` bytes of inaccessible address space.
pub(crate) fn reserve(len: usize) -> Result<*mut u8, String> {
    let p = platform()?;
    p.reserve(len)
        .map(NonNull::as_ptr)
        .map_err(|e| format!("cannot reserve {len} bytes: {e}"))
}

/// Change the access of `len` bytes at `addr`.
///
/// # Safety
///
/// As [`Platform::protect`]: the range lies in a live reservation, with no
/// live references into any part whose access is removed.
pub(crate) unsafe fn protect(addr: *mut u8, len: usize, access: Access) -> Result<(), String> {
    let p = platform()?;
    let addr = NonNull::new(addr).ok_or_else(|| String::from("protect of a null address"))?;
    // SAFETY: per the caller's contract.
    unsafe { p.protect(addr, len, access) }.map_err(|e| format!("cannot change memory access: {e}"))
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
