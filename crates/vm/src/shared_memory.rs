//! Shared linear memories (the
//! [threads](https://github.com/WebAssembly/threads) proposal): one memory
//! that instances in several stores, on several threads, use at once.
//!
//! A shared memory never moves (its type has a maximum, which is reserved
//! up front), so only its length changes, and only upwards: growth takes
//! the memory's lock, commits the new pages and then publishes the new
//! length with a release store. Compiled code reads the length with plain
//! loads; a stale length can only make an access that races with growth
//! trap, as the proposal allows. The definition compiled code reads lives
//! with the memory (not in a VMContext), so it stays valid as long as any
//! instance or host handle holds the memory.

use crate::{LinearMemory, MemoryImage, VMMemoryDefinition, VmError};
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};
use keel_translate::{MemoryTunables, MemoryType};

/// A shared linear memory; clones are handles to the same memory.
#[derive(Clone)]
pub struct SharedMemory(Arc<SharedMemoryInner>);

struct SharedMemoryInner {
    ty: MemoryType,
    /// Serializes growth.
    memory: spin::Mutex<LinearMemory>,
    /// What compiled code reads; `current_length` is written only under
    /// `memory`'s lock, atomically.
    definition: Box<UnsafeCell<VMMemoryDefinition>>,
}

// SAFETY: the memory's bytes are shared by design (the threads proposal's
// memory model: racy accesses are allowed and cannot break the host's
// invariants, the memory never moves and only grows); its bookkeeping is
// behind a lock, and the definition's length is only written atomically.
unsafe impl Send for SharedMemoryInner {}
// SAFETY: as above.
unsafe impl Sync for SharedMemoryInner {}

impl core::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedMemory")
            .field("ty", &self.0.ty)
            .field("current_length", &self.current_length())
            .finish()
    }
}

impl SharedMemory {
    /// A new shared memory of type `ty` (which must be shared and have a
    /// maximum), laid out as `tunables` says, with `image` (if any) as its
    /// initial contents.
    ///
    /// # Errors
    ///
    /// [`VmError::InvalidLimits`] if `ty` is not shared or has no maximum;
    /// otherwise as [`LinearMemory::with_image`].
    pub fn new(
        ty: &MemoryType,
        tunables: &MemoryTunables,
        image: Option<&MemoryImage>,
    ) -> Result<Self, VmError> {
        if !ty.shared || ty.limits.max.is_none() {
            return Err(VmError::InvalidLimits(
                "a shared memory must be declared `shared` with a maximum".into(),
            ));
        }
        let memory = LinearMemory::with_image(ty, tunables, image)?;
        if memory.is_movable() {
            return Err(VmError::ImplLimit(
                "a shared memory must not move when it grows".into(),
            ));
        }
        let definition = Box::new(UnsafeCell::new(VMMemoryDefinition {
            base: memory.base(),
            current_length: memory.current_length(),
        }));
        Ok(Self(Arc::new(SharedMemoryInner {
            ty: *ty,
            memory: spin::Mutex::new(memory),
            definition,
        })))
    }

    /// The memory's type (its minimum as declared).
    pub fn ty(&self) -> MemoryType {
        self.0.ty
    }

    /// The definition compiled code reads; valid while any handle to the
    /// memory lives.
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        self.0.definition.get()
    }

    /// The base address (never changes).
    pub fn base(&self) -> *mut u8 {
        // SAFETY: `base` is written only at creation.
        unsafe { (*self.definition()).base }
    }

    /// The accessible length in bytes (it only grows).
    pub fn current_length(&self) -> usize {
        // SAFETY: the field is live and aligned; it is only written
        // atomically (see `grow`).
        unsafe {
            AtomicUsize::from_ptr(&raw mut (*self.definition()).current_length)
                .load(Ordering::Acquire)
        }
    }

    /// The current size in pages.
    pub fn size_pages(&self) -> u64 {
        self.current_length() as u64 >> self.0.ty.page_size_log2
    }

    /// Grow by `delta_pages`: `Ok(Some(old size))`, or `Ok(None)` past the
    /// maximum (see [`LinearMemory::grow`]).
    ///
    /// # Errors
    ///
    /// As [`LinearMemory::grow`].
    pub fn grow(&self, delta_pages: u64) -> Result<Option<u64>, VmError> {
        let mut memory = self.0.memory.lock();
        let old = memory.grow(delta_pages)?;
        if old.is_some() {
            // SAFETY: as in `current_length`; writers hold the lock.
            unsafe {
                AtomicUsize::from_ptr(&raw mut (*self.definition()).current_length)
                    .store(memory.current_length(), Ordering::Release);
            }
        }
        Ok(old)
    }

    /// Whether `self` and `other` are the same memory.
    pub fn same(&self, other: &SharedMemory) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Block while the `size`-byte (4 or 8) value at `addr` is `expected`,
/// through the platform ([`Platform::atomic_wait`](keel_trap::Platform::atomic_wait)):
/// 0 when woken, 1 when not equal, 2 on timeout (`None`: no timeout).
///
/// # Safety
///
/// `addr` is valid for `size`-byte atomic reads, aligned to `size`, for
/// the duration of the call.
///
/// # Errors
///
/// [`VmError::Platform`] when the platform cannot block.
pub unsafe fn atomic_wait(
    addr: *const u8,
    expected: u64,
    size: u8,
    timeout: Option<core::time::Duration>,
    interrupt: Option<&mut dyn FnMut() -> bool>,
) -> Result<u32, VmError> {
    let platform = crate::sys::platform()?;
    // SAFETY: per the caller's contract.
    unsafe { platform.atomic_wait(addr, expected, size, timeout, interrupt) }
        .map_err(|e| VmError::platform("cannot wait", e))
}

/// Wake up to `count` waiters at `addr` ([`atomic_wait`]); returns how
/// many woke (0 without a platform).
pub fn atomic_notify(addr: *const u8, count: u32) -> u32 {
    crate::sys::platform().map_or(0, |p| p.atomic_notify(addr, count))
}
