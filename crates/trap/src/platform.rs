//! The platform trait: what keel needs from its home, hosted or bare
//! metal.
//!
//! keel never calls an operating system directly below its API. Memory
//! for linear memories and code, the knowledge of whether faults reach
//! keel, and the per-CPU slot that holds the current activation all come
//! from one [`Platform`], registered once per process (or kernel) with
//! [`set_platform`]. With the `std` feature the hosted Linux platform
//! ([`HostedPlatform`]) is used when none was set.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;
use core::ops::Range;
use core::ptr::NonNull;

/// The access rights of a range of memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// No access: touching it faults (a guard region or reserved space).
    None,
    /// Read and write (linear memories, code being written).
    ReadWrite,
    /// Read and execute (finished code).
    ReadExecute,
}

/// A platform failure, e.g. out of address space or memory: what failed,
/// and the operating system's error behind it when there is one (hosted:
/// a `std::io::Error`), reachable through [`Error::source`](core::error::Error::source).
#[derive(Debug)]
pub struct PlatformError {
    message: String,
    source: Option<Box<dyn core::error::Error + Send + Sync>>,
}

impl PlatformError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error saying `message`, caused by `source` (e.g. the OS error).
    pub fn with_source(
        message: impl Into<String>,
        source: impl core::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// What failed, without the cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl core::error::Error for PlatformError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn core::error::Error + 'static))
    }
}

/// How often a blocked [`Platform::atomic_wait`] asks its `interrupt`
/// callback whether to stop: the latency of an epoch deadline for a guest
/// blocked in `memory.atomic.wait32`/`wait64`.
pub const ATOMIC_WAIT_INTERRUPT_PERIOD: core::time::Duration =
    core::time::Duration::from_millis(10);

