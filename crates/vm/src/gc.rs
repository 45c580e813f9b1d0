//! A store's GC heap ([`GcHeap`]): every object a reference of the `any`
//! or `exn` hierarchy can point to (structs, arrays and exception
//! objects), collected by one non-moving mark-sweep collector with one
//! root set.
//!
//! Objects are laid out as [`keel_translate::gc_layout`] says: a
//! [`VMGcHeader`] (engine type id, flags), then fields at offsets known at
//! compile time. Small objects live in 64 KiB chunks of same-size slots
//! with a free list per size class, large ones in allocations of their
//! own, all from the global allocator (`alloc` only, so the heap works in
//! a kernel; see `gc_space.rs`). The heap's size is bounded
//! ([`GcHeap::set_limit`], grown on demand as the store's limiter
//! allows): an allocation past it after a collection fails, and compiled
//! code traps.

use crate::exception::{VMExnObject, VMTagDefinition};
use crate::gc_space::Space;
use crate::{ValRaw, VmError};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ptr::NonNull;
use keel_translate::gc_layout::{GcTypeLayout, array_size, is_gc_ref, vmgc_array, vmgc_header};
use keel_translate::{SharedTypeIndex, WasmValType};

/// The header every GC object starts with (see
/// [`vmgc_header`]).
#[repr(C)]
#[derive(Debug)]
pub struct VMGcHeader {
    /// The engine type id, or `EXN_TYPE` / `EXTERN_TYPE`.
    pub ty: u32,
    /// `STRUCT`/`ARRAY` and the collector's bits.
    pub flags: u32,
}

const _: () = {
    assert!(core::mem::offset_of!(VMGcHeader, ty) == vmgc_header::TYPE as usize);
    assert!(core::mem::offset_of!(VMGcHeader, flags) == vmgc_header::FLAGS as usize);
    assert!(core::mem::size_of::<VMGcHeader>() == vmgc_header::SIZE as usize);
};

/// A host value behind an `externref`: a GC object of type
/// `EXTERN_TYPE` that owns the host's data, dropped when the object is
/// collected.
#[repr(C, align(16))]
struct VMExternData {
    header: VMGcHeader,
    data: Box<dyn core::any::Any + Send + Sync>,
}

/// The size of a host-value object.
const EXTERN_SIZE: usize = core::mem::size_of::<VMExternData>();

impl GcHeap {
    /// The bytes an object holding a host value takes.
    pub const EXTERN_OBJECT_SIZE: usize = EXTERN_SIZE;
}

/// Reached from a root in the collection running now.
pub(crate) const MARKED: u32 = 1;
/// Held by the host: a root until the store drops.
pub(crate) const PINNED: u32 = 2;
/// An exception whose payload has reference fields (its tag type's entry
/// in `exn_ref_fields`).
pub(crate) const HAS_REFS: u32 = 4;

/// A collection runs once the heap has grown by at least this many bytes
/// since the last one.
const MIN_COLLECTION_BYTES: usize = 64 << 10;

/// Why a struct or array could not be allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcAllocError {
    /// The object would be larger than any object may be.
    TooLarge,
    /// The heap is full (its capacity; grow it, see
    /// [`GcHeap::growth_target`]), or the global allocator refused.
    OutOfMemory,
    /// The type is not a struct or array type registered with the heap.
    UnknownType,
}

/// The GC objects of one store.
///
/// The roots of a collection ([`GcHeap::collect`]) are the references in
/// wasm frames (from the stack maps compiled code records at each call),
/// in globals and tables, those the host holds ([`GcHeap::pin`]) and
/// exceptions that never became values. An exception that never became
/// an `exnref` value (see [`vmexn_object::ESCAPED`](keel_translate::vmexn_object::ESCAPED))
/// is referred to only by its throw, and the `catch` that handles it
/// frees it at once ([`GcHeap::release`]). Objects never move.
#[derive(Debug)]
pub struct GcHeap {
    space: Space,
    /// The number of objects.
    count: usize,
    /// Their footprint in bytes (see `Space::footprint`).
    bytes: usize,
    /// The bytes the objects may take now: the heap's size as the
    /// store's resource limiter has allowed it, grown on demand
    /// ([`GcHeap::growth_target`]).
    capacity: usize,
    /// The most bytes the objects may ever take.
    limit: usize,
    /// Struct and array layouts by engine type id.
    layouts: hashbrown::HashMap<u32, GcTypeLayout>,
    /// The payload fields of exceptions that are references, by tag type
    /// (filled as objects of the type are allocated).
    exn_ref_fields: BTreeMap<SharedTypeIndex, Box<[u32]>>,
    /// Collect when `bytes` reaches this.
    next_collection: usize,
}

