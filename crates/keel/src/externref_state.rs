//! A store's extern references ([`ExternRefs`]): the host data behind
//! each [`ExternRef`]. The API is in `externref.rs`.

use crate::ExternRef;
use crate::handles::StoreId;
use crate::prelude::*;
use core::any::Any;
use hashbrown::HashMap;

/// A store's extern references' host data.
#[derive(Default)]
pub(crate) struct ExternRefs {
    /// Boxed so that raw references (the boxes' addresses) stay valid.
    #[expect(clippy::vec_box, reason = "raw externrefs are the boxes' addresses")]
    data: Vec<Box<ExternData>>,
    /// The handles by raw reference.
    by_ptr: HashMap<usize, ExternRef>,
}

/// The host data behind an `externref`; its address is the raw
/// reference. It starts with a GC header of type `EXTERN_TYPE`, so that
/// casts and the collector can tell it from a GC object when it flows
/// into the `any` hierarchy (`any.convert_extern`).
#[repr(C)]
struct ExternData {
    header: keel_vm::VMGcHeader,
    data: Box<dyn Any + Send + Sync>,
}

impl ExternRefs {
    /// Keep `data` for a new reference of store `store`.
    pub(crate) fn push(&mut self, store: StoreId, data: Box<dyn Any + Send + Sync>) -> ExternRef {
        let boxed = Box::new(ExternData {
            header: keel_vm::VMGcHeader::EXTERN,
            data,
        });
        let raw = &*boxed as *const ExternData as usize;
        let r = ExternRef {
            store,
            index: self.data.len(),
        };
        self.data.push(boxed);
        self.by_ptr.insert(raw, r);
        r
    }

    /// The host data of reference `index`.
    pub(crate) fn data(&self, index: usize) -> &(dyn Any + Send + Sync) {
        &*self.data[index].data
    }

    /// The raw reference (what compiled code holds) of reference `index`.
    pub(crate) fn raw(&self, index: usize) -> usize {
        &*self.data[index] as *const ExternData as usize
    }

    /// The reference whose raw value is `raw`, if this store made it.
    pub(crate) fn by_raw(&self, raw: usize) -> Option<ExternRef> {
        self.by_ptr.get(&raw).copied()
    }
}