/// What the runtime needs from its home.
///
/// # Safety
///
/// Implementations must uphold each method's contract: in particular
/// [`Platform::reserve`] returns address space no one else uses,
/// [`Platform::protect`] makes exactly the given range accessible as
/// asked (zero-filled when first made accessible), and
/// [`Platform::cpu_local`] returns storage private to the calling CPU (or
/// thread) that lives as long as it runs keel code. keel's memory safety
/// rests on these.
pub unsafe trait Platform: Send + Sync + 'static {
    /// The page size in bytes; every address and length passed to
    /// [`Platform::protect`] and [`Platform::release`] is a multiple of it.
    fn page_size(&self) -> usize;

    /// Reserve `len` bytes (a multiple of the page size) of address space,
    /// inaccessible ([`Access::None`]). Like `mmap(PROT_NONE)`.
    ///
    /// # Errors
    ///
    /// When the address space or memory is exhausted.
    fn reserve(&self, len: usize) -> Result<NonNull<u8>, PlatformError>;

    /// Set the access of `len` bytes at `addr`, inside a reservation.
    /// Pages that become accessible for the first time read as zero. Like
    /// `mprotect`, committing memory as needed.
    ///
    /// # Errors
    ///
    /// When memory cannot be committed.
    ///
    /// # Safety
    ///
    /// The range must lie in a live reservation of this platform, and no
    /// Rust reference may point into a part whose access is removed.
    unsafe fn protect(
        &self,
        addr: NonNull<u8>,
        len: usize,
        access: Access,
    ) -> Result<(), PlatformError>;

    /// Release a whole reservation made by [`Platform::reserve`]. Like
    /// `munmap`.
    ///
    /// # Safety
    ///
    /// `addr` and `len` must be exactly one reservation that nothing uses
    /// any more.
    unsafe fn release(&self, addr: NonNull<u8>, len: usize);

    /// Whether [`Access::None`] really faults (an MMU); without it keel
    /// must check memory bounds explicitly.
    fn has_virtual_memory(&self) -> bool;

    /// Whether faults in compiled code reach [`trap_entry`](crate::trap_entry)
    /// (signal handlers, or the kernel's exception vector). Without them,
    /// keel must never rely on a fault to detect a trap.
    fn has_trap_handlers(&self) -> bool;

    /// Prepare trap handling, once, before the first entry into wasm
    /// (hosted: install the signal handlers). Kernels usually do nothing:
    /// their vector already calls [`trap_entry`](crate::trap_entry).
    fn init_traps(&self) {}

    /// This CPU's (or thread's) [`CpuLocal`] storage.
    ///
    /// A kernel keeps one `CpuLocal` per CPU (a single `static` for a
    /// uniprocessor kernel) and returns the current CPU's.
    fn cpu_local(&self) -> NonNull<CpuLocal>;

    /// The address range of the stack the calling thread (or CPU) runs on:
    /// `start` is its lowest usable address, `end` one past its highest,
    /// both raw addresses. keel keeps wasm's stack limit above `start`
    /// (plus a reserve for host frames), so that running out of stack in
    /// wasm traps instead of overflowing the real stack.
    ///
    /// `None` (the default) means unknown: the limit is then only the
    /// stack pointer at the first entry into wasm minus
    /// `Config::max_wasm_stack`, and the embedder must make sure that much
    /// stack exists. Called on every outermost entry into wasm: keep it
    /// cheap. Hosted: `pthread_getattr_np`, cached per thread.
    fn stack_bounds(&self) -> Option<Range<usize>> {
        None
    }

    /// Keep `bytes` (a multiple of the page size long) as the source of a
    /// memory image: the initial contents of a linear memory, which
    /// [`Platform::memory_image_map`] maps copy-on-write into each new
    /// instance's memory instead of copying them. Called once per module
    /// memory whose data segments make such an image. Hosted: a `memfd`
    /// holding the bytes. A kernel may copy them into frames it keeps
    /// read-only and map those.
    ///
    /// `Ok(None)` (the default) means the platform cannot map images: keel
    /// copies the data segments into every new memory instead.
    ///
    /// # Errors
    ///
    /// When the image cannot be made (keel then copies, as for `None`).
    fn memory_image_new(&self, bytes: &[u8]) -> Result<Option<MemoryImageSource>, PlatformError> {
        let _ = bytes;
        Ok(None)
    }

    /// Map `image` at `addr` (page-aligned), readable and writable, copy on
    /// write: reads see the image's bytes, the first write to a page gives
    /// this memory a private copy of it, and the image never changes.
    /// Replaces whatever was mapped there. Like
    /// `mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, memfd, 0)`.
    ///
    /// # Errors
    ///
    /// When the mapping fails; the range's contents are then unspecified
    /// and keel releases the memory.
    ///
    /// # Safety
    ///
    /// `image` must come from this platform's
    /// [`Platform::memory_image_new`] and not be freed; the range
    /// `addr..addr + image.len()` must lie in a live reservation, with no
    /// Rust reference into it.
    unsafe fn memory_image_map(
        &self,
        image: &MemoryImageSource,
        addr: NonNull<u8>,
    ) -> Result<(), PlatformError> {
        let _ = (image, addr);
        Err(PlatformError::new("this platform cannot map memory images"))
    }

    /// Make `len` bytes at `addr` inaccessible and give their memory back,
    /// keeping the address space reserved: when the range is later made
    /// accessible again ([`Platform::protect`]) it reads as zero, even
    /// where a memory image was mapped. keel calls it to reset a pooled
    /// linear memory for its next instance. Hosted: `madvise(MADV_DONTNEED)`
    /// and `mprotect(PROT_NONE)`, or a fresh anonymous mapping over an
    /// image. The default writes zeros and removes access.
    ///
    /// # Errors
    ///
    /// When the range cannot be reset; keel then releases the reservation.
    ///
    /// # Safety
    ///
    /// As [`Platform::protect`]: the range lies in a live reservation, with
    /// no Rust reference into it. `imaged` says whether an image is
    /// mapped anywhere in it.
    unsafe fn decommit(
        &self,
        addr: NonNull<u8>,
        len: usize,
        imaged: bool,
    ) -> Result<(), PlatformError> {
        let _ = imaged;
        // SAFETY: per the caller's contract the range is in a reservation
        // and unreferenced; it is accessible between the two calls.
        unsafe {
            self.protect(addr, len, Access::ReadWrite)?;
            core::ptr::write_bytes(addr.as_ptr(), 0, len);
            self.protect(addr, len, Access::None)
        }
    }

    /// Reset `len` bytes at `addr`, where an image is mapped
    /// ([`Platform::memory_image_map`]) at `addr`, to the image's bytes
    /// (and zeros after it), inaccessible: what a pooled memory keeps for
    /// its next instance of the same module, which then needs no new
    /// mapping. Hosted: `madvise(MADV_DONTNEED)` (a private file mapping
    /// reads its file again) and `mprotect(PROT_NONE)`. The default fails:
    /// keel then resets the range to zeros ([`Platform::decommit`]).
    ///
    /// # Errors
    ///
    /// When the platform cannot do it.
    ///
    /// # Safety
    ///
    /// As [`Platform::decommit`].
    unsafe fn memory_image_reset(
        &self,
        addr: NonNull<u8>,
        len: usize,
    ) -> Result<(), PlatformError> {
        let _ = (addr, len);
        Err(PlatformError::new(
            "this platform cannot reset memory images",
        ))
    }

    /// Free an image made by [`Platform::memory_image_new`]; memories it
    /// is mapped into keep their contents. Like `close` of the memfd.
    ///
    /// # Safety
    ///
    /// `image` came from this platform and is freed once.
    unsafe fn memory_image_free(&self, image: &MemoryImageSource) {
        let _ = image;
    }

    /// Block the calling thread (CPU's current task) while the `size`-byte
    /// (4 or 8) little-endian value at `addr` equals `expected`, until
    /// [`Platform::atomic_notify`] wakes it or `timeout` passes: the
    /// futex-like wait behind `memory.atomic.wait32`/`wait64` (threads
    /// proposal). The comparison and the enqueueing must be atomic with
    /// respect to `atomic_notify`, so no wake-up is lost. Returns 0 when
    /// woken, 1 when the value was not `expected` (without blocking), 2
    /// on timeout, 3 when `interrupt` ended the wait.
    ///
    /// `interrupt`, when given, bounds the wait from outside: the platform
    /// calls it at least every [`ATOMIC_WAIT_INTERRUPT_PERIOD`] while the
    /// thread is blocked, holding none of its own locks (it may run the
    /// store's epoch callback, which may call into wasm and notify), and
    /// ends the wait with 3 when it returns `true`. keel passes it when
    /// the waiting store has epoch interruption, so an epoch deadline or
    /// `keel run -W timeout` stops a guest that waits forever.
    ///
    /// The default has no way to block and fails: wasm that waits then
    /// traps with a message naming this method. The hosted platform
    /// implements it with a parking lot. A kernel that schedules tasks
    /// implements it by parking the current task.
    ///
    /// # Safety
    ///
    /// `addr` is valid for `size`-byte atomic reads, aligned to `size`, for
    /// the duration of the call.
    ///
    /// # Errors
    ///
    /// When the platform cannot block.
    unsafe fn atomic_wait(
        &self,
        addr: *const u8,
        expected: u64,
        size: u8,
        timeout: Option<core::time::Duration>,
        interrupt: Option<&mut dyn FnMut() -> bool>,
    ) -> Result<u32, PlatformError> {
        let _ = (addr, expected, size, timeout, interrupt);
        Err(PlatformError::new(
            "this platform cannot block a thread (`Platform::atomic_wait` is not implemented)",
        ))
    }

    /// Wake up to `count` waiters blocked in [`Platform::atomic_wait`] on
    /// `addr`, oldest first; returns how many were woken. The default
    /// (no waiting) wakes none.
    fn atomic_notify(&self, addr: *const u8, count: u32) -> u32 {
        let _ = (addr, count);
        0
    }
}

