//! [`SharedMemory`]: a linear memory that instances in several stores, on
//! several threads, use at once (the
//! [threads](https://github.com/WebAssembly/threads) proposal).

use crate::{Engine, MemoryType, Result};
use core::cell::UnsafeCell;

/// A shared linear memory, as Wasmtime's `SharedMemory`: a memory of a
/// `shared` type (which must have a maximum), created by the host or
/// exported by an instance, that any number of instances of the same
/// engine import, in any stores, on any threads. It never moves; it only
/// grows, up to its maximum. Clones are handles to the same memory; it
/// lives as long as any handle or instance that imported it.
///
/// Wasm code on several threads accesses it concurrently, so the host sees
/// its bytes as [`UnsafeCell`]s ([`SharedMemory::data`]): reads and writes
/// may race with the guests'. Use atomics (for example through
/// `AtomicU32::from_ptr`) where the guest does.
#[derive(Clone)]
pub struct SharedMemory {
    pub(crate) inner: keel_vm::SharedMemory,
    pub(crate) engine: Engine,
}

impl core::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.fmt(f)
    }
}

impl SharedMemory {
    /// A new zero-filled shared memory of type `ty`, usable by instances
    /// of `engine`.
    ///
    /// # Errors
    ///
    /// If the engine has threads off ([`Config::wasm_threads`](crate::Config::wasm_threads)),
    /// `ty` is not shared (see [`MemoryType::shared`]), has no maximum,
    /// has a minimum above its maximum, or cannot be reserved (a shared
    /// memory reserves its maximum up front).
    pub fn new(engine: &Engine, ty: MemoryType) -> Result<SharedMemory> {
        if !engine
            .config()
            .features
            .contains(wasmparser::WasmFeatures::THREADS)
        {
            anyhow::bail!("shared memories need the threads proposal (`Config::wasm_threads`)");
        }
        if !ty.is_shared() {
            anyhow::bail!("a shared memory needs a shared memory type");
        }
        if !matches!(ty.page_size_log2(), 0 | 16) {
            anyhow::bail!(
                "memory page size of 2^{} bytes: only 1 and 65536 are supported",
                ty.page_size_log2()
            );
        }
        let inner = keel_vm::SharedMemory::new(&ty.0, &engine.config().memory, None)?;
        Ok(SharedMemory {
            inner,
            engine: engine.clone(),
        })
    }

    /// The memory's type; its minimum is the current size.
    pub fn ty(&self) -> MemoryType {
        let mut ty = self.inner.ty();
        ty.limits.min = self.inner.size_pages();
        MemoryType(ty)
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        self.inner.size_pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.inner.current_length()
    }

    /// The memory's bytes (its current size). Other threads may read and
    /// write them at any time.
    pub fn data(&self) -> &[UnsafeCell<u8>] {
        // SAFETY: `current_length` bytes at `base` are accessible and stay
        // so (the memory never moves or shrinks) while `self` holds it;
        // `UnsafeCell` makes concurrent mutation through other handles
        // legal to observe.
        unsafe {
            core::slice::from_raw_parts(
                self.inner.base().cast::<UnsafeCell<u8>>(),
                self.inner.current_length(),
            )
        }
    }

    /// Grow by `delta_pages` pages; returns the old size in pages.
    ///
    /// # Errors
    ///
    /// If the new size would exceed the maximum or the pages cannot be
    /// committed.
    pub fn grow(&self, delta_pages: u64) -> Result<u64> {
        match self.inner.grow(delta_pages)? {
            Some(old) => Ok(old),
            None => Err(anyhow::anyhow!(
                "failed to grow memory by {delta_pages} pages"
            )),
        }
    }

    /// Wake up to `count` threads waiting at byte `addr`
    /// (`memory.atomic.notify`); returns how many were woken.
    ///
    /// # Errors
    ///
    /// If `addr` is not 4-byte aligned or not inside the memory.
    pub fn atomic_notify(&self, addr: u64, count: u32) -> Result<u32> {
        let ptr = self.checked_addr(addr, 4)?;
        Ok(keel_vm::atomic_notify(ptr, count))
    }

    /// Block until woken by a notify at byte `addr`, if the `u32` there is
    /// `expected` (`memory.atomic.wait32`), for at most `timeout`.
    ///
    /// # Errors
    ///
    /// If `addr` is not 4-byte aligned or not inside the memory, or the
    /// platform cannot block ([`Platform::atomic_wait`](crate::Platform::atomic_wait)).
    pub fn atomic_wait32(
        &self,
        addr: u64,
        expected: u32,
        timeout: Option<core::time::Duration>,
    ) -> Result<WaitResult> {
        let ptr = self.checked_addr(addr, 4)?;
        // SAFETY: `ptr` is in bounds and 4-byte aligned (checked), in a
        // memory that never moves or shrinks while `self` holds it.
        let code = unsafe { keel_vm::atomic_wait(ptr, u64::from(expected), 4, timeout, None)? };
        Ok(WaitResult::from_code(code))
    }

    /// As [`SharedMemory::atomic_wait32`] for the `u64` at `addr`
    /// (`memory.atomic.wait64`; `addr` 8-byte aligned).
    ///
    /// # Errors
    ///
    /// As [`SharedMemory::atomic_wait32`].
    pub fn atomic_wait64(
        &self,
        addr: u64,
        expected: u64,
        timeout: Option<core::time::Duration>,
    ) -> Result<WaitResult> {
        let ptr = self.checked_addr(addr, 8)?;
        // SAFETY: as in `atomic_wait32`, 8-byte aligned.
        let code = unsafe { keel_vm::atomic_wait(ptr, expected, 8, timeout, None)? };
        Ok(WaitResult::from_code(code))
    }

    /// The host address of the `size`-byte aligned access at `addr`.
    fn checked_addr(&self, addr: u64, size: u64) -> Result<*const u8> {
        if !addr.is_multiple_of(size) {
            anyhow::bail!("unaligned atomic: address {addr:#x} is not {size}-byte aligned");
        }
        let len = self.inner.current_length() as u64;
        if addr.checked_add(size).is_none_or(|end| end > len) {
            anyhow::bail!("out of bounds memory access: {size} bytes at {addr:#x}");
        }
        // SAFETY: in bounds (checked above).
        Ok(unsafe { self.inner.base().add(addr as usize) })
    }

    /// Whether this memory belongs to `engine`.
    pub(crate) fn is_of(&self, engine: &Engine) -> bool {
        Engine::same(&self.engine, engine)
    }
}

/// How a wait (`memory.atomic.wait32`/`wait64`) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// A notify woke the waiter (0 in wasm).
    Ok,
    /// The value was not the expected one; the waiter did not block (1).
    Mismatch,
    /// The timeout passed (2).
    TimedOut,
}

impl WaitResult {
    fn from_code(code: u32) -> Self {
        match code {
            0 => WaitResult::Ok,
            1 => WaitResult::Mismatch,
            _ => WaitResult::TimedOut,
        }
    }
}
