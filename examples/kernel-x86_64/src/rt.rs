//! The symbols a freestanding Rust binary needs from its surroundings.
//!
//! Built for `x86_64-unknown-linux-gnu`, `core` and `compiler_builtins`
//! expect libc's `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp`; the
//! kernel links no libc (`-nostdlib`), so they are defined here with
//! string instructions (`rep movsb`/`rep stosb` are fast on every CPU with
//! ERMSB, and QEMU executes them as one operation). They are written so
//! that the compiler cannot turn them back into calls to themselves: the
//! copies are inline assembly, and the comparison loop is not an idiom
//! LLVM replaces by a library call.

use core::arch::asm;

/// Copies `n` bytes from `src` to `dest`; the ranges must not overlap.
///
/// # Safety
///
/// `src` is readable and `dest` writable for `n` bytes; no overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges; the direction flag is
    // clear (the ABI requires it at every call), so `rep movsb` copies
    // forward.
    unsafe {
        asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
    dest
}

/// Copies `n` bytes from `src` to `dest`; the ranges may overlap.
///
/// # Safety
///
/// `src` is readable and `dest` writable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // `dest` is below `src` or past its end: a forward copy never
        // overwrites bytes it has yet to read.
        // SAFETY: as for `memcpy`; forward copying is correct here.
        unsafe {
            asm!(
                "rep movsb",
                inout("rcx") n => _,
                inout("rdi") dest => _,
                inout("rsi") src => _,
                options(nostack, preserves_flags)
            );
        }
    } else {
        // `dest` overlaps the end of `src`: copy backward, from the last
        // byte, with the direction flag set for the copy only.
        // SAFETY: the caller guarantees both ranges; `n > 0` here (the
        // test above is true for `n == 0`), so `n - 1` is in bounds; DF is
        // cleared again before the block ends, as the ABI requires.
        unsafe {
            asm!(
                "std",
                "rep movsb",
                "cld",
                inout("rcx") n => _,
                inout("rdi") dest.add(n - 1) => _,
                inout("rsi") src.add(n - 1) => _,
                options(nostack)
            );
        }
    }
    dest
}

/// Fills `n` bytes at `dest` with the low byte of `c`.
///
/// # Safety
///
/// `dest` is writable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees the range; DF is clear (ABI).
    unsafe {
        asm!(
            "rep stosb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            in("al") c as u8,
            options(nostack, preserves_flags)
        );
    }
    dest
}

/// Compares `n` bytes: negative, zero or positive as the first differing
/// byte of `a` is below, equal to or above that of `b`.
///
/// # Safety
///
/// Both ranges are readable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n`, within both ranges by the caller's guarantee.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// Like [`memcmp`], but only zero versus non-zero is meaningful.
///
/// # Safety
///
/// Both ranges are readable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as `memcmp`.
    unsafe { memcmp(a, b, n) }
}

/// The length of the NUL-terminated string at `s` (used by
/// `core::ffi::CStr::from_ptr`).
///
/// # Safety
///
/// `s` points to a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let remaining: usize;
    // SAFETY: `repne scasb` reads bytes from `s` up to and including the
    // NUL, which the caller guarantees exists; DF is clear (ABI).
    unsafe {
        asm!(
            "repne scasb",
            inout("rcx") usize::MAX => remaining,
            inout("rdi") s => _,
            in("al") 0u8,
            options(nostack, readonly)
        );
    }
    // rcx counted down once per byte scanned, the NUL included.
    !remaining - 1
}

/// The personality routine that `liballoc` (built with unwinding for the
/// host target) refers to from its unwind tables. The kernel never
/// unwinds (`panic = "abort"`, and no unwinder is linked), so nothing can
/// call it; if something did, the kernel stops.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() -> ! {
    kprintln!("kernel: rust_eh_personality called, but the kernel never unwinds");
    crate::qemu::exit(crate::qemu::ExitCode::Failure)
}

/// Resumes unwinding after a landing pad: referenced by landing pads in
/// the prebuilt `liballoc` (built with `panic = "unwind"` for the host
/// target). Landing pads only run while unwinding, which never starts in
/// this kernel (`panic = "abort"`, no unwinder), so this is unreachable;
/// if it were reached, the kernel stops.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    kprintln!("kernel: _Unwind_Resume called, but the kernel never unwinds");
    crate::qemu::exit(crate::qemu::ExitCode::Failure)
}
