//! [`ExternRef`]: host values that wasm can hold as `externref` (spec:
//! [Reference Types](https://webassembly.github.io/spec/core/syntax/types.html#reference-types)).

use crate::AsContextMut;
use crate::context::StoreContext;
use crate::prelude::*;
use crate::store::{StoreId, StoreOpaque};
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

/// The host data behind an `externref`; its address is the raw reference.
pub(crate) struct ExternData {
    pub(crate) data: Box<dyn Any + Send + Sync>,
}

/// A reference to a host value, usable as a wasm `externref`.
///
/// The store keeps the value alive until the store itself is dropped (keel
/// has no reference counting or GC of extern references yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternRef {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl ExternRef {
    /// Wrap `data` in a new reference owned by `store`.
    pub fn new(mut store: impl AsContextMut, data: impl Any + Send + Sync) -> ExternRef {
        let store = &mut store.as_context_mut().0.opaque;
        let boxed = Box::new(ExternData {
            data: Box::new(data),
        });
        let raw = &*boxed as *const ExternData as usize;
        let r = ExternRef {
            store: store.id,
            index: store.externrefs.data.len(),
        };
        store.externrefs.data.push(boxed);
        store.externrefs.by_ptr.insert(raw, r);
        r
    }

    /// The host value.
    ///
    /// # Panics
    ///
    /// If `store` does not own this reference.
    pub fn data<'a, T: 'a>(
        &self,
        store: impl Into<StoreContext<'a, T>>,
    ) -> &'a (dyn Any + Send + Sync) {
        let store: StoreContext<'a, T> = store.into();
        let opaque = &store.0.opaque;
        opaque.check(self.store);
        &*opaque.externrefs.data[self.index].data
    }

    /// The raw reference compiled code holds.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> usize {
        store.check(self.store);
        &*store.externrefs.data[self.index] as *const ExternData as usize
    }

    /// The reference behind raw value `raw` (non-null, from this store).
    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<ExternRef> {
        store.externrefs.by_ptr.get(&raw).copied()
    }
}
