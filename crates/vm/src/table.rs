//! Tables ([Table Instances](https://webassembly.github.io/spec/core/exec/runtime.html#table-instances)):
//! arrays of reference slots (`*const VMFuncRef` for funcref tables, the
//! raw extern reference for externref tables; null is 0).
//!
//! Slots come from the allocator's zeroing allocation
//! (`alloc_zeroed`), which hosted allocators satisfy for large sizes with
//! fresh, lazily zeroed pages: a table declared with millions of null
//! elements costs address space, not memory, until it is written.

use crate::table_image::LazyTable;
use crate::{VMFuncRef, VmError};
use alloc::format;
use core::alloc::Layout;
use core::ptr::NonNull;
use keel_translate::limits::MAX_TABLE_ELEMENTS;

type Slot = *const VMFuncRef;

/// A table's slots: `len` initialised slots in an allocation of
/// `capacity` (all initialised: zero is null).
#[derive(Debug)]
pub struct Table {
    base: NonNull<Slot>,
    len: usize,
    capacity: usize,
    /// The pool the slots came from (their capacity is then the pool's
    /// `table_elements`, and they go back to it on drop).
    pool: Option<alloc::sync::Arc<crate::InstancePool>>,
    /// The slots still to be initialized from the module's table image
    /// (see [`crate::TableImage`]), if it has one.
    lazy: Option<LazyTable>,
}

// SAFETY: the slots are plain pointer-sized values owned by this table;
// access is serialised by the owning store (VM-5).
unsafe impl Send for Table {}
// SAFETY: `&Table` only reads its own fields (VM-5).
unsafe impl Sync for Table {}

/// Free `capacity` slots allocated by [`alloc_slots`].
///
/// # Safety
///
/// `base` came from `alloc_slots(capacity)` and is freed once.
pub(crate) unsafe fn free_slots(base: *mut Slot, capacity: usize) {
    if capacity != 0 {
        // SAFETY: allocated by `alloc_slots(capacity)` with this layout.
        unsafe {
            alloc::alloc::dealloc(
                base.cast(),
                Layout::array::<Slot>(capacity).unwrap_unchecked(),
            )
        };
    }
}

/// Allocate `capacity` zeroed slots.
pub(crate) fn alloc_slots(capacity: usize) -> Result<NonNull<Slot>, VmError> {
    if capacity == 0 {
        return Ok(NonNull::dangling());
    }
    let layout = Layout::array::<Slot>(capacity).map_err(|_| VmError::OutOfMemory {
        what: "a table",
        bytes: usize::MAX,
    })?;
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc::alloc_zeroed(layout) };
    NonNull::new(p.cast()).ok_or(VmError::OutOfMemory {
        what: "a table",
        bytes: layout.size(),
    })
}

impl Table {
    /// A table of `elements` null slots.
    ///
    /// # Errors
    ///
    /// [`VmError::ImplLimit`] past [`MAX_TABLE_ELEMENTS`],
    /// [`VmError::OutOfMemory`] when the allocator refuses.
    pub fn new(elements: u64) -> Result<Self, VmError> {
        if elements > MAX_TABLE_ELEMENTS {
            return Err(VmError::ImplLimit(format!(
                "a table of {elements} elements exceeds keel's limit of {MAX_TABLE_ELEMENTS} elements"
            )));
        }
        let len = elements as usize;
        Ok(Self {
            base: alloc_slots(len)?,
            len,
            capacity: len,
            pool: None,
            lazy: None,
        })
    }

    /// A table of `elements` null slots in a slot of `pool`, which it may
    /// grow within (to the pool's `table_elements`) and goes back to when
    /// dropped.
    ///
    /// # Errors
    ///
    /// [`VmError::ImplLimit`] past the pool's `table_elements` or when all
    /// its tables are in use.
    pub fn new_pooled(
        elements: u64,
        pool: &alloc::sync::Arc<crate::InstancePool>,
    ) -> Result<Self, VmError> {
        let capacity = pool.table_elements_usize();
        if elements > capacity as u64 {
            return Err(VmError::ImplLimit(format!(
                "a table of {elements} elements exceeds the pooling allocator's \
                 table_elements of {capacity}"
            )));
        }
        Ok(Self {
            base: pool.acquire_table()?,
            len: elements as usize,
            capacity,
            pool: Some(pool.clone()),
            lazy: None,
        })
    }

