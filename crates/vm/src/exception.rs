//! Tags and exception objects (spec:
//! [Exception Handling](https://webassembly.github.io/spec/core/exec/runtime.html#exception-instances)).
//!
//! A tag is a [`VMTagDefinition`]; its address is its identity, the one
//! thing a `catch` compares. A thrown exception is a [`VMExnObject`] that
//! the store's [`ExnHeap`] owns: its tag and its payload, one [`ValRaw`]
//! per parameter of the tag's type. A non-null `exnref` is a pointer to
//! one. Throwing walks the wasm frames for a handler
//! ([`keel_trap::unwind`]) and continues there, or leaves the activation
//! with [`UnwindReason::Exception`].

use crate::{Instance, ValRaw, VmError};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;
use keel_translate::{SharedTypeIndex, TagIndex, VMTAG_DEFINITION_SIZE, WasmValType, vmexn_object};
use keel_trap::{RawBacktrace, UnwindReason};

/// A tag's definition: the engine-wide id of its function type. Defined
/// tags live in their instance's VMContext, host tags in their store.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMTagDefinition {
    /// The engine-wide id of the tag's function type.
    pub type_index: SharedTypeIndex,
    _pad: u32,
}

const _: () = assert!(core::mem::size_of::<VMTagDefinition>() == VMTAG_DEFINITION_SIZE as usize);

impl VMTagDefinition {
    /// The definition of a tag of function type `type_index`.
    pub fn new(type_index: SharedTypeIndex) -> Self {
        Self {
            type_index,
            _pad: 0,
        }
    }
}

/// An exception object's header; `len` [`ValRaw`] payload slots follow it
/// (at [`vmexn_object::PAYLOAD`]).
#[repr(C, align(16))]
#[derive(Debug)]
pub struct VMExnObject {
    tag: *const VMTagDefinition,
    len: u32,
    /// See [`vmexn_object::ESCAPED`]; compiled code sets it.
    escaped: u32,
    /// The object's position in its heap's `objects`.
    index: usize,
    /// [`MARKED`], [`PINNED`], [`HAS_REFS`].
    flags: u32,
    _pad: u32,
}

/// Reached from a root in the collection running now.
const MARKED: u32 = 1;
/// Seen by the host: a root until the store drops.
const PINNED: u32 = 2;
/// The payload has `exnref` fields (its tag type's entry in
/// [`ExnHeap::ref_fields`]).
const HAS_REFS: u32 = 4;

/// A collection runs when a throw finds at least this many objects.
const MIN_COLLECTION_THRESHOLD: usize = 1024;

const _: () = {
    assert!(core::mem::offset_of!(VMExnObject, tag) == vmexn_object::TAG as usize);
    assert!(core::mem::offset_of!(VMExnObject, escaped) == vmexn_object::ESCAPED as usize);
    assert!(core::mem::size_of::<VMExnObject>() == vmexn_object::PAYLOAD as usize);
};

impl VMExnObject {
    fn layout(len: usize) -> Option<Layout> {
        let size = core::mem::size_of::<ValRaw>()
            .checked_mul(len)?
            .checked_add(core::mem::size_of::<VMExnObject>())?;
        Layout::from_size_align(size, 16).ok()
    }

    /// The thrown tag.
    pub fn tag(&self) -> *const VMTagDefinition {
        self.tag
    }

    /// The payload: one value per parameter of the tag's type.
    pub fn payload(&self) -> &[ValRaw] {
        // SAFETY: `len` slots follow the header in the same allocation
        // (`ExnHeap::alloc`), initialized there.
        unsafe {
            let first = (self as *const Self).add(1).cast::<ValRaw>();
            core::slice::from_raw_parts(first, self.len as usize)
        }
    }
}

