//! The pooling instance allocator ([`InstancePool`]): linear-memory
//! reservations and table arrays made once and reused by instance after
//! instance, under fixed limits, as Wasmtime's pooling allocator. A
//! memory returned to the pool is reset (its pages given back and zeroed,
//! `madvise(MADV_DONTNEED)` when hosted) but keeps its address space, so
//! instantiation skips the reservation and release system calls; nothing
//! one instance wrote is visible to the next.

use crate::{VmError, sys};
use alloc::format;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use keel_translate::{MemoryTunables, WASM_PAGE_SIZE, WASM32_MAX_PAGES};

/// The pool's limits (keel's `PoolingAllocationConfig`).
#[derive(Clone, Debug)]
pub struct PoolLimits {
    /// Instances alive at once.
    pub total_core_instances: u32,
    /// Linear memories alive at once.
    pub total_memories: u32,
    /// Tables alive at once.
    pub total_tables: u32,
    /// Bytes each memory may grow to.
    pub max_memory_size: u64,
    /// Elements each table may grow to.
    pub table_elements: u64,
    /// Memories one module may define.
    pub max_memories_per_module: u32,
    /// Tables one module may define.
    pub max_tables_per_module: u32,
}

/// Slots of one kind: free ones to reuse and how many exist.
struct Slots<T> {
    free: Vec<T>,
    created: u32,
}

/// Shared by an engine's stores; the memories, tables and instances it
/// hands out hold it (an `Arc`) until they are dropped.
pub struct InstancePool {
    limits: PoolLimits,
    /// Bytes reserved per memory slot (guard region included).
    memory_slot_bytes: usize,
    /// Free memory slots: base address and the image it still holds (its
    /// id and end offset; id 0: none, all zero).
    memories: spin::Mutex<Slots<(usize, u64, usize)>>,
    tables: spin::Mutex<Slots<usize>>,
    instances: AtomicU32,
}

impl core::fmt::Debug for InstancePool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InstancePool")
            .field("limits", &self.limits)
            .field("memory_slot_bytes", &self.memory_slot_bytes)
            .finish_non_exhaustive()
    }
}

// SAFETY: the slot addresses are plain integers naming reservations and
// allocations the pool owns; the lists are behind locks.
unsafe impl Send for InstancePool {}
// SAFETY: as above.
unsafe impl Sync for InstancePool {}

impl InstancePool {
    /// A pool with `limits` for memories laid out as `tunables` says:
    /// each memory slot reserves what an on-demand memory of
    /// `max_memory_size` bytes would (with guard pages, at least
    /// [`MemoryTunables::reservation_bytes`] plus the guard region).
    ///
    /// # Errors
    ///
    /// [`VmError::InvalidLimits`] if `max_memory_size` exceeds 4 GiB or
    /// `table_elements` keel's table limit.
    pub fn new(limits: PoolLimits, tunables: &MemoryTunables) -> Result<Self, VmError> {
        if limits.max_memory_size > WASM32_MAX_PAGES * WASM_PAGE_SIZE {
            return Err(VmError::InvalidLimits(format!(
                "pooling max_memory_size of {} bytes exceeds 4 GiB",
                limits.max_memory_size
            )));
        }
        if limits.table_elements > crate::MAX_TABLE_ELEMENTS {
            return Err(VmError::InvalidLimits(format!(
                "pooling table_elements of {} exceeds keel's limit of {}",
                limits.table_elements,
                crate::MAX_TABLE_ELEMENTS
            )));
        }
        let max = limits.max_memory_size.next_multiple_of(WASM_PAGE_SIZE);
        let bytes = if tunables.signals_based_traps {
            max.max(tunables.reservation_bytes)
                .saturating_add(tunables.guard_bytes)
        } else {
            max
        };
        let page = sys::page_size();
        let memory_slot_bytes = usize::try_from(bytes)
            .map_err(|_| VmError::ImplLimit("pooled memory slot exceeds the address space".into()))?
            .max(page)
            .next_multiple_of(page);
        Ok(Self {
            limits,
            memory_slot_bytes,
            memories: spin::Mutex::new(Slots {
                free: Vec::new(),
                created: 0,
            }),
            tables: spin::Mutex::new(Slots {
                free: Vec::new(),
                created: 0,
            }),
            instances: AtomicU32::new(0),
        })
    }

