//! Tags and exception objects (spec:
//! [Exception Handling](https://webassembly.github.io/spec/core/exec/runtime.html#exception-instances)).
//!
//! A tag is a [`VMTagDefinition`]; its address is its identity, the one
//! thing a `catch` compares. A thrown exception is a [`VMExnObject`] that
//! the store's [`GcHeap`](crate::GcHeap) owns: its tag and its payload, one [`ValRaw`]
//! per parameter of the tag's type. A non-null `exnref` is a pointer to
//! one. Throwing walks the wasm frames for a handler
//! ([`keel_trap::unwind`]) and continues there, or leaves the activation
//! with [`UnwindReason::Exception`].

use crate::gc::VMGcHeader;
use crate::{Instance, ValRaw};
use core::ptr::NonNull;
use keel_translate::{SharedTypeIndex, TagIndex, VMTAG_DEFINITION_SIZE, vmexn_object};
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

/// An exception object: a GC object ([`VMGcHeader`] of type
/// `EXN_TYPE`) with its tag, payload length, whether it escaped and its
/// position in its heap's list; `len` [`ValRaw`] payload slots follow it
/// (at [`vmexn_object::PAYLOAD`]).
#[repr(C, align(16))]
#[derive(Debug)]
pub struct VMExnObject {
    header: VMGcHeader,
    tag: *const VMTagDefinition,
    len: u32,
    /// See [`vmexn_object::ESCAPED`]; compiled code sets it.
    escaped: u32,
    /// The object's position in its heap's list.
    index: usize,
}

const _: () = {
    assert!(core::mem::offset_of!(VMExnObject, tag) == vmexn_object::TAG as usize);
    assert!(core::mem::offset_of!(VMExnObject, escaped) == vmexn_object::ESCAPED as usize);
    assert!(core::mem::size_of::<VMExnObject>() == vmexn_object::PAYLOAD as usize);
};

impl VMExnObject {
    /// The size in bytes of an exception with `len` payload slots.
    pub fn size(len: usize) -> Option<usize> {
        core::mem::size_of::<ValRaw>()
            .checked_mul(len)?
            .checked_add(core::mem::size_of::<VMExnObject>())
    }

    /// Write the fields after the header of a fresh exception object.
    ///
    /// # Safety
    ///
    /// `obj` must be a fresh allocation of at least the object's size,
    /// its header written.
    pub(crate) unsafe fn init(
        obj: NonNull<Self>,
        tag: *const VMTagDefinition,
        len: u32,
        index: usize,
    ) {
        // SAFETY: per the contract.
        unsafe {
            let o = obj.as_ptr();
            (&raw mut (*o).tag).write(tag);
            (&raw mut (*o).len).write(len);
            (&raw mut (*o).escaped).write(0);
            (&raw mut (*o).index).write(index);
        }
    }

    /// Mark the exception escaped.
    ///
    /// # Safety
    ///
    /// `exn` must be a live exception object.
    pub(crate) unsafe fn set_escaped(exn: *mut Self) {
        // SAFETY: per the contract.
        unsafe { (*exn).escaped = 1 };
    }

    /// Record the object's position in its heap's list.
    ///
    /// # Safety
    ///
    /// `exn` must be a live exception object.
    pub(crate) unsafe fn set_index(exn: *mut Self, index: usize) {
        // SAFETY: per the contract.
        unsafe { (*exn).index = index };
    }

    /// Whether the exception ever became an `exnref` value.
    pub(crate) fn escaped(&self) -> bool {
        self.escaped != 0
    }

    /// The object's position in its heap's list.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// The number of payload slots.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// The header's flags.
    pub(crate) fn flags(&self) -> u32 {
        self.header.flags
    }

    /// The thrown tag.
    pub fn tag(&self) -> *const VMTagDefinition {
        self.tag
    }

    /// The payload: one value per parameter of the tag's type.
    pub fn payload(&self) -> &[ValRaw] {
        // SAFETY: `len` slots follow the header in the same allocation
        // (`GcHeap::alloc_exn`), initialized there.
        unsafe {
            let first = (self as *const Self).add(1).cast::<ValRaw>();
            core::slice::from_raw_parts(first, self.len as usize)
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