impl Default for GcHeap {
    fn default() -> Self {
        Self {
            space: Space::default(),
            count: 0,
            bytes: 0,
            capacity: 0,
            limit: usize::MAX,
            layouts: hashbrown::HashMap::new(),
            exn_ref_fields: BTreeMap::new(),
            next_collection: MIN_COLLECTION_BYTES,
        }
    }
}

// SAFETY: the heap owns its objects; their tag pointers are only compared
// and read under the store, which is `Send`.
unsafe impl Send for GcHeap {}
// SAFETY: as above; `&GcHeap` reads nothing through the pointers.
unsafe impl Sync for GcHeap {}

impl GcHeap {
    /// Bound the bytes the heap's objects may ever take (default: no
    /// bound but the allocator's).
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes;
    }

    /// The heap's limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The heap's current size in bytes: what its objects may take before
    /// it must grow.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The size the heap should grow to so that `size` more bytes fit:
    /// at least double, in steps of 1 MiB, at most the limit; `None` when
    /// even the limit is too small.
    pub fn growth_target(&self, size: usize) -> Option<usize> {
        let needed = self.bytes.checked_add(size).filter(|n| *n <= self.limit)?;
        let target = needed
            .max(self.capacity.saturating_mul(2))
            .max(MIN_COLLECTION_BYTES)
            .checked_next_multiple_of(1 << 20)
            .unwrap_or(usize::MAX);
        Some(target.min(self.limit))
    }

    /// Set the heap's size (after the store's limiter allowed it).
    pub fn set_capacity(&mut self, bytes: usize) {
        self.capacity = bytes.min(self.limit);
    }

    /// Record the layout of struct or array type `ty`; allocating objects
    /// of a type needs it. A type's layout never changes, so registering
    /// it again does nothing.
    pub fn register_type(&mut self, ty: SharedTypeIndex, layout: GcTypeLayout) {
        self.layouts.entry(ty.as_u32()).or_insert(layout);
    }

    /// Take `size` bytes, zeroed, with a header of type `ty` and flags
    /// `flags`; the object and, for a large one, its position in the
    /// large list.
    fn alloc_raw(
        &mut self,
        size: usize,
        ty: u32,
        flags: u32,
    ) -> Result<(NonNull<u8>, usize), GcAllocError> {
        let footprint = Space::footprint(size);
        if self.bytes.saturating_add(footprint) > self.capacity {
            return Err(GcAllocError::OutOfMemory);
        }
        let (obj, index) = self.space.alloc(size).ok_or(GcAllocError::OutOfMemory)?;
        // SAFETY: a fresh block of at least a header, aligned.
        unsafe {
            obj.cast::<VMGcHeader>()
                .as_ptr()
                .write(VMGcHeader { ty, flags })
        };
        self.count += 1;
        self.bytes += footprint;
        Ok((obj, index))
    }

    /// The bytes an object of struct or array type `ty` (with `len`
    /// elements) takes, or `None` for an unregistered type or an array
    /// larger than an object may be.
    pub fn object_size(&self, ty: SharedTypeIndex, len: u32) -> Option<usize> {
        match self.layouts.get(&ty.as_u32())? {
            GcTypeLayout::Struct { size, .. } => Some(*size as usize),
            GcTypeLayout::Array { elem_size, .. } => {
                array_size(*elem_size, len).map(|s| s as usize)
            }
        }
    }

    /// Whether `size` more bytes fit in the heap's current size.
    pub fn has_room(&self, size: usize) -> bool {
        self.bytes.saturating_add(Space::footprint(size)) <= self.capacity
    }

    /// Allocate a struct of type `ty`, its fields zero (the default
    /// values: 0 and null).
    ///
    /// # Errors
    ///
    /// [`GcAllocError`]: an unregistered or non-struct type, or no room.
    pub fn alloc_struct(&mut self, ty: SharedTypeIndex) -> Result<NonNull<u8>, GcAllocError> {
        match self.layouts.get(&ty.as_u32()) {
            Some(GcTypeLayout::Struct { size, .. }) => {
                let size = *size as usize;
                Ok(self.alloc_raw(size, ty.as_u32(), vmgc_header::STRUCT)?.0)
            }
            _ => Err(GcAllocError::UnknownType),
        }
    }

    /// Allocate an array of type `ty` with `len` elements, all zero.
    ///
    /// # Errors
    ///
    /// [`GcAllocError`]: an unregistered or non-array type, an array
    /// larger than an object may be, or no room.
    pub fn alloc_array(
        &mut self,
        ty: SharedTypeIndex,
        len: u32,
    ) -> Result<NonNull<u8>, GcAllocError> {
        let Some(GcTypeLayout::Array { elem_size, .. }) = self.layouts.get(&ty.as_u32()) else {
            return Err(GcAllocError::UnknownType);
        };
        let size = array_size(*elem_size, len).ok_or(GcAllocError::TooLarge)?;
        let (obj, _) = self.alloc_raw(size as usize, ty.as_u32(), vmgc_header::ARRAY)?;
        // SAFETY: a fresh array object, which has room for its length.
        unsafe {
            obj.as_ptr()
                .add(vmgc_array::LEN as usize)
                .cast::<u32>()
                .write(len)
        };
        Ok(obj)
    }

    /// Allocate an object holding host value `data`, the target of an
    /// `externref` the host made.
    ///
    /// # Errors
    ///
    /// [`GcAllocError::OutOfMemory`] past the heap's limit.
    pub fn alloc_extern(
        &mut self,
        data: Box<dyn core::any::Any + Send + Sync>,
    ) -> Result<NonNull<u8>, GcAllocError> {
        let (obj, _) = self.alloc_raw(EXTERN_SIZE, vmgc_header::EXTERN_TYPE, 0)?;
        // SAFETY: a fresh allocation of a `VMExternData`, its header
        // written.
        unsafe {
            let o = obj.cast::<VMExternData>().as_ptr();
            (&raw mut (*o).data).write(data);
        }
        Ok(obj)
    }

    /// The host value of an object `alloc_extern` made, or `None` for
    /// any other object (an `any` value made external).
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of a heap, and the returned reference
    /// not outlive it.
    pub unsafe fn extern_data<'a>(
        obj: NonNull<u8>,
    ) -> Option<&'a mut (dyn core::any::Any + Send + Sync)> {
        // SAFETY: per the contract.
        unsafe {
            if obj.cast::<VMGcHeader>().as_ref().ty != vmgc_header::EXTERN_TYPE {
                return None;
            }
            Some(&mut *(*obj.cast::<VMExternData>().as_ptr()).data)
        }
    }

    /// Allocate an exception of `tag` carrying `payload`, whose values
    /// have the parameter types `types` of the tag's type.
    ///
    /// # Errors
    ///
    /// [`VmError::OutOfMemory`] when the allocation fails.
    ///
    /// # Safety
    ///
    /// `tag` must be a tag definition that outlives the heap, and each
    /// non-null reference in `payload` a live object of this heap (or an
    /// `i31` or host value).
    pub unsafe fn alloc_exn(
        &mut self,
        tag: *const VMTagDefinition,
        payload: &[ValRaw],
        types: &[WasmValType],
    ) -> Result<NonNull<VMExnObject>, VmError> {
        let oom = |bytes| VmError::OutOfMemory {
            what: "an exception object",
            bytes,
        };
        let len = u32::try_from(payload.len()).map_err(|_| oom(usize::MAX))?;
        let size = VMExnObject::size(payload.len()).ok_or(oom(usize::MAX))?;
        let has_refs = types.iter().any(|t| is_gc_ref(*t));
        if has_refs {
            // SAFETY: `tag` is a live definition (the contract).
            let ty = unsafe { (*tag).type_index };
            self.exn_ref_fields.entry(ty).or_insert_with(|| {
                (0u32..)
                    .zip(types)
                    .filter(|(_, t)| is_gc_ref(**t))
                    .map(|(i, _)| i)
                    .collect()
            });
            // Exceptions in the payload are now reachable from another
            // one: they are values.
            // SAFETY: per the contract.
            unsafe { Self::mark_escaped_refs(payload, types) };
        }
        let flags = if has_refs { HAS_REFS } else { 0 };
        let (obj, index) = self
            .alloc_raw(size, vmgc_header::EXN_TYPE, flags)
            .map_err(|_| oom(size))?;
        let obj = obj.cast::<VMExnObject>();
        // SAFETY: a fresh allocation of the header plus `len` slots, its
        // header written.
        unsafe {
            VMExnObject::init(obj, tag, len, index);
            let first = obj.as_ptr().add(1).cast::<ValRaw>();
            core::ptr::copy_nonoverlapping(payload.as_ptr(), first, payload.len());
        }
        Ok(obj)
    }

    /// Mark `exn` as having become a value (its reference may now be
    /// anywhere): from here on only roots keep it alive, where before
    /// it lived until a `catch` released it.
    ///
    /// # Safety
    ///
    /// `exn` must be a live exception object of a heap.
    pub unsafe fn mark_escaped(exn: *mut VMExnObject) {
        // SAFETY: per the contract.
        unsafe { VMExnObject::set_escaped(exn) };
    }

    /// Mark every non-null exception among `values` (whose types are
    /// `types`) escaped: they are now reachable from another object.
    ///
    /// # Safety
    ///
    /// Each non-null `exnref` among `values` must be a live object.
    pub unsafe fn mark_escaped_refs(values: &[ValRaw], types: &[WasmValType]) {
        for (value, ty) in values.iter().zip(types) {
            if ty.is_exn_ref() && value.get_ptr() != 0 {
                // SAFETY: per the contract.
                unsafe { Self::mark_escaped(value.get_ptr() as *mut VMExnObject) };
            }
        }
    }

    /// Free `exn` if it never escaped: a handler that did not keep the
    /// reference has read its payload.
    ///
    /// # Safety
    ///
    /// `exn` must be a live exception object of this heap that nothing
    /// but the caught throw refers to unless it escaped.
    pub unsafe fn release(&mut self, exn: *mut VMExnObject) {
        // SAFETY: per the contract `exn` is live and ours.
        let (escaped, index, len) = unsafe { ((*exn).escaped(), (*exn).index(), (*exn).len()) };
        let Some(size) = VMExnObject::size(len as usize) else {
            return;
        };
        if escaped {
            return;
        }
        let obj = NonNull::new(exn.cast::<u8>()).expect("a live object");
        if Space::is_small(size) {
            // SAFETY: per the contract nothing else refers to it, and an
            // exception owns nothing to drop.
            unsafe { self.space.free_small(obj, size) };
        } else {
            if self.space.large_at(index).map(|o| o.as_ptr().cast()) != Some(exn) {
                return;
            }
            // SAFETY: as above.
            unsafe { self.space.free_large(index) };
        }
        self.count -= 1;
        self.bytes -= Space::footprint(size);
    }

    /// Keep `obj` alive as long as the heap: the host holds its
    /// reference, which nothing traces. An exception has escaped too.
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of a heap.
    pub unsafe fn pin(obj: *mut VMGcHeader) {
        // SAFETY: per the contract.
        unsafe {
            (*obj).flags |= PINNED;
            if (*obj).ty == vmgc_header::EXN_TYPE {
                VMExnObject::set_escaped(obj.cast());
            }
        }
    }

    /// Whether the next allocation should be preceded by a collection:
    /// the heap has grown past twice what the last one kept (and past
    /// the work the last one did); with the `gc-zeal` feature, whenever
    /// it is not empty.
    pub fn should_collect(&self) -> bool {
        if cfg!(feature = "gc-zeal") {
            return self.count != 0;
        }
        self.bytes >= self.next_collection
    }

    /// Skip the collection that is due (its roots cannot all be found):
    /// the next one waits until the heap has doubled again.
    pub fn defer_collection(&mut self) {
        self.next_collection = self.bytes.saturating_mul(2).max(MIN_COLLECTION_BYTES);
    }

    /// Mark-sweep: free every object no root reaches. The roots are those
    /// in `roots`, the pinned objects and the exceptions that never
    /// escaped; marking follows the reference fields of structs, arrays
    /// and exception payloads. The next collection waits until the heap
    /// has doubled, and at least as many bytes as `roots` looked at
    /// places, so that its cost stays proportional to the allocations
    /// between collections.
    ///
    /// Does nothing (the heap grows instead) when memory for the mark
    /// stack runs out.
    ///
    /// # Safety
    ///
    /// Every non-null, non-`i31` value in `roots` must be a live object of
    /// this heap, and
    /// every reference that compiled code or the runtime can still read
    /// must be reachable from `roots` or from a pinned or unescaped
    /// object.
    pub unsafe fn collect(&mut self, roots: &GcRoots) {
        let mut stack: Vec<NonNull<VMGcHeader>> = Vec::new();
        // Each object is pushed at most once: no push below reallocates.
        if stack.try_reserve_exact(self.count).is_err() {
            return;
        }
        let mark = |raw: usize, stack: &mut Vec<NonNull<VMGcHeader>>| {
            if raw & 1 != 0 {
                return; // an i31
            }
            let Some(obj) = NonNull::new(raw as *mut VMGcHeader) else {
                return;
            };
            // SAFETY: a non-null, non-i31 reference is a live object of
            // this heap (the contract, and the fields of live objects).
            let header = unsafe { &mut *obj.as_ptr() };
            if header.flags & MARKED == 0 {
                header.flags |= MARKED;
                stack.push(obj);
            }
        };
        for &root in &roots.found {
            mark(root, &mut stack);
        }
        self.space.for_each(|obj| {
            // SAFETY: `for_each` visits live objects.
            let header = unsafe { obj.as_ref() };
            let unescaped = header.ty == vmgc_header::EXN_TYPE
                // SAFETY: an exception object, live.
                && !unsafe { (*obj.as_ptr().cast::<VMExnObject>()).escaped() };
            if unescaped || header.flags & PINNED != 0 {
                mark(obj.as_ptr() as usize, &mut stack);
            }
        });
        while let Some(obj) = stack.pop() {
            // SAFETY: marked objects are live.
            let ty = unsafe { obj.as_ref().ty };
            let base = obj.as_ptr().cast::<u8>();
            if ty == vmgc_header::EXN_TYPE {
                // SAFETY: a live exception object.
                let exn = unsafe { &*obj.as_ptr().cast::<VMExnObject>() };
                if exn.flags() & HAS_REFS == 0 {
                    continue;
                }
                // SAFETY: the tag definition outlives the heap.
                let tag_ty = unsafe { (*exn.tag()).type_index };
                let Some(fields) = self.exn_ref_fields.get(&tag_ty) else {
                    continue;
                };
                let payload = exn.payload();
                for &i in fields.iter() {
                    if let Some(value) = payload.get(i as usize) {
                        mark(value.get_ptr(), &mut stack);
                    }
                }
                continue;
            }
            match self.layouts.get(&ty) {
                Some(GcTypeLayout::Struct { refs, .. }) => {
                    for &off in refs.iter() {
                        // SAFETY: a reference field of a live struct of
                        // this layout, pointer-aligned.
                        mark(
                            unsafe { *base.add(off as usize).cast::<usize>() },
                            &mut stack,
                        );
                    }
                }
                Some(GcTypeLayout::Array { elem_ref: true, .. }) => {
                    // SAFETY: a live array of references: `len` pointers
                    // from `ELEMS`.
                    unsafe {
                        let len = *base.add(vmgc_array::LEN as usize).cast::<u32>();
                        let elems = base.add(vmgc_array::ELEMS as usize).cast::<usize>();
                        for i in 0..len as usize {
                            mark(*elems.add(i), &mut stack);
                        }
                    }
                }
                _ => {}
            }
        }
        let (mut count, mut bytes) = (self.count, self.bytes);
        // SAFETY: no root reaches an unmarked object: nothing can read it
        // again; a host value's data is dropped before its slot is freed.
        unsafe {
            self.space.sweep(|obj, footprint| {
                drop_contents(obj);
                count -= 1;
                bytes -= footprint;
            })
        };
        (self.count, self.bytes) = (count, bytes);
        self.defer_collection();
        self.next_collection = self
            .next_collection
            .max(roots.scanned.saturating_mul(core::mem::size_of::<usize>()));
    }

    /// Number of live objects.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the heap holds no objects.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes held by the objects.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The number of exception objects (for statistics).
    pub fn exn_count(&self) -> usize {
        let mut n = 0;
        self.space.for_each(|o| {
            // SAFETY: `for_each` visits live objects.
            if unsafe { o.as_ref().ty } == vmgc_header::EXN_TYPE {
                n += 1;
            }
        });
        n
    }
}