    /// The pool's limits.
    pub fn limits(&self) -> &PoolLimits {
        &self.limits
    }

    /// Bytes of address space each memory slot reserves.
    pub fn memory_slot_bytes(&self) -> usize {
        self.memory_slot_bytes
    }

    /// Count one more live instance that defines `memories` memories and
    /// `tables` tables.
    ///
    /// # Errors
    ///
    /// [`VmError::ImplLimit`] naming the limit that refuses it.
    pub(crate) fn acquire_instance(&self, memories: usize, tables: usize) -> Result<(), VmError> {
        if memories > self.limits.max_memories_per_module as usize {
            return Err(VmError::ImplLimit(format!(
                "the module defines {memories} memories, more than the pooling allocator's \
                 max_memories_per_module of {}",
                self.limits.max_memories_per_module
            )));
        }
        if tables > self.limits.max_tables_per_module as usize {
            return Err(VmError::ImplLimit(format!(
                "the module defines {tables} tables, more than the pooling allocator's \
                 max_tables_per_module of {}",
                self.limits.max_tables_per_module
            )));
        }
        let limit = self.limits.total_core_instances;
        self.instances
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| {
                VmError::ImplLimit(format!(
                    "all {limit} instances of the pooling allocator are in use \
                     (total_core_instances)"
                ))
            })
    }

    /// An instance counted by [`InstancePool::acquire_instance`] is gone.
    pub(crate) fn release_instance(&self) {
        self.instances.fetch_sub(1, Ordering::AcqRel);
    }

    /// A memory slot: the base of a reservation of
    /// [`memory_slot_bytes`](Self::memory_slot_bytes), inaccessible, and
    /// whether it holds the image `image` (by id) already, so the caller
    /// need not map it. A slot that last held this image is preferred;
    /// one holding another image is reset to zeros first.
    pub(crate) fn acquire_memory(&self, image: Option<u64>) -> Result<(*mut u8, bool), VmError> {
        let stale = {
            let mut slots = self.memories.lock();
            let same = image.and_then(|id| slots.free.iter().rposition(|s| s.1 == id));
            if let Some(i) = same {
                let (base, _, _) = slots.free.swap_remove(i);
                return Ok((base as *mut u8, true));
            }
            slots.free.pop()
        };
        if let Some((base, id, end)) = stale {
            if id == 0 {
                return Ok((base as *mut u8, false));
            }
            // Another module's image: back to zeros.
            let cleared = match (sys::platform(), NonNull::new(base as *mut u8)) {
                // SAFETY: the image's range lies in the free slot's
                // reservation, inaccessible and unreferenced.
                (Ok(p), Some(addr)) => unsafe { p.decommit(addr, end, true) }.is_ok(),
                _ => false,
            };
            if cleared {
                return Ok((base as *mut u8, false));
            }
            // SAFETY: the whole reservation of a free slot, unreferenced.
            unsafe { sys::release(base as *mut u8, self.memory_slot_bytes) };
            self.memories.lock().created -= 1;
        }
        {
            let mut slots = self.memories.lock();
            if slots.created >= self.limits.total_memories {
                return Err(VmError::ImplLimit(format!(
                    "all {} memories of the pooling allocator are in use (total_memories)",
                    self.limits.total_memories
                )));
            }
            slots.created += 1;
        }
        sys::reserve(self.memory_slot_bytes)
            .map(|base| (base, false))
            .map_err(|e| {
                self.memories.lock().created -= 1;
                VmError::platform("cannot reserve a pooled linear memory", e)
            })
    }

    /// Give back memory slot `base`, whose first `used` bytes were
    /// accessible and which holds `image` (id, end offset) if any: they
    /// are reset for the next instance, to the image's bytes when the
    /// platform can (that instance, if of the same module, then needs no
    /// mapping) and otherwise to zeros, all inaccessible; the slot is
    /// released if that fails.
    ///
    /// # Safety
    ///
    /// `base` came from [`InstancePool::acquire_memory`] and nothing
    /// refers into it any more.
    pub(crate) unsafe fn release_memory(
        &self,
        base: *mut u8,
        used: usize,
        image: Option<(u64, usize)>,
    ) {
        let mut kept = (0, 0);
        let reset = match (sys::platform(), NonNull::new(base)) {
            (Ok(p), Some(addr)) if used > 0 => {
                // SAFETY: the range is the slot's accessible part, in its
                // reservation, unreferenced (caller's contract); an image
                // is mapped at its start when `image` says so.
                unsafe {
                    match image {
                        Some((id, end)) if p.memory_image_reset(addr, used).is_ok() => {
                            kept = (id, end);
                            true
                        }
                        _ => p.decommit(addr, used, image.is_some()).is_ok(),
                    }
                }
            }
            (Ok(_), Some(_)) => true,
            _ => false,
        };
        let mut slots = self.memories.lock();
        if reset {
            slots.free.push((base as usize, kept.0, kept.1));
        } else {
            slots.created -= 1;
            drop(slots);
            // SAFETY: the whole reservation, unreferenced.
            unsafe { sys::release(base, self.memory_slot_bytes) };
        }
    }

    /// A table slot: an array of [`PoolLimits::table_elements`] null
    /// elements.
    pub(crate) fn acquire_table(&self) -> Result<NonNull<*const crate::VMFuncRef>, VmError> {
        {
            let mut slots = self.tables.lock();
            if let Some(base) = slots.free.pop() {
                // SAFETY: free slots are non-null allocations.
                return Ok(unsafe { NonNull::new_unchecked(base as *mut _) });
            }
            if slots.created >= self.limits.total_tables {
                return Err(VmError::ImplLimit(format!(
                    "all {} tables of the pooling allocator are in use (total_tables)",
                    self.limits.total_tables
                )));
            }
            slots.created += 1;
        }
        crate::table::alloc_slots(self.table_elements_usize()).inspect_err(|_| {
            self.tables.lock().created -= 1;
        })
    }

    /// Give back table slot `base`, whose first `used` elements were
    /// written: they are zeroed for the next instance.
    ///
    /// # Safety
    ///
    /// `base` came from [`InstancePool::acquire_table`] and nothing refers
    /// into it any more; `used` is at most the slot's length.
    pub(crate) unsafe fn release_table(&self, base: NonNull<*const crate::VMFuncRef>, used: usize) {
        // SAFETY: `used` elements of the slot (caller's contract).
        unsafe { core::ptr::write_bytes(base.as_ptr(), 0, used) };
        self.tables.lock().free.push(base.as_ptr() as usize);
    }

    /// [`PoolLimits::table_elements`] as a length.
    pub(crate) fn table_elements_usize(&self) -> usize {
        // At most MAX_TABLE_ELEMENTS (checked in `new`).
        self.limits.table_elements as usize
    }
}

impl Drop for InstancePool {
    fn drop(&mut self) {
        // Only free slots remain: live ones hold the pool.
        for (base, _, _) in self.memories.get_mut().free.drain(..) {
            // SAFETY: a whole slot reservation nothing uses.
            unsafe { sys::release(base as *mut u8, self.memory_slot_bytes) };
        }
        let elements = self.table_elements_usize();
        for base in self.tables.get_mut().free.drain(..) {
            // SAFETY: allocated by `alloc_slots(elements)`, unused.
            unsafe { crate::table::free_slots(base as *mut _, elements) };
        }
    }
}
