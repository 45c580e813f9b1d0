//! Where a [`GcHeap`](crate::GcHeap)'s objects live ([`Space`]): small
//! objects in 64 KiB chunks of same-size slots with a free list per size
//! class, large ones in allocations of their own. Nothing moves; a
//! collection's sweep visits every slot, frees the dead ones, rebuilds
//! the free lists and gives empty chunks back to the allocator.

use crate::exception::VMExnObject;
use crate::gc::{MARKED, VMGcHeader};
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;
use keel_translate::gc_layout::{GC_ALIGN, vmgc_header};

/// Objects up to this many bytes live in chunks.
const SMALL_MAX: usize = 256;
/// Bytes per chunk.
const CHUNK_BYTES: usize = 64 << 10;
/// Slot sizes are multiples of this.
const GRANULE: usize = 8;
/// Size classes: class `k` has slots of `(k + 1) * GRANULE` bytes (the
/// first one is unused: a free slot needs 16 bytes for its header and
/// the next free slot's address).
const CLASSES: usize = SMALL_MAX / GRANULE;
/// The type id of a free slot's header.
const FREE_TYPE: u32 = u32::MAX - 2;
/// Offset of the next free slot's address in a free slot.
const NEXT_FREE: usize = 8;

/// A chunk of same-size slots.
#[derive(Debug)]
struct Chunk {
    base: NonNull<u8>,
    slot: usize,
}

/// The storage of one heap's objects.
#[derive(Debug)]
pub(crate) struct Space {
    chunks: Vec<Chunk>,
    /// The first free slot of each size class (null: none).
    free: [*mut u8; CLASSES],
    /// Objects past [`SMALL_MAX`] bytes, each its own allocation, and
    /// their sizes.
    large: Vec<(NonNull<VMGcHeader>, usize)>,
}

impl Default for Space {
    fn default() -> Self {
        Space {
            chunks: Vec::new(),
            free: [core::ptr::null_mut(); CLASSES],
            large: Vec::new(),
        }
    }
}

fn chunk_layout() -> Layout {
    Layout::from_size_align(CHUNK_BYTES, GC_ALIGN as usize).expect("a valid layout")
}

impl Space {
    /// The bytes an object of `size` bytes takes: its slot (at least 16
    /// bytes, a multiple of 8), or its own size when large.
    pub(crate) fn footprint(size: usize) -> usize {
        if size <= SMALL_MAX {
            size.next_multiple_of(GRANULE).max(2 * GRANULE)
        } else {
            size
        }
    }

    /// A zeroed block for an object of `size` bytes (16-byte aligned when
    /// `size` is a multiple of 16), and for a large object its position
    /// in the large list (`usize::MAX` for a small one); `None` when the
    /// allocator refuses.
    pub(crate) fn alloc(&mut self, size: usize) -> Option<(NonNull<u8>, usize)> {
        if size > SMALL_MAX {
            let layout = Layout::from_size_align(size, GC_ALIGN as usize).ok()?;
            self.large.try_reserve(1).ok()?;
            // SAFETY: a non-zero size.
            let obj = NonNull::new(unsafe { alloc::alloc::alloc_zeroed(layout) })?;
            self.large.push((obj.cast(), size));
            return Some((obj, self.large.len() - 1));
        }
        let slot = Self::footprint(size);
        let class = slot / GRANULE - 1;
        if self.free[class].is_null() {
            self.new_chunk(slot)?;
        }
        let obj = self.free[class];
        // SAFETY: a free slot of this class holds the next one's address;
        // zeroing the whole slot stays inside it.
        unsafe {
            self.free[class] = *obj.add(NEXT_FREE).cast::<*mut u8>();
            obj.write_bytes(0, slot);
        }
        Some((NonNull::new(obj)?, usize::MAX))
    }

    /// Add a chunk of `slot`-byte slots, all free.
    fn new_chunk(&mut self, slot: usize) -> Option<()> {
        self.chunks.try_reserve(1).ok()?;
        // SAFETY: a non-zero size.
        let base = NonNull::new(unsafe { alloc::alloc::alloc(chunk_layout()) })?;
        self.chunks.push(Chunk { base, slot });
        let class = slot / GRANULE - 1;
        for i in (0..CHUNK_BYTES / slot).rev() {
            // SAFETY: slot `i` lies inside the chunk.
            unsafe { self.push_free(base.as_ptr().add(i * slot), class) };
        }
        Some(())
    }

    /// Put the slot at `at` on class `class`'s free list.
    ///
    /// # Safety
    ///
    /// `at` must be a slot of a chunk of this class that no object uses.
    unsafe fn push_free(&mut self, at: *mut u8, class: usize) {
        // SAFETY: per the contract; a slot has at least 16 bytes.
        unsafe {
            at.cast::<VMGcHeader>().write(VMGcHeader {
                ty: FREE_TYPE,
                flags: 0,
            });
            at.add(NEXT_FREE).cast::<*mut u8>().write(self.free[class]);
        }
        self.free[class] = at;
    }

    /// Free the small object at `obj`, of `size` bytes, now.
    ///
    /// # Safety
    ///
    /// `obj` must be a live small object of this space of that size that
    /// nothing refers to, with nothing left to drop.
    pub(crate) unsafe fn free_small(&mut self, obj: NonNull<u8>, size: usize) {
        let class = Self::footprint(size) / GRANULE - 1;
        // SAFETY: per the contract.
        unsafe { self.push_free(obj.as_ptr(), class) };
    }

