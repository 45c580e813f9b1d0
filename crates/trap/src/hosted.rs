//! The hosted Linux platform ([`HostedPlatform`], feature `std`): memory
//! from mmap/mprotect, and signal handlers for SIGSEGV, SIGBUS, SIGILL and
//! SIGFPE that route faults in wasm code to [`trap_entry`](crate::trap_entry),
//! on a per-thread alternate signal stack, chaining to the previous handler
//! for faults that are not keel's.

use crate::platform::{Access, CpuLocal, MemoryImageSource, Platform, PlatformError};
use core::ptr::NonNull;
use std::cell::RefCell;
use std::sync::OnceLock;

/// The hosted Linux platform: used when no other platform is registered.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostedPlatform;

/// The instance `platform()` falls back to.
pub(crate) static HOSTED: HostedPlatform = HostedPlatform;

fn os_error(what: &str) -> PlatformError {
    PlatformError::with_source(what, std::io::Error::last_os_error())
}

// SAFETY: mmap returns fresh address space; mprotect changes exactly the
// range asked (anonymous private pages read as zero when first touched);
// `cpu_local` is thread-local storage that lives as long as its thread.
unsafe impl Platform for HostedPlatform {
    fn page_size(&self) -> usize {
        4096
    }

    fn reserve(&self, len: usize) -> Result<NonNull<u8>, PlatformError> {
        // SAFETY: an anonymous mapping at a kernel-chosen address affects no
        // existing memory; failure is checked.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(os_error("mmap"));
        }
        NonNull::new(p.cast()).ok_or_else(|| PlatformError::new("mmap returned null"))
    }

    unsafe fn protect(
        &self,
        addr: NonNull<u8>,
        len: usize,
        access: Access,
    ) -> Result<(), PlatformError> {
        let prot = match access {
            Access::None => libc::PROT_NONE,
            Access::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Access::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
        };
        // SAFETY: per the caller's contract the range is in a reservation.
        if unsafe { libc::mprotect(addr.as_ptr().cast(), len, prot) } != 0 {
            return Err(os_error("mprotect"));
        }
        Ok(())
    }

    unsafe fn release(&self, addr: NonNull<u8>, len: usize) {
        // SAFETY: per the caller's contract this is one whole reservation.
        unsafe { libc::munmap(addr.as_ptr().cast(), len) };
    }

    fn memory_image_new(&self, bytes: &[u8]) -> Result<Option<MemoryImageSource>, PlatformError> {
        use std::io::Write as _;
        use std::os::fd::{FromRawFd as _, IntoRawFd as _};
        // SAFETY: the name is a NUL-terminated string; the result is a new
        // file descriptor or -1.
        let fd = unsafe { libc::memfd_create(c"keel-memory-image".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(os_error("memfd_create"));
        }
        // SAFETY: `fd` is a fresh descriptor this function owns.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.write_all(bytes)
            .map_err(|e| PlatformError::with_source("writing a memory image", e))?;
        Ok(Some(MemoryImageSource {
            id: file.into_raw_fd() as usize,
            len: bytes.len(),
        }))
    }

    unsafe fn memory_image_map(
        &self,
        image: &MemoryImageSource,
        addr: NonNull<u8>,
    ) -> Result<(), PlatformError> {
        // SAFETY: per the caller's contract the range lies in a
        // reservation with no references into it, and `image.id` is a live
        // memfd of `image.len` bytes; MAP_FIXED replaces exactly the range.
        let p = unsafe {
            libc::mmap(
                addr.as_ptr().cast(),
                image.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                image.id as libc::c_int,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(os_error("mmap of a memory image"));
        }
        Ok(())
    }

    unsafe fn decommit(
        &self,
        addr: NonNull<u8>,
        len: usize,
        imaged: bool,
    ) -> Result<(), PlatformError> {
        if imaged {
            // MADV_DONTNEED would bring the image's bytes back: replace
            // the range with fresh anonymous pages instead.
            // SAFETY: per the caller's contract the range lies in our
            // reservation, unreferenced; MAP_FIXED replaces exactly it.
            let p = unsafe {
                libc::mmap(
                    addr.as_ptr().cast(),
                    len,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_FIXED | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(os_error("mmap over a memory image"));
            }
            return Ok(());
        }
        // SAFETY: per the caller's contract the range lies in our
        // reservation, unreferenced: dropping its pages (they read as
        // zero afterwards) and removing access touch nothing else.
        unsafe {
            if libc::madvise(addr.as_ptr().cast(), len, libc::MADV_DONTNEED) != 0 {
                return Err(os_error("madvise(MADV_DONTNEED)"));
            }
            self.protect(addr, len, Access::None)
        }
    }

    unsafe fn memory_image_reset(
        &self,
        addr: NonNull<u8>,
        len: usize,
    ) -> Result<(), PlatformError> {
        // SAFETY: as in `decommit`: dropping the private copies brings the
        // image's pages (and zero pages after it) back.
        unsafe { self.decommit(addr, len, false) }
    }

    unsafe fn memory_image_free(&self, image: &MemoryImageSource) {
        // SAFETY: per the caller's contract the descriptor is the image's
        // and is closed once; mappings of it stay valid.
        unsafe { libc::close(image.id as libc::c_int) };
    }

    fn has_virtual_memory(&self) -> bool {
        true
    }

    fn has_trap_handlers(&self) -> bool {
        true
    }

    fn init_traps(&self) {
        init_traps();
        ensure_alt_stack();
    }

    fn cpu_local(&self) -> NonNull<CpuLocal> {
        crate::cpu_local::cpu_local()
    }

    unsafe fn atomic_wait(
        &self,
        addr: *const u8,
        expected: u64,
        size: u8,
        timeout: Option<core::time::Duration>,
        interrupt: Option<&mut dyn FnMut() -> bool>,
    ) -> Result<u32, PlatformError> {
        // SAFETY: the caller's contract is the parking lot's.
        Ok(unsafe { crate::parking_lot::wait(addr, expected, size, timeout, interrupt) })
    }

    fn atomic_notify(&self, addr: *const u8, count: u32) -> u32 {
        crate::parking_lot::notify(addr, count)
    }

    fn stack_bounds(&self) -> Option<core::ops::Range<usize>> {
        STACK_BOUNDS.with(|cached| {
            if let Some(bounds) = cached.get() {
                return Some(bounds.0..bounds.1);
            }
            let bounds = thread_stack_bounds()?;
            cached.set(Some((bounds.start, bounds.end)));
            Some(bounds)
        })
    }
}

std::thread_local! {
    /// This thread's stack range, once asked for.
    static STACK_BOUNDS: std::cell::Cell<Option<(usize, usize)>> =
        const { std::cell::Cell::new(None) };
}

/// The calling thread's stack from `pthread_getattr_np`, with the guard
/// region (if the attributes report it inside the range) excluded.
fn thread_stack_bounds() -> Option<core::ops::Range<usize>> {
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before use
    // and destroyed once; the out-pointers are valid locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let mut guard: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_getguardsize(&attr, &mut guard);
        libc::pthread_attr_destroy(&mut attr);
        if !ok || addr.is_null() {
            return None;
        }
        let start = (addr as usize).checked_add(guard)?;
        let end = (addr as usize).checked_add(size)?;
        (start < end).then_some(start..end)
    }
}

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers installed before keel's, read by keel's handler to chain
/// faults that are not keel's. Set before keel's handlers are installed.
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

/// Install keel's signal handlers once per process (hosted platforms call
/// this before the first entry into wasm; it is idempotent).
pub fn init_traps() {
    PREVIOUS.get_or_init(|| {
        // SAFETY: zeroed `sigaction` is a valid value to overwrite; each
        // call queries (old action only) or installs a valid action.
        unsafe {
            let mut previous: [libc::sigaction; 4] = std::mem::zeroed();
            for (i, signal) in SIGNALS.iter().enumerate() {
                libc::sigaction(*signal, std::ptr::null(), &mut previous[i]);
            }
            for signal in SIGNALS {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = trap_handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                    // Without our handler a trap would kill the process.
                    std::process::abort();
                }
            }
            previous
        }
    });
}