/// A platform's handle to a memory image
/// ([`Platform::memory_image_new`]): an identifier only the platform
/// interprets (hosted: the memfd's file descriptor) and the image's length
/// in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryImageSource {
    /// The platform's identifier for the image.
    pub id: usize,
    /// The image's length in bytes, a multiple of the page size.
    pub len: usize,
}

/// The state keel keeps per CPU (per thread when hosted): the current
/// activation, the buffer trap handlers write backtraces into, and the
/// stack of the [`Fiber`](crate::Fiber) running on it.
/// Embedders only allocate it ([`CpuLocal::new`]) and hand it out from
/// [`Platform::cpu_local`].
pub struct CpuLocal {
    pub(crate) current: core::cell::Cell<*mut crate::Activation>,
    pub(crate) trap_buffer: crate::backtrace::TrapBuffer,
    /// The stack (start, end) of the fiber running on this CPU, if one is.
    pub(crate) fiber_stack: core::cell::Cell<Option<(usize, usize)>>,
    /// Hosted: whether [`Platform::init_traps`] ran on this thread.
    #[cfg(feature = "std")]
    pub(crate) traps_ready: core::cell::Cell<bool>,
    /// Hosted: the last [`wasm_stack_limit`](crate::wasm_stack_limit)
    /// computed on this thread and what it depended on.
    #[cfg(feature = "std")]
    pub(crate) stack_limit: core::cell::Cell<Option<crate::StackLimitMemo>>,
}

