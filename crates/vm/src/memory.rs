//! Linear memories ([Memory Instances](https://webassembly.github.io/spec/core/exec/runtime.html#memory-instances)).
//!
//! Two layouts, chosen by [`MemoryTunables`] when the memory is created:
//!
//! * **Fixed** (the base never moves): the reservation covers the maximum
//!   size (or [`MemoryTunables::reservation_bytes`] when larger) plus the
//!   guard region, and growing commits pages inside it. Used whenever
//!   signals-based traps are on (guard pages need it), and for memories
//!   that declare a maximum.
//! * **Movable** ([`MemoryTunables::memory_may_move`]: signals-based traps
//!   off and no declared maximum): the memory holds only what it uses;
//!   growing past its reservation reserves a larger one (at least double,
//!   so repeated growth copies O(size) bytes in total), copies the
//!   contents and releases the old one. Compiled code then reloads the
//!   base after every call. This is the layout for kernels without an
//!   MMU, where a 4 GiB reservation would be 4 GiB of RAM.

use crate::{VmError, sys};
use alloc::format;
use keel_translate::{MemoryTunables, MemoryType};
use keel_trap::Access;

/// A linear memory whose first `current_length` bytes are accessible
/// (VM-2).
#[derive(Debug)]
pub struct LinearMemory {
    base: *mut u8,
    reserved_bytes: usize,
    current_length: usize,
    maximum_pages: u64,
    /// The base-2 logarithm of the page size (16, or 0 for 1-byte pages).
    page_size_log2: u8,
    movable: bool,
    /// Whether a [`MemoryImage`](crate::MemoryImage) holds the initial
    /// contents (the data segments are then not copied): its id and the
    /// offset where it ends.
    imaged: Option<(u64, usize)>,
    /// The pool whose slot this memory occupies (it goes back there,
    /// reset, when dropped).
    pool: Option<alloc::sync::Arc<crate::InstancePool>>,
}

