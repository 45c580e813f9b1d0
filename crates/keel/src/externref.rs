//! [`ExternRef`]: host values that wasm can hold as `externref` (spec:
//! [Reference Types](https://webassembly.github.io/spec/core/syntax/types.html#reference-types)),
//! on the store's GC heap.

use crate::prelude::*;
use crate::rooting::Rooted;
use crate::store::StoreContext;
use crate::{AnyRef, AsContextMut, ExternRef, GcHeapOutOfMemory, Result};
use core::any::Any;

impl ExternRef {
    /// Wrap `value` in a new reference on `store`'s GC heap, rooted in
    /// the current scope.
    ///
    /// # Errors
    ///
    /// [`GcHeapOutOfMemory`] (carrying `value`) when the heap cannot hold
    /// it.
    pub fn new<T: Any + Send + Sync>(
        mut store: impl AsContextMut,
        value: T,
    ) -> Result<Rooted<ExternRef>> {
        let inner = store.as_context_mut().0;
        inner.gc_make_room(keel_vm::GcHeap::EXTERN_OBJECT_SIZE)?;
        let store = &mut inner.opaque;
        let data: Box<dyn Any + Send + Sync> = Box::new(value);
        match store.exceptions.heap_mut().alloc_extern(data) {
            Ok(obj) => Ok(Rooted::new(store, obj.as_ptr() as usize)),
            Err(_) => Err(anyhow::Error::new(GcHeapOutOfMemory::new(()))),
        }
    }

    /// The `any` value `anyref` made external (`extern.convert_any`).
    ///
    /// # Errors
    ///
    /// If `anyref` is not rooted in `store`.
    pub fn convert_any(
        mut store: impl AsContextMut,
        anyref: Rooted<AnyRef>,
    ) -> Result<Rooted<ExternRef>> {
        let store = &mut store.as_context_mut().0.opaque;
        anyref.raw(store)?;
        Ok(anyref.cast())
    }

    /// The host value, or `None` for an `any` value made external.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn data<'a, T: 'a>(
        &self,
        store: impl Into<StoreContext<'a, T>>,
    ) -> Result<Option<&'a (dyn Any + Send + Sync)>> {
        let store: StoreContext<'a, T> = store.into();
        let raw = self.inner.raw(&store.0.opaque)?;
        let Some(obj) = core::ptr::NonNull::new(raw as *mut u8).filter(|_| raw & 1 == 0) else {
            return Ok(None);
        };
        // SAFETY: a rooted reference is a live object of the store's heap,
        // which lives as long as the borrow of the store.
        Ok(unsafe { keel_vm::GcHeap::extern_data(obj) }.map(|d| &*d))
    }

    /// The host value, mutably, or `None` for an `any` value made
    /// external.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn data_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContextMut<'a, T>>,
    ) -> Result<Option<&'a mut (dyn Any + Send + Sync)>> {
        let store: crate::StoreContextMut<'a, T> = store.into();
        let raw = self.inner.raw(&store.0.opaque)?;
        let Some(obj) = core::ptr::NonNull::new(raw as *mut u8).filter(|_| raw & 1 == 0) else {
            return Ok(None);
        };
        // SAFETY: as in `data`; the store is borrowed exclusively.
        Ok(unsafe { keel_vm::GcHeap::extern_data(obj) })
    }
}