// SAFETY: a `CpuLocal` is only ever used by the CPU (or thread) that owns
// it, per the `Platform::cpu_local` contract; sharing the static that holds
// it between CPUs never shares its contents.
unsafe impl Sync for CpuLocal {}

impl CpuLocal {
    /// Fresh per-CPU state, usable in a `static`.
    pub const fn new() -> Self {
        Self {
            current: core::cell::Cell::new(core::ptr::null_mut()),
            trap_buffer: crate::backtrace::TrapBuffer::new(),
            fiber_stack: core::cell::Cell::new(None),
            #[cfg(feature = "std")]
            traps_ready: core::cell::Cell::new(false),
            #[cfg(feature = "std")]
            stack_limit: core::cell::Cell::new(None),
        }
    }
}

impl Default for CpuLocal {
    fn default() -> Self {
        Self::new()
    }
}

/// A thin pointer to the registered `&'static dyn Platform`.
static PLATFORM: core::sync::atomic::AtomicPtr<&'static dyn Platform> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Register the platform for this process (or kernel). The first call
/// wins; later calls with another platform fail.
///
/// # Errors
///
/// If a different platform is already registered.
pub fn set_platform(platform: &'static &'static dyn Platform) -> Result<(), PlatformError> {
    use core::sync::atomic::Ordering;
    let new = platform as *const &'static dyn Platform as *mut &'static dyn Platform;
    match PLATFORM.compare_exchange(
        core::ptr::null_mut(),
        new,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => Ok(()),
        Err(existing) if core::ptr::eq(existing, new) => Ok(()),
        Err(_) => Err(PlatformError::new(
            "a different keel platform is already registered",
        )),
    }
}

/// The registered platform; with `std`, the hosted platform when none was
/// registered.
pub fn platform() -> Option<&'static dyn Platform> {
    let p = PLATFORM.load(core::sync::atomic::Ordering::Acquire);
    if p.is_null() {
        #[cfg(feature = "std")]
        {
            return Some(&crate::hosted::HOSTED);
        }
        #[cfg(not(feature = "std"))]
        {
            return None;
        }
    }
    // SAFETY: only `set_platform` stores into `PLATFORM`, always a
    // `&'static &'static dyn Platform`.
    Some(unsafe { *p })
}