// SAFETY: the memory is plain bytes owned by this value; access is
// serialised by the owning store (VM-5).
unsafe impl Send for LinearMemory {}
// SAFETY: `&LinearMemory` only reads its fields; the bytes are accessed
// through the owning store (VM-5).
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    /// A memory of type `ty` (its minimum size, growable to its maximum
    /// or what its index type can address), laid out as `tunables` says
    /// (see the module docs).
    ///
    /// # Errors
    ///
    /// [`VmError::InvalidLimits`] if the minimum exceeds the maximum or
    /// what the index type can address; [`VmError::Platform`] (with the
    /// platform's error as source) if the reservation or the initial
    /// pages cannot be had.
    pub fn new(ty: &MemoryType, tunables: &MemoryTunables) -> Result<Self, VmError> {
        Self::with_image(ty, tunables, None)
    }

    /// As [`LinearMemory::new`], with `image` (if any) mapped as the
    /// initial contents ([`LinearMemory::map_image`]).
    ///
    /// # Errors
    ///
    /// As [`LinearMemory::new`] and [`LinearMemory::map_image`].
    pub fn with_image(
        ty: &MemoryType,
        tunables: &MemoryTunables,
        image: Option<&crate::MemoryImage>,
    ) -> Result<Self, VmError> {
        let movable = tunables.memory_may_move(ty);
        let minimum_pages = ty.limits.min;
        let maximum_pages = ty.max_pages();
        if minimum_pages > maximum_pages {
            return Err(VmError::InvalidLimits(format!(
                "memory minimum of {minimum_pages} pages exceeds the maximum of {maximum_pages} pages"
            )));
        }
        let too_large =
            || VmError::ImplLimit("linear memory reservation exceeds the address space".into());
        let min_bytes = ty.pages_to_bytes(minimum_pages);
        let page = sys::page_size();
        let reserved_bytes = if movable {
            // Only what the memory holds: its minimum.
            min_bytes
        } else {
            let guarded = tunables.signals_based_traps && ty.guard_pages_apply();
            ty.pages_to_bytes(maximum_pages)
                .max(if guarded {
                    tunables.reservation_bytes
                } else {
                    0
                })
                .checked_add(if guarded { tunables.guard_bytes } else { 0 })
                .ok_or_else(too_large)?
        };
        let reserved_bytes = usize::try_from(reserved_bytes)
            .ok()
            .and_then(|b| b.max(page).checked_next_multiple_of(page))
            .ok_or_else(too_large)?;
        let base = sys::reserve(reserved_bytes)
            .map_err(|e| VmError::platform("cannot reserve a linear memory", e))?;
        let mut memory = Self {
            base,
            reserved_bytes,
            current_length: 0,
            maximum_pages,
            page_size_log2: ty.page_size_log2,
            movable,
            imaged: None,
            pool: None,
        };
        if let Some(image) = image {
            let min_length = min_bytes;
            let (start, end) = (image.offset(), image.offset() + image.len());
            if end as u64 <= min_length && min_length as usize <= reserved_bytes {
                // Only the pages around the image are made accessible
                // here; mapping the image makes its own pages accessible
                // (one system call fewer when it covers the minimum).
                // SAFETY: both ranges lie inside the reservation and only
                // gain access; nothing refers into the new memory yet.
                unsafe {
                    if start > 0 {
                        sys::protect(base, start, Access::ReadWrite)
                    } else {
                        Ok(())
                    }
                    .and_then(|()| {
                        let rest = min_length as usize - end;
                        if rest > 0 {
                            sys::protect(base.add(end), rest, Access::ReadWrite)
                        } else {
                            Ok(())
                        }
                    })
                    .map_err(|e| {
                        VmError::platform("cannot commit the initial pages of a linear memory", e)
                    })?;
                }
                memory.current_length = min_length as usize;
                memory.map_image(image)?;
                return Ok(memory);
            }
        }
        memory
            .grow(minimum_pages)
            .map_err(|e| match e {
                VmError::Platform { source, .. } => {
                    VmError::platform("cannot commit the initial pages of a linear memory", source)
                }
                e => e,
            })?
            .ok_or_else(|| VmError::InvalidLimits("memory minimum exceeds its maximum".into()))?;
        if let Some(image) = image {
            memory.map_image(image)?;
        }
        Ok(memory)
    }

    /// A memory of type `ty` in a slot of `pool`: it never moves and grows
    /// to its declared maximum or the pool's `max_memory_size`, whichever
    /// is smaller.
    ///
    /// # Errors
    ///
    /// [`VmError::ImplLimit`] if the minimum exceeds the pool's
    /// `max_memory_size` or all its memories are in use;
    /// [`VmError::Platform`] as for [`LinearMemory::new`].
    pub fn new_pooled(
        ty: &MemoryType,
        pool: &alloc::sync::Arc<crate::InstancePool>,
        image: Option<&crate::MemoryImage>,
    ) -> Result<Self, VmError> {
        let minimum_pages = ty.limits.min;
        let pool_pages = pool.limits().max_memory_size >> ty.page_size_log2;
        if minimum_pages > pool_pages {
            return Err(VmError::ImplLimit(format!(
                "a memory of {minimum_pages} pages exceeds the pooling allocator's \
                 max_memory_size of {} bytes",
                pool.limits().max_memory_size
            )));
        }
        let maximum_pages = ty.max_pages().min(pool_pages);
        if minimum_pages > maximum_pages {
            return Err(VmError::InvalidLimits(format!(
                "memory minimum of {minimum_pages} pages exceeds the maximum of {maximum_pages} pages"
            )));
        }
        let (base, holds_image) = pool.acquire_memory(image.map(|i| i.id()))?;
        let mut memory = Self {
            base,
            reserved_bytes: pool.memory_slot_bytes(),
            current_length: 0,
            maximum_pages,
            page_size_log2: ty.page_size_log2,
            movable: false,
            imaged: None,
            pool: Some(pool.clone()),
        };
        memory
            .grow(minimum_pages)?
            .ok_or_else(|| VmError::InvalidLimits("memory minimum exceeds its maximum".into()))?;
        if let Some(image) = image {
            if holds_image {
                // The slot was reset to this very image when its last
                // instance dropped.
                memory.imaged = Some((image.id(), image.offset() + image.len()));
            } else {
                memory.map_image(image)?;
            }
        }
        Ok(memory)
    }

    /// Grow by `delta_pages`: `Ok(Some(old size in pages))`, or `Ok(None)`
    /// when the result would exceed the maximum
    /// ([`memory.grow`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-memory-grow)
    /// then returns -1).
    ///
    /// A movable memory may change its [`base`](Self::base); the owner
    /// must update the `VMMemoryDefinition`.
    ///
    /// # Errors
    ///
    /// [`VmError::Platform`] when the platform cannot commit or reserve
    /// the memory (the memory is unchanged).
    pub fn grow(&mut self, delta_pages: u64) -> Result<Option<u64>, VmError> {
        let old_pages = self.size_pages();
        let Some(new_pages) = old_pages.checked_add(delta_pages) else {
            return Ok(None);
        };
        if new_pages > self.maximum_pages {
            return Ok(None);
        }
        let Some(new_length) = new_pages
            .checked_shl(u32::from(self.page_size_log2))
            .filter(|b| b >> self.page_size_log2 == new_pages)
            .and_then(|b| usize::try_from(b).ok())
        else {
            return Ok(None);
        };
        if new_length > self.reserved_bytes {
            // Only movable memories reserve less than their maximum.
            self.move_to_larger_reservation(new_length)?;
        }
        // Access is granted in whole host pages: with 1-byte wasm pages the
        // length need not be a multiple of one, and the bytes past it in
        // its last host page are already accessible (and still zero:
        // every access is checked against the length).
        let page = sys::page_size();
        let committed = self.current_length.next_multiple_of(page);
        let new_committed = new_length.next_multiple_of(page);
        if new_committed > committed {
            // SAFETY: the range lies inside our reservation (new_length <=
            // reserved_bytes, a multiple of the host page, ensured above)
            // and only gains access.
            unsafe {
                sys::protect(
                    self.base.add(committed),
                    new_committed - committed,
                    Access::ReadWrite,
                )
                .map_err(|e| VmError::platform("cannot grow a linear memory", e))?;
            }
        }
        self.current_length = new_length;
        Ok(Some(old_pages))
    }

    /// Reserve at least `min_bytes` (and at least double the current
    /// reservation, up to the maximum), copy the contents there and
    /// release the old reservation.
    fn move_to_larger_reservation(&mut self, min_bytes: usize) -> Result<(), VmError> {
        debug_assert!(self.movable);
        let page = sys::page_size();
        let max_bytes = self
            .maximum_pages
            .checked_shl(u32::from(self.page_size_log2))
            .filter(|b| b >> self.page_size_log2 == self.maximum_pages)
            .and_then(|b| usize::try_from(b).ok())
            .unwrap_or(usize::MAX);
        let new_reserved = self
            .reserved_bytes
            .saturating_mul(2)
            .min(max_bytes)
            .max(min_bytes)
            .checked_next_multiple_of(page)
            .ok_or_else(|| {
                VmError::ImplLimit("linear memory reservation exceeds the address space".into())
            })?;
        let new_base = sys::reserve(new_reserved)
            .map_err(|e| VmError::platform("cannot reserve a larger linear memory", e))?;
        // SAFETY: `new_base` is a fresh reservation of `new_reserved` bytes,
        // made accessible for the current length and filled from the old
        // memory, whose first `current_length` bytes are accessible (VM-2);
        // the two do not overlap. The old reservation is released only
        // once nothing refers to it: the owner updates its definition
        // before compiled code runs again.
        unsafe {
            if self.current_length > 0 {
                if let Err(e) = sys::protect(new_base, self.current_length, Access::ReadWrite) {
                    sys::release(new_base, new_reserved);
                    return Err(VmError::platform("cannot grow a linear memory", e));
                }
                core::ptr::copy_nonoverlapping(self.base, new_base, self.current_length);
            }
            sys::release(self.base, self.reserved_bytes);
        }
        self.base = new_base;
        self.reserved_bytes = new_reserved;
        Ok(())
    }

    /// Map `image` over the memory's initial contents, copy-on-write.
    ///
    /// # Errors
    ///
    /// [`VmError::ImplLimit`] if the image does not fit the memory's
    /// current length, [`VmError::Platform`] if the mapping fails.
    pub fn map_image(&mut self, image: &crate::MemoryImage) -> Result<(), VmError> {
        if image
            .offset()
            .checked_add(image.len())
            .is_none_or(|end| end > self.current_length)
        {
            return Err(VmError::ImplLimit(
                "a memory image does not fit its memory".into(),
            ));
        }
        // SAFETY: the image's range lies inside the accessible part of
        // this memory's reservation (checked above); the memory is not
        // shared yet, so nothing refers into it.
        unsafe { image.map_at(self.base)? };
        self.imaged = Some((image.id(), image.offset() + image.len()));
        Ok(())
    }

    /// Whether an image holds the initial contents
    /// ([`LinearMemory::map_image`]).
    pub fn is_imaged(&self) -> bool {
        self.imaged.is_some()
    }

    /// Current size in pages.
    pub fn size_pages(&self) -> u64 {
        self.current_length as u64 >> self.page_size_log2
    }

    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// Maximum size in pages.
    pub fn maximum_pages(&self) -> u64 {
        self.maximum_pages
    }

    /// Base address. Fixed memories never move (VM-2); a movable one may
    /// move when it grows.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// Accessible length in bytes.
    pub fn current_length(&self) -> usize {
        self.current_length
    }

    /// Bytes of address space this memory holds (its reservation,
    /// including any guard region).
    pub fn reserved_bytes(&self) -> usize {
        self.reserved_bytes
    }

    /// Whether [`grow`](Self::grow) may move the memory.
    pub fn is_movable(&self) -> bool {
        self.movable
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        match &self.pool {
            // SAFETY: the slot came from this pool; its first
            // `current_length` bytes were accessible, and nothing refers
            // into it once its owning instance is dropped.
            // (In whole host pages: with 1-byte wasm pages the accessible
            // part ends at the host page after the length.)
            Some(pool) => unsafe {
                let used = self.current_length.next_multiple_of(sys::page_size());
                pool.release_memory(self.base, used, self.imaged)
            },
            // SAFETY: the reservation was made in `new` (or by a move)
            // and nothing refers to it once its owning instance is
            // dropped.
            None => unsafe { sys::release(self.base, self.reserved_bytes) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_translate::{Limits, WASM_PAGE_SIZE};

    fn ty(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType::new(Limits { min, max })
    }

    #[test]
    fn grows_within_maximum() {
        let mut m = LinearMemory::new(&ty(1, Some(3)), &MemoryTunables::default()).unwrap();
        assert_eq!(m.size_pages(), 1);
        assert_eq!(m.grow(2).unwrap(), Some(1));
        assert_eq!(m.grow(1).unwrap(), None);
        assert_eq!(m.size_pages(), 3);
        // SAFETY: three pages are committed.
        unsafe { m.base().add(3 * WASM_PAGE_SIZE as usize - 1).write(7) };
        assert!(matches!(
            LinearMemory::new(&ty(2, Some(1)), &MemoryTunables::default()),
            Err(VmError::InvalidLimits(_))
        ));
    }

    fn explicit() -> MemoryTunables {
        MemoryTunables {
            signals_based_traps: false,
            ..MemoryTunables::default()
        }
    }

    /// Issue 10 / item 4: without signals-based traps a memory with no
    /// maximum holds only what it uses, and growing keeps its contents.
    #[test]
    fn explicit_memories_hold_only_what_they_use() {
        let mut m = LinearMemory::new(&ty(1, None), &explicit()).unwrap();
        assert!(m.is_movable());
        assert_eq!(m.reserved_bytes(), WASM_PAGE_SIZE as usize);
        // SAFETY: one page is committed.
        unsafe { m.base().add(100).write(42) };
        for _ in 0..20 {
            assert!(m.grow(1).unwrap().is_some());
        }
        assert_eq!(m.size_pages(), 21);
        // Doubling: 1 -> 2 -> 4 -> 8 -> 16 -> 32 pages.
        assert_eq!(m.reserved_bytes(), 32 * WASM_PAGE_SIZE as usize);
        // SAFETY: 21 pages are committed.
        unsafe {
            assert_eq!(m.base().add(100).read(), 42);
            m.base().add(21 * WASM_PAGE_SIZE as usize - 1).write(1);
        }
        // With a declared maximum the memory reserves it and never moves.
        let fixed = LinearMemory::new(&ty(1, Some(4)), &explicit()).unwrap();
        assert!(!fixed.is_movable());
        assert_eq!(fixed.reserved_bytes(), 4 * WASM_PAGE_SIZE as usize);
        // No 4 GiB reservation for a memory with no maximum.
        let empty = LinearMemory::new(&ty(0, None), &explicit()).unwrap();
        assert!(empty.reserved_bytes() <= 4096);
    }

    /// Issue 10 ("Lost causes"): a failed commit keeps the OS error as the
    /// error's source.
    #[test]
    fn platform_errors_keep_their_source() {
        let e = VmError::platform(
            "cannot commit the initial pages of a linear memory",
            keel_trap::PlatformError::with_source("mprotect", FakeOsError),
        );
        let source = core::error::Error::source(&e).unwrap();
        assert!(core::error::Error::source(source).is_some());
        assert_eq!(
            format!("{e}"),
            "cannot commit the initial pages of a linear memory"
        );
    }

    #[derive(Debug)]
    struct FakeOsError;
    impl core::fmt::Display for FakeOsError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("Cannot allocate memory (os error 12)")
        }
    }
    impl core::error::Error for FakeOsError {}
}
