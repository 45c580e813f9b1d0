//! How the host holds references into a store's GC heap, as Wasmtime's
//! API does: [`Rooted`] (a root that lasts until the enclosing
//! [`RootScope`] or host call ends), [`OwnedRooted`] (a root that lasts
//! as long as the handle), and the [`GcRef`] types they hold
//! ([`ExternRef`](crate::ExternRef), [`AnyRef`](crate::AnyRef),
//! [`EqRef`](crate::EqRef), [`StructRef`](crate::StructRef),
//! [`ArrayRef`](crate::ArrayRef)). The store's part is `gc_state.rs`.

use crate::handles::StoreId;
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, Result, StoreContext, StoreContextMut};
use alloc::sync::Arc;
use core::fmt;
use core::marker::PhantomData;

pub use crate::handles::GcRootIndex;

impl GcRootIndex {
    /// The raw reference (what compiled code holds).
    ///
    /// # Errors
    ///
    /// If the root belongs to another store, or its scope has ended.
    pub(crate) fn raw(&self, store: &StoreOpaque) -> Result<usize> {
        if self.store != store.id {
            anyhow::bail!("GC reference used with a store other than its own");
        }
        store
            .gc_roots
            .get(self.index, self.generation)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "GC reference used after its root scope ended (keep it longer \
                 with `to_owned_rooted`)"
                )
            })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A type of reference into a store's GC heap: [`ExternRef`](crate::ExternRef),
/// [`AnyRef`](crate::AnyRef), [`EqRef`](crate::EqRef),
/// [`StructRef`](crate::StructRef) or [`ArrayRef`](crate::ArrayRef).
/// Values of these types are only handed out inside a [`Rooted`] or an
/// [`OwnedRooted`]. Sealed: every implementor is `#[repr(transparent)]`
/// over a [`GcRootIndex`].
pub trait GcRef: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The root index inside the handle.
    #[doc(hidden)]
    fn root_index(&self) -> &GcRootIndex;
}

macro_rules! gc_ref_types {
    ($($ty:ident),*) => {$(
        impl sealed::Sealed for crate::$ty {}
        impl GcRef for crate::$ty {
            fn root_index(&self) -> &GcRootIndex {
                &self.inner
            }
        }
        const _: () = assert!(
            core::mem::size_of::<crate::$ty>() == core::mem::size_of::<GcRootIndex>()
        );
    )*};
}
gc_ref_types!(ExternRef, AnyRef, EqRef, StructRef, ArrayRef);

/// A reference of type `T` rooted until the innermost [`RootScope`] (or
/// the host function call) around its creation ends; outside of any, for
/// as long as the store. Cheap to copy; use it through `Deref` (its `T`
/// methods). After its scope ended, using it is an error (never
/// undefined behaviour): keep a reference longer with
/// [`Rooted::to_owned_rooted`].
#[repr(transparent)]
pub struct Rooted<T: GcRef> {
    inner: GcRootIndex,
    _ty: PhantomData<fn() -> T>,
}

impl<T: GcRef> Clone for Rooted<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: GcRef> Copy for Rooted<T> {}

impl<T: GcRef> fmt::Debug for Rooted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rooted")
            .field("type", &core::any::type_name::<T>())
            .field("root", &self.inner)
            .finish()
    }
}

impl<T: GcRef> core::ops::Deref for Rooted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: every `GcRef` type is `#[repr(transparent)]` over a
        // `GcRootIndex` (sealed; the sizes are asserted above).
        unsafe { &*(&self.inner as *const GcRootIndex).cast::<T>() }
    }
}

impl<T: GcRef> Rooted<T> {
    /// Root `raw` (a non-null reference of type `T`) in `store`'s current
    /// scope.
    pub(crate) fn new(store: &mut StoreOpaque, raw: usize) -> Self {
        let (index, generation) = store.gc_roots.push(raw);
        Rooted {
            inner: GcRootIndex {
                store: store.id,
                index,
                generation,
            },
            _ty: PhantomData,
        }
    }

    /// The same reference as another type (after a check of the object's
    /// type where it narrows).
    pub(crate) fn cast<U: GcRef>(self) -> Rooted<U> {
        Rooted {
            inner: self.inner,
            _ty: PhantomData,
        }
    }

    /// The raw reference.
    pub(crate) fn raw(&self, store: &StoreOpaque) -> Result<usize> {
        self.inner.raw(store)
    }

    /// Whether `a` and `b` are the same reference (`ref.eq`: the same
    /// object, or equal `i31` values).
    ///
    /// # Errors
    ///
    /// If either is not rooted in `store` any more.
    pub fn ref_eq<U: GcRef>(store: impl AsContext, a: &Rooted<T>, b: &Rooted<U>) -> Result<bool> {
        let store = &store.as_context().0.opaque;
        Ok(a.raw(store)? == b.raw(store)?)
    }

    /// A root for the same reference that lives as long as the handle
    /// (and its clones), whatever scopes end.
    ///
    /// # Errors
    ///
    /// If this root's scope has ended.
    pub fn to_owned_rooted(&self, mut store: impl AsContextMut) -> Result<OwnedRooted<T>> {
        let store = &mut store.as_context_mut().0.opaque;
        let raw = self.raw(store)?;
        let (index, hold) = store.gc_roots.add_owned(raw);
        Ok(OwnedRooted {
            store: store.id,
            index,
            _hold: hold,
            _ty: PhantomData,
        })
    }
}

/// A reference of type `T` rooted for as long as this handle or a clone
/// of it lives (then the next collection may free it). Get a [`Rooted`]
/// to use it with [`OwnedRooted::to_rooted`].
pub struct OwnedRooted<T: GcRef> {
    store: StoreId,
    index: u32,
    _hold: Arc<()>,
    _ty: PhantomData<fn() -> T>,
}

impl<T: GcRef> Clone for OwnedRooted<T> {
    fn clone(&self) -> Self {
        OwnedRooted {
            store: self.store,
            index: self.index,
            _hold: self._hold.clone(),
            _ty: PhantomData,
        }
    }
}

impl<T: GcRef> fmt::Debug for OwnedRooted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedRooted")
            .field("type", &core::any::type_name::<T>())
            .field("index", &self.index)
            .finish()
    }
}

impl<T: GcRef> OwnedRooted<T> {
    /// The reference, rooted in `store`'s current scope.
    ///
    /// # Errors
    ///
    /// If `store` is not the reference's store.
    pub fn to_rooted(&self, mut store: impl AsContextMut) -> Result<Rooted<T>> {
        let store = &mut store.as_context_mut().0.opaque;
        if self.store != store.id {
            anyhow::bail!("GC reference used with a store other than its own");
        }
        let raw = store
            .gc_roots
            .owned(self.index)
            .ok_or_else(|| anyhow::anyhow!("owned root released while held"))?;
        Ok(Rooted::new(store, raw))
    }
}

/// A scope for [`Rooted`] references: the ones created through it (use
/// it as the store) are unrooted when it is dropped. Use one around host
/// loops that handle many references, so that they do not accumulate in
/// the store.
pub struct RootScope<C: AsContextMut> {
    store: C,
    depth: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// Open a scope in `store`.
    pub fn new(mut store: C) -> Self {
        let depth = store.as_context_mut().0.opaque.gc_roots.depth();
        RootScope { store, depth }
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        self.store
            .as_context_mut()
            .0
            .opaque
            .gc_roots
            .truncate(self.depth);
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.store.as_context_mut()
    }
}
