//! What the freestanding (`no_std`) library needs from its C program:
//! an allocator and a panic hook, as link-time symbols (see
//! `keel/platform.h`). The hosted library uses the C library's instead.

use core::alloc::{GlobalAlloc, Layout};

unsafe extern "C" {
    /// `size` bytes aligned to `align` (a power of two), or null.
    fn keel_host_alloc(size: usize, align: usize) -> *mut u8;
    /// Free a block `keel_host_alloc` returned, with its size and
    /// alignment.
    fn keel_host_free(ptr: *mut u8, size: usize, align: usize);
    /// Stop: keel hit a bug or ran out of memory. `len` bytes of UTF-8 at
    /// `message` say why. Must not return.
    fn keel_host_panic(message: *const u8, len: usize) -> !;
}

/// The C program's allocator.
struct HostAllocator;

// SAFETY: forwards to the program's allocator, whose contract
// (`keel/platform.h`) is `GlobalAlloc`'s.
unsafe impl GlobalAlloc for HostAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the hook's contract.
        unsafe { keel_host_alloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { keel_host_free(ptr, layout.size(), layout.align()) }
    }
}

#[global_allocator]
static ALLOCATOR: HostAllocator = HostAllocator;

/// A panic (a keel bug, or memory exhausted) ends in the program's hook,
/// with the panic's message and place.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    /// The message, cut at 256 bytes (no allocation: the allocator may
    /// be what failed).
    struct Buffer {
        bytes: [u8; 256],
        len: usize,
    }
    impl Write for Buffer {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let room = self.bytes.len() - self.len;
            let n = s.len().min(room);
            self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }
    let mut buffer = Buffer {
        bytes: [0; 256],
        len: 0,
    };
    let _ = write!(buffer, "keel: {info}");
    // SAFETY: the hook's contract: it does not return.
    unsafe { keel_host_panic(buffer.bytes.as_ptr(), buffer.len) }
}

/// Unwinding's entry points, which `core` and `alloc` (built for
/// unwinding) refer to: the freestanding library aborts on panic and
/// never unwinds, so they are never called; if they were, they would stop
/// through the panic hook.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() -> ! {
    const MESSAGE: &str =
        "keel: rust_eh_personality called, but the freestanding library never unwinds";
    // SAFETY: the hook's contract: it does not return.
    unsafe { keel_host_panic(MESSAGE.as_ptr(), MESSAGE.len()) }
}

/// See [`rust_eh_personality`].
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    const MESSAGE: &str = "keel: _Unwind_Resume called, but the freestanding library never unwinds";
    // SAFETY: the hook's contract: it does not return.
    unsafe { keel_host_panic(MESSAGE.as_ptr(), MESSAGE.len()) }
}