/// Drop what a dying object owns: a host value's data.
///
/// # Safety
///
/// `obj` must be a live object, never used again.
unsafe fn drop_contents(obj: NonNull<VMGcHeader>) {
    // SAFETY: per the contract.
    if unsafe { obj.as_ref().ty } == vmgc_header::EXTERN_TYPE {
        // SAFETY: a host-value object owns its data, initialized at
        // allocation; dropped once, here.
        unsafe { core::ptr::drop_in_place(&raw mut (*obj.as_ptr().cast::<VMExternData>()).data) };
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        // The store is gone: nothing refers to the objects. The space frees
        // their memory when it drops.
        self.space.for_each(|obj| {
            // SAFETY: `for_each` visits live objects, each once.
            unsafe { drop_contents(obj) }
        });
    }
}

/// The roots of one collection ([`GcHeap::collect`]) besides the heap's
/// own: every place a reference was found in, and the non-null ones.
#[derive(Debug, Default)]
pub struct GcRoots {
    found: Vec<usize>,
    scanned: usize,
}

impl GcRoots {
    /// Record the reference (null or not) in one place the collector
    /// looks.
    pub fn visit(&mut self, raw: usize) {
        self.scanned += 1;
        if raw != 0 {
            self.found.push(raw);
        }
    }
}