    /// Free the large object at position `index`; the object moved into
    /// its position (an exception has its position updated).
    ///
    /// # Safety
    ///
    /// Nothing may refer to the object, with nothing left to drop.
    pub(crate) unsafe fn free_large(&mut self, index: usize) {
        let (obj, size) = self.large.swap_remove(index);
        if let Some((moved, _)) = self.large.get(index)
            // SAFETY: listed objects are live.
            && unsafe { moved.as_ref().ty } == vmgc_header::EXN_TYPE
        {
            // SAFETY: a live exception object.
            unsafe { VMExnObject::set_index(moved.as_ptr().cast(), index) };
        }
        let layout = Layout::from_size_align(size, GC_ALIGN as usize).expect("valid at allocation");
        // SAFETY: allocated by `alloc` with this layout, freed once.
        unsafe { alloc::alloc::dealloc(obj.as_ptr().cast(), layout) };
    }

    /// The large object at position `index`, if any.
    pub(crate) fn large_at(&self, index: usize) -> Option<NonNull<VMGcHeader>> {
        self.large.get(index).map(|(o, _)| *o)
    }

    /// Call `f` with every object.
    pub(crate) fn for_each(&self, mut f: impl FnMut(NonNull<VMGcHeader>)) {
        for chunk in &self.chunks {
            for i in 0..CHUNK_BYTES / chunk.slot {
                // SAFETY: slot `i` lies inside the chunk; every slot holds
                // an object or a free slot, each with a header.
                let obj = unsafe { chunk.base.add(i * chunk.slot).cast::<VMGcHeader>() };
                // SAFETY: as above.
                if unsafe { obj.as_ref().ty } != FREE_TYPE {
                    f(obj);
                }
            }
        }
        for (obj, _) in &self.large {
            f(*obj);
        }
    }

    /// Sweep: clear the mark of every marked object; call `dead` with
    /// every other one and its footprint, then free it. Rebuilds the free
    /// lists and frees chunks left empty.
    ///
    /// # Safety
    ///
    /// Nothing may refer to an unmarked object any more; `dead` must
    /// leave nothing of the object to drop once it returns.
    pub(crate) unsafe fn sweep(&mut self, mut dead: impl FnMut(NonNull<VMGcHeader>, usize)) {
        self.free = [core::ptr::null_mut(); CLASSES];
        let mut kept = 0;
        for c in 0..self.chunks.len() {
            let (base, slot) = (self.chunks[c].base, self.chunks[c].slot);
            let slots = CHUNK_BYTES / slot;
            let mut live = 0;
            for i in 0..slots {
                // SAFETY: slot `i` lies inside the chunk, with a header.
                let header = unsafe { &mut *base.as_ptr().add(i * slot).cast::<VMGcHeader>() };
                if header.ty == FREE_TYPE {
                    continue;
                }
                if header.flags & MARKED != 0 {
                    header.flags &= !MARKED;
                    live += 1;
                } else {
                    dead(NonNull::from(&mut *header), slot);
                    header.ty = FREE_TYPE;
                }
            }
            if live == 0 {
                // SAFETY: allocated by `new_chunk`; no object is left in
                // it and its slots are on no free list (rebuilt here).
                unsafe { alloc::alloc::dealloc(base.as_ptr(), chunk_layout()) };
                continue;
            }
            let class = slot / GRANULE - 1;
            for i in (0..slots).rev() {
                // SAFETY: slot `i` lies inside the chunk.
                let at = unsafe { base.as_ptr().add(i * slot) };
                // SAFETY: as above; a free slot is no object's.
                if unsafe { (*at.cast::<VMGcHeader>()).ty } == FREE_TYPE {
                    // SAFETY: as above.
                    unsafe { self.push_free(at, class) };
                }
            }
            self.chunks.swap(kept, c);
            kept += 1;
        }
        self.chunks.truncate(kept);
        let mut i = 0;
        while i < self.large.len() {
            let (obj, size) = self.large[i];
            // SAFETY: listed objects are live.
            let header = unsafe { &mut *obj.as_ptr() };
            if header.flags & MARKED != 0 {
                header.flags &= !MARKED;
                i += 1;
            } else {
                dead(obj, size);
                // SAFETY: no root reaches it; the last object moves to
                // `i`, which is examined next.
                unsafe { self.free_large(i) };
            }
        }
    }

    /// Whether an object of `size` bytes is small (lives in a chunk).
    pub(crate) fn is_small(size: usize) -> bool {
        size <= SMALL_MAX
    }
}

impl Drop for Space {
    fn drop(&mut self) {
        for chunk in self.chunks.drain(..) {
            // SAFETY: allocated by `new_chunk`, freed once (the heap has
            // dropped what its objects owned).
            unsafe { alloc::alloc::dealloc(chunk.base.as_ptr(), chunk_layout()) };
        }
        while !self.large.is_empty() {
            // SAFETY: the heap is gone: nothing refers to the objects.
            unsafe { self.free_large(self.large.len() - 1) };
        }
    }
}
