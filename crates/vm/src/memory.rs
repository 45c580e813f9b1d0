//! Linear memories (spec §4.2.8 "Memory Instances").

use crate::sys;
use alloc::format;
use alloc::string::{String, ToString};
use keel_translate::{MemoryTunables, WASM_PAGE_SIZE, WASM32_MAX_PAGES};
use keel_trap::Access;

/// A 32-bit linear memory: a reservation of at least its maximum size,
/// followed by a guard region, whose first `current_length` bytes are
/// accessible (VM-2).
#[derive(Debug)]
pub struct LinearMemory {
    base: *mut u8,
    reserved_bytes: usize,
    current_length: usize,
    maximum_pages: u64,
}

// SAFETY: the memory is plain bytes owned by this value; access is
// serialised by the owning store.
unsafe impl Send for LinearMemory {}

impl LinearMemory {
    /// A memory of `minimum_pages`, growable to `maximum_pages` (or 4 GiB),
    /// laid out as `tunables` says: the reservation is the larger of
    /// `tunables.reservation_bytes` and the maximum size, and
    /// `tunables.guard_bytes` of inaccessible space follow it.
    ///
    /// # Errors
    ///
    /// A message if the minimum exceeds the maximum or 4 GiB, or the OS
    /// refuses the reservation.
    pub fn new(
        minimum_pages: u64,
        maximum_pages: Option<u64>,
        tunables: &MemoryTunables,
    ) -> Result<Self, String> {
        let maximum_pages = maximum_pages
            .unwrap_or(WASM32_MAX_PAGES)
            .min(WASM32_MAX_PAGES);
        if minimum_pages > maximum_pages {
            return Err(format!(
                "memory minimum of {minimum_pages} pages exceeds the maximum of {maximum_pages} pages"
            ));
        }
        let maximum_bytes = maximum_pages * WASM_PAGE_SIZE;
        let reserved_bytes = maximum_bytes
            .max(if tunables.signals_based_traps {
                tunables.reservation_bytes
            } else {
                0
            })
            .checked_add(if tunables.signals_based_traps {
                tunables.guard_bytes
            } else {
                0
            })
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| "linear memory reservation exceeds the address space".to_string())?
            .max(sys::page_size())
            .next_multiple_of(sys::page_size());
        let base = sys::reserve(reserved_bytes)
            .map_err(|e| format!("cannot reserve a linear memory: {e}"))?;
        let mut memory = Self {
            base,
            reserved_bytes,
            current_length: 0,
            maximum_pages,
        };
        memory
            .grow(minimum_pages)
            .ok_or_else(|| "cannot commit the initial pages of a linear memory".to_string())?;
        Ok(memory)
    }

    /// Grow by `delta_pages`; the old size in pages, or `None` if the
    /// result would exceed the maximum (spec §4.4.7 `memory.grow`).
    pub fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        let old_pages = self.size_pages();
        let new_pages = old_pages.checked_add(delta_pages)?;
        if new_pages > self.maximum_pages {
            return None;
        }
        let new_length = usize::try_from(new_pages * WASM_PAGE_SIZE).ok()?;
        if new_length > self.current_length {
            // SAFETY: the range lies inside our reservation (new_length <=
            // maximum bytes <= reserved_bytes) and only gains access.
            unsafe {
                sys::protect(
                    self.base.add(self.current_length),
                    new_length - self.current_length,
                    Access::ReadWrite,
                )
                .ok()?;
            }
        }
        self.current_length = new_length;
        Some(old_pages)
    }

    /// Current size in pages.
    pub fn size_pages(&self) -> u64 {
        self.current_length as u64 / WASM_PAGE_SIZE
    }

    /// Maximum size in pages.
    pub fn maximum_pages(&self) -> u64 {
        self.maximum_pages
    }

    /// Base address (never changes, VM-2).
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// Accessible length in bytes.
    pub fn current_length(&self) -> usize {
        self.current_length
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // SAFETY: the reservation was made in `new` and nothing refers to
        // it once its owning instance is dropped.
        unsafe { sys::release(self.base, self.reserved_bytes) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_maximum() {
        let mut m = LinearMemory::new(1, Some(3), &MemoryTunables::default()).unwrap();
        assert_eq!(m.size_pages(), 1);
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.size_pages(), 3);
        // SAFETY: three pages are committed.
        unsafe { m.base().add(3 * WASM_PAGE_SIZE as usize - 1).write(7) };
        assert!(LinearMemory::new(2, Some(1), &MemoryTunables::default()).is_err());
    }
}
