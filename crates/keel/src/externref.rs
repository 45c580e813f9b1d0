//! [`ExternRef`]: host values that wasm can hold as `externref` (spec:
//! [Reference Types](https://webassembly.github.io/spec/core/syntax/types.html#reference-types)).
//! The store's part, the host data, is in `externref_state.rs`.

use crate::prelude::*;
use crate::store::{StoreContext, StoreOpaque};
use crate::{AsContextMut, ExternRef};
use core::any::Any;

impl ExternRef {
    /// Wrap `data` in a new reference owned by `store`.
    pub fn new(mut store: impl AsContextMut, data: impl Any + Send + Sync) -> ExternRef {
        let store = &mut store.as_context_mut().0.opaque;
        store.externrefs.push(store.id, Box::new(data))
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
        opaque.externrefs.data(self.index)
    }

    /// The raw reference compiled code holds.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> usize {
        store.check(self.store);
        store.externrefs.raw(self.index)
    }

    /// The reference behind raw value `raw` (non-null, from this store).
    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<ExternRef> {
        store.externrefs.by_raw(raw)
    }
}