/// The exception objects of one store.
///
/// An exception that never became an `exnref` value (see
/// [`vmexn_object::ESCAPED`]) is referred to only by its throw, and the
/// `catch` or `catch_all` that handles it frees it once it has read the
/// payload ([`ExnHeap::release`]). One that escaped may sit in locals,
/// globals, tables, other payloads and the host; a mark-sweep
/// collection ([`ExnHeap::collect`]) frees those no root reaches. The
/// roots are the `exnref`s in wasm frames (from the stack maps compiled
/// code records at each call), in globals and tables, the exceptions the
/// host has seen ([`ExnHeap::pin`]) and those that never escaped.
/// Objects never move.
#[derive(Debug)]
pub struct ExnHeap {
    objects: Vec<NonNull<VMExnObject>>,
    bytes: usize,
    /// The payload fields that are `exnref`s, by tag type (filled as
    /// objects of the type are allocated).
    ref_fields: BTreeMap<SharedTypeIndex, Box<[u32]>>,
    /// Collect when a throw finds this many objects.
    next_collection: usize,
}

impl Default for ExnHeap {
    fn default() -> Self {
        Self {
            objects: Vec::new(),
            bytes: 0,
            ref_fields: BTreeMap::new(),
            next_collection: MIN_COLLECTION_THRESHOLD,
        }
    }
}

// SAFETY: the heap owns its objects; their tag pointers are only compared
// and read under the store, which is `Send`.
unsafe impl Send for ExnHeap {}
// SAFETY: as above; `&ExnHeap` reads nothing through the pointers.
unsafe impl Sync for ExnHeap {}

impl ExnHeap {
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
    /// non-null `exnref` in `payload` a live object of this heap.
    pub unsafe fn alloc(
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
        let layout = VMExnObject::layout(payload.len()).ok_or(oom(usize::MAX))?;
        self.objects
            .try_reserve(1)
            .map_err(|_| oom(core::mem::size_of::<usize>()))?;
        let has_refs = types.iter().any(|t| t.is_exn_ref());
        if has_refs {
            // SAFETY: `tag` is a live definition (the contract).
            let ty = unsafe { (*tag).type_index };
            self.ref_fields.entry(ty).or_insert_with(|| {
                (0u32..)
                    .zip(types)
                    .filter(|(_, t)| t.is_exn_ref())
                    .map(|(i, _)| i)
                    .collect()
            });
            // Exceptions in the payload are now reachable from another
            // one: they are values.
            // SAFETY: per the contract.
            unsafe { Self::mark_escaped_refs(payload, types) };
        }
        // SAFETY: the layout has a non-zero size (the header).
        let raw = unsafe { alloc::alloc::alloc(layout) }.cast::<VMExnObject>();
        let obj = NonNull::new(raw).ok_or(oom(layout.size()))?;
        // SAFETY: `obj` is a fresh allocation of the header plus `len`
        // slots, 16-byte aligned.
        unsafe {
            obj.as_ptr().write(VMExnObject {
                tag,
                len,
                escaped: 0,
                index: self.objects.len(),
                flags: if has_refs { HAS_REFS } else { 0 },
                _pad: 0,
            });
            let first = obj.as_ptr().add(1).cast::<ValRaw>();
            core::ptr::copy_nonoverlapping(payload.as_ptr(), first, payload.len());
        }
        self.objects.push(obj);
        self.bytes += layout.size();
        Ok(obj)
    }

    /// Mark `exn` as having become a value (its reference may now be
    /// anywhere): from here on only roots keep it alive, where before
    /// it lived until a `catch` released it.
    ///
    /// # Safety
    ///
    /// `exn` must be a live object of a heap.
    pub unsafe fn mark_escaped(exn: *mut VMExnObject) {
        // SAFETY: per the contract.
        unsafe { (*exn).escaped = 1 };
    }