    /// Leave the slots of `image` zero and pending: each is initialized
    /// when first read (see [`crate::TableImage`]). The image must lie
    /// within the table's length.
    pub(crate) fn set_lazy(&mut self, image: alloc::sync::Arc<crate::TableImage>) {
        debug_assert!(image.len() <= self.len);
        self.lazy = Some(LazyTable::new(image));
    }

    /// The pending slots, if the table is lazily initialized.
    #[inline]
    pub(crate) fn lazy_mut(&mut self) -> Option<&mut LazyTable> {
        self.lazy.as_mut()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first slot (raw pointer for the `VMTableDefinition`); valid
    /// until the table grows.
    pub fn base(&self) -> *mut Slot {
        self.base.as_ptr()
    }

    /// Grow by `delta` elements set to `init`: the old length, or `None`
    /// when the new length would exceed `maximum` (and
    /// [`MAX_TABLE_ELEMENTS`]) or memory runs out
    /// ([`table.grow`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-table-grow)
    /// then returns -1). May move the slots: the owner updates its
    /// definition.
    pub fn grow(&mut self, delta: u64, init: Slot, maximum: u64) -> Option<usize> {
        let old = self.len;
        let new = (old as u64).checked_add(delta)?;
        if new > maximum.min(MAX_TABLE_ELEMENTS) {
            return None;
        }
        let new = usize::try_from(new).ok()?;
        if new > self.capacity && self.pool.is_some() {
            // A pooled table never leaves its slot.
            return None;
        }
        if new > self.capacity {
            // At least double (amortised growth), within the limit.
            let capacity = new.max(
                self.capacity
                    .saturating_mul(2)
                    .min(MAX_TABLE_ELEMENTS as usize),
            );
            let base = alloc_slots(capacity).ok()?;
            // SAFETY: both allocations hold at least `old` slots and do not
            // overlap; the old one is freed with the layout it was
            // allocated with.
            unsafe {
                core::ptr::copy_nonoverlapping(self.base.as_ptr(), base.as_ptr(), old);
                self.free();
            }
            self.base = base;
            self.capacity = capacity;
        }
        if !init.is_null() {
            // SAFETY: slots `old..new` are inside the allocation
            // (`new <= capacity`).
            unsafe { core::slice::from_raw_parts_mut(self.base.as_ptr().add(old), new - old) }
                .fill(init);
        }
        self.len = new;
        Some(old)
    }

    /// Free the allocation.
    ///
    /// # Safety
    ///
    /// Called once, then `base` is replaced or never used again.
    unsafe fn free(&mut self) {
        match &self.pool {
            // SAFETY: the slot came from this pool; `len` elements of it
            // were in use and nothing refers to them any more.
            Some(pool) => unsafe { pool.release_table(self.base, self.len) },
            // SAFETY: allocated by `alloc_slots(capacity)`, freed once.
            None => unsafe { free_slots(self.base.as_ptr(), self.capacity) },
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: dropped once; nothing refers to the slots once the owning
        // instance is dropped.
        unsafe { self.free() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_keeps_contents() {
        let mut t = Table::new(2).unwrap();
        let marker = 0x1000 as Slot;
        // SAFETY: two slots exist.
        unsafe { *t.base().add(1) = marker };
        assert_eq!(t.grow(3, 0x2000 as Slot, 10), Some(2));
        assert_eq!(t.len(), 5);
        // SAFETY: five slots exist.
        unsafe {
            assert_eq!(*t.base().add(1), marker);
            assert_eq!(*t.base().add(4), 0x2000 as Slot);
        }
        assert_eq!(t.grow(6, core::ptr::null(), 10), None);
        assert_eq!(t.grow(0, core::ptr::null(), 5), Some(5));
    }

    #[test]
    fn limits() {
        assert!(matches!(
            Table::new(MAX_TABLE_ELEMENTS + 1),
            Err(VmError::ImplLimit(_))
        ));
        let mut t = Table::new(0).unwrap();
        assert_eq!(
            t.grow(MAX_TABLE_ELEMENTS + 1, core::ptr::null(), u64::MAX),
            None
        );
        assert!(t.is_empty());
    }
}