unsafe extern "C" fn trap_handler(
    signum: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    use crate::arch::{Arch, Host};
    // SAFETY: the kernel passes a valid ucontext_t of this architecture to
    // SA_SIGINFO handlers.
    let regs = unsafe { Host::signal_context(context.cast_const()) };
    let Some(crate::arch::TrapContext { pc, fp }) = regs else {
        // This build cannot read the context: no trap can be keel's.
        return chain(signum, info, context);
    };
    // SAFETY: `info` is valid for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() as usize };
    // SAFETY: we are on the faulting thread, in its fault context.
    if unsafe { crate::trap_entry(pc, fp, addr) } {
        return;
    }
    chain(signum, info, context)
}

/// Not keel's fault: hand it to whoever was installed before us.
fn chain(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(i) = SIGNALS.iter().position(|s| *s == signum) else {
        return;
    };
    let Some(previous) = PREVIOUS.get().map(|p| &p[i]) else {
        return;
    };
    // SAFETY: `previous` is the action the kernel reported for this
    // signal; its handler field has the type its flags say.
    unsafe {
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(previous.sa_sigaction);
            f(signum, info, context);
        } else if previous.sa_sigaction == libc::SIG_DFL || previous.sa_sigaction == libc::SIG_IGN {
            // Restore the default action and return: the instruction faults
            // again and the process dies with the original signal, as a
            // host crash must.
            libc::sigaction(signum, previous, std::ptr::null_mut());
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(previous.sa_sigaction);
            f(signum);
        }
    }
}