    /// Mark every non-null exception among `values` (whose types are
    /// `types`) escaped: they are now reachable from another exception.
    ///
    /// # Safety
    ///
    /// Each non-null `exnref` among `values` must be a live object.
    unsafe fn mark_escaped_refs(values: &[ValRaw], types: &[WasmValType]) {
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
    /// `exn` must be a live object of this heap that nothing but the
    /// caught throw refers to unless it escaped.
    pub unsafe fn release(&mut self, exn: *mut VMExnObject) {
        // SAFETY: per the contract `exn` is live and ours.
        let (escaped, index) = unsafe { ((*exn).escaped, (*exn).index) };
        if escaped != 0 || self.objects.get(index).map(|o| o.as_ptr()) != Some(exn) {
            return;
        }
        // SAFETY: per the contract nothing else refers to it.
        unsafe { self.free_at(index) };
    }

    /// Free the object at `index` of `objects`.
    ///
    /// # Safety
    ///
    /// Nothing may refer to the object any more.
    unsafe fn free_at(&mut self, index: usize) {
        let exn = self.objects.swap_remove(index).as_ptr();
        if let Some(moved) = self.objects.get(index) {
            // SAFETY: every object in `objects` is live.
            unsafe { (*moved.as_ptr()).index = index };
        }
        // SAFETY: every object in `objects` is live.
        let len = unsafe { (*exn).len };
        let layout = VMExnObject::layout(len as usize).expect("layout was valid at allocation");
        self.bytes -= layout.size();
        // SAFETY: allocated by `alloc` with this layout; removed from
        // `objects`, so freed once.
        unsafe { alloc::alloc::dealloc(exn.cast(), layout) };
    }

    /// Keep `exn` alive as long as the heap: the host holds its
    /// reference, which nothing traces. It has escaped too.
    ///
    /// # Safety
    ///
    /// `exn` must be a live object of a heap.
    pub unsafe fn pin(exn: *mut VMExnObject) {
        // SAFETY: per the contract.
        unsafe {
            (*exn).escaped = 1;
            (*exn).flags |= PINNED;
        }
    }

    /// Whether the next allocation should be preceded by a collection:
    /// the heap has grown past twice what the last one kept (and past
    /// the work the last one did); with the `gc-zeal` feature, whenever
    /// it is not empty.
    pub fn should_collect(&self) -> bool {
        if cfg!(feature = "gc-zeal") {
            return !self.objects.is_empty();
        }
        self.objects.len() >= self.next_collection
    }

    /// Skip the collection that is due (its roots cannot all be found):
    /// the next one waits until the heap has doubled again.
    pub fn defer_collection(&mut self) {
        self.next_collection = self
            .objects
            .len()
            .saturating_mul(2)
            .max(MIN_COLLECTION_THRESHOLD);
    }

    /// Mark-sweep: free every escaped object that no root reaches. The
    /// roots are those in `roots`, the pinned objects and those that never
    /// escaped; marking follows `exnref` payload fields. The next
    /// collection waits at least as many allocations as `roots` looked at
    /// places, so that its cost stays proportional to the allocations
    /// between collections.
    ///
    /// Does nothing (the heap grows instead) when memory for the mark
    /// stack runs out.
    ///
    /// # Safety
    ///
    /// Every non-null value in `roots` must be a live object of this heap,
    /// and every `exnref` value that compiled code or the runtime can
    /// still read must be reachable from `roots` or from an object that
    /// is pinned or never escaped.
    pub unsafe fn collect(&mut self, roots: &ExnRoots) {
        let mut stack: Vec<*mut VMExnObject> = Vec::new();
        // Each object is pushed at most once: no push below reallocates.
        if stack.try_reserve_exact(self.objects.len()).is_err() {
            return;
        }
        let mark = |raw: usize, stack: &mut Vec<*mut VMExnObject>| {
            let obj = raw as *mut VMExnObject;
            // SAFETY: a non-null reference is a live object of this heap
            // (the contract, and the payloads of live objects).
            if !obj.is_null() && unsafe { (*obj).flags } & MARKED == 0 {
                // SAFETY: as above.
                unsafe { (*obj).flags |= MARKED };
                stack.push(obj);
            }
        };
        for &root in &roots.found {
            mark(root, &mut stack);
        }
        for obj in &self.objects {
            // SAFETY: every object in `objects` is live.
            let (escaped, flags) = unsafe { ((*obj.as_ptr()).escaped, (*obj.as_ptr()).flags) };
            if escaped == 0 || flags & PINNED != 0 {
                mark(obj.as_ptr() as usize, &mut stack);
            }
        }
        while let Some(obj) = stack.pop() {
            // SAFETY: marked objects are live.
            let obj = unsafe { &*obj };
            if obj.flags & HAS_REFS == 0 {
                continue;
            }
            // SAFETY: the tag definition outlives the heap (`alloc`).
            let ty = unsafe { (*obj.tag).type_index };
            let Some(fields) = self.ref_fields.get(&ty) else {
                continue;
            };
            let payload = obj.payload();
            for &i in fields.iter() {
                if let Some(value) = payload.get(i as usize) {
                    mark(value.get_ptr(), &mut stack);
                }
            }
        }
        let mut i = 0;
        while i < self.objects.len() {
            let obj = self.objects[i].as_ptr();
            // SAFETY: every object in `objects` is live.
            let flags = unsafe { (*obj).flags };
            if flags & MARKED != 0 {
                // SAFETY: as above.
                unsafe { (*obj).flags &= !MARKED };
                i += 1;
            } else {
                // SAFETY: no root reaches it: nothing can read it again.
                // The last object moves to `i`, which is examined next.
                unsafe { self.free_at(i) };
            }
        }
        self.defer_collection();
        self.next_collection = self.next_collection.max(roots.scanned);
    }

    /// Number of live exception objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the heap holds no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Bytes held by the objects.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for ExnHeap {
    fn drop(&mut self) {
        for obj in self.objects.drain(..) {
            // SAFETY: every object came from `alloc` with this layout and
            // is freed once, here.
            unsafe {
                let len = (*obj.as_ptr()).len as usize;
                let layout = VMExnObject::layout(len).expect("layout was valid at allocation");
                alloc::alloc::dealloc(obj.as_ptr().cast(), layout);
            }
        }
    }
}

/// The roots of one collection ([`ExnHeap::collect`]) besides the heap's
/// own: every place an `exnref` was found in, and the non-null ones.
#[derive(Debug, Default)]
pub struct ExnRoots {
    found: Vec<usize>,
    scanned: usize,
}

impl ExnRoots {
    /// Record the `exnref` (null or not) in one place the collector looks.
    pub fn visit(&mut self, raw: usize) {
        self.scanned += 1;
        if raw != 0 {
            self.found.push(raw);
        }
    }
}

/// Throw `exn`: continue at the first wasm handler that catches it, from
/// the frame whose return address is `pc` and frame pointer `fp`
/// outwards, or leave the current activation with
/// [`UnwindReason::Exception`].
///
/// # Safety
///
/// `exn` must be a live exception object of the running store; `pc`/`fp`
/// a return address into a live wasm frame of the current activation and
/// that frame's frame pointer; and the caller's frames must hold nothing
/// that still has to run (see [`keel_trap::unwind::resume`]).
pub unsafe fn throw(exn: NonNull<VMExnObject>, pc: usize, fp: usize) -> ! {
    // SAFETY: `exn` is live per the contract.
    let tag = unsafe { exn.as_ref().tag };
    let matches = |vmctx: usize, index: TagIndex| {
        // SAFETY: the compiler stored the frame's own VMContext, whose
        // instance is live while its frame is.
        unsafe { Instance::tag_ptr_of_vmctx(vmctx as *mut u8, index) == tag }
    };
    // SAFETY: per the contract.
    match unsafe { keel_trap::unwind::find_handler(pc, fp, matches) } {
        // SAFETY: the handler is on this stack and nothing above it runs.
        Some(handler) => unsafe { keel_trap::unwind::resume(handler, exn.as_ptr() as usize) },
        None => {
            // SAFETY: `fp` is a live wasm frame with return address `pc`.
            let backtrace = unsafe { RawBacktrace::capture(pc, fp, true) };
            // SAFETY: inside the activation that entered this wasm.
            unsafe { keel_trap::raise(UnwindReason::Exception(exn.as_ptr() as usize, backtrace)) }
        }
    }
}
