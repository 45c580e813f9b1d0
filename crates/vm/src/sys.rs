//! Hosted Linux memory mapping (mmap/mprotect/munmap).

use std::io;

/// Page size the runtime assumes for protections, in bytes.
pub(crate) const PAGE_SIZE: usize = 4096;

/// Reserve `len` bytes of address space with no access.
pub(crate) fn reserve(len: usize) -> io::Result<*mut u8> {
    // SAFETY: anonymous mapping at a kernel-chosen address; no existing
    // memory is affected. Failure is checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(p.cast())
    }
}

/// Change the protection of `len` bytes at `addr`.
///
/// # Safety
///
/// `addr..addr + len` must lie inside a mapping this process owns, with
/// no live Rust references into any part whose access is removed.
pub(crate) unsafe fn protect(
    addr: *mut u8,
    len: usize,
    read: bool,
    write: bool,
    exec: bool,
) -> io::Result<()> {
    let mut prot = libc::PROT_NONE;
    if read {
        prot |= libc::PROT_READ;
    }
    if write {
        prot |= libc::PROT_WRITE;
    }
    if exec {
        prot |= libc::PROT_EXEC;
    }
    // SAFETY: per the caller's contract.
    if unsafe { libc::mprotect(addr.cast(), len, prot) } != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Release a mapping made by [`reserve`].
///
/// # Safety
///
/// `addr` and `len` must be exactly a mapping returned by [`reserve`] that
/// nothing uses any more.
pub(crate) unsafe fn release(addr: *mut u8, len: usize) {
    // SAFETY: per the caller's contract.
    unsafe { libc::munmap(addr.cast(), len) };
}