/// Size of the alternate signal stack keel installs, in bytes.
const ALT_STACK_SIZE: usize = 64 * 1024;

struct AltStack {
    mapping: *mut libc::c_void,
    size: usize,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: disable the alternate stack before unmapping it; the
        // mapping was created by `ensure_alt_stack` with this size.
        unsafe {
            let disable = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: ALT_STACK_SIZE,
            };
            libc::sigaltstack(&disable, std::ptr::null_mut());
            libc::munmap(self.mapping, self.size);
        }
    }
}

std::thread_local! {
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
    static ALT_STACK_CHECKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Give this thread an alternate signal stack if it has none large enough,
/// so that handlers run even when the fault is a stack overflow.
pub(crate) fn ensure_alt_stack() {
    // Checked once per thread: this runs on every entry into wasm.
    if ALT_STACK_CHECKED.with(|checked| checked.replace(true)) {
        return;
    }
    ALT_STACK.with(|slot| {
        if slot.borrow().is_some() {
            return;
        }
        // SAFETY: querying the current alternate stack with a valid out-pointer.
        let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::sigaltstack(std::ptr::null(), &mut current) } == 0
            && current.ss_flags & libc::SS_DISABLE == 0
            && current.ss_size >= ALT_STACK_SIZE
        {
            return;
        }
        let page = 4096;
        let size = ALT_STACK_SIZE + page;
        // SAFETY: anonymous private mapping; checked for failure below.
        let mapping = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return;
        }
        // SAFETY: the mapping is `size` bytes; leave the lowest page as a
        // guard and make the rest the stack.
        unsafe {
            let stack = mapping.cast::<u8>().add(page).cast::<libc::c_void>();
            if libc::mprotect(stack, ALT_STACK_SIZE, libc::PROT_READ | libc::PROT_WRITE) != 0 {
                libc::munmap(mapping, size);
                return;
            }
            let new = libc::stack_t {
                ss_sp: stack,
                ss_flags: 0,
                ss_size: ALT_STACK_SIZE,
            };
            if libc::sigaltstack(&new, std::ptr::null_mut()) != 0 {
                libc::munmap(mapping, size);
                return;
            }
        }
        *slot.borrow_mut() = Some(AltStack { mapping, size });
    });
}
