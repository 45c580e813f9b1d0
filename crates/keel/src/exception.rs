//! Exception handling on the host side: [`Tag`], [`TagType`], [`ExnRef`]
//! and [`ThrownException`] (spec:
//! [Exception Handling](https://webassembly.github.io/spec/core/exec/runtime.html#exception-instances)).
//!
//! A wasm exception that no wasm frame catches leaves [`Func::call`]
//! (and [`TypedFunc::call`]) as an error that downcasts to
//! [`ThrownException`], which holds the exception. A host function throws
//! into its wasm caller by returning such an error: the exception unwinds
//! through the wasm frames above it as if wasm had thrown it.
//!
//! The store's part (the exception heap, the tags handed out, the host's
//! holds) is in `exception_state.rs`; the [`Tag`] handle in `handles.rs`.
//!
//! [`Func::call`]: crate::Func::call
//! [`TypedFunc::call`]: crate::TypedFunc::call

use crate::handles::StoreId;
use crate::prelude::*;
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, FuncType, Result, Tag, TagType, Val};
use alloc::sync::Arc;
use core::fmt;
use keel_vm::VMTagDefinition;

impl Tag {
    /// A new host tag of type `ty` in `store`.
    ///
    /// # Errors
    ///
    /// If `ty` uses concrete types of another engine than the store's.
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Result<Tag> {
        let store = &mut store.as_context_mut().0.opaque;
        let type_index = store.engine.register_type(&ty.0.0);
        let owned = Box::new(VMTagDefinition::new(type_index));
        let def = &*owned as *const VMTagDefinition;
        Ok(Tag::insert(store, def, ty.clone(), Some(owned)))
    }

    fn insert(
        store: &mut StoreOpaque,
        def: *const VMTagDefinition,
        ty: TagType,
        owned: Option<Box<VMTagDefinition>>,
    ) -> Tag {
        let index = store.exceptions.add_tag(def, ty, owned);
        Tag {
            store: store.id,
            index,
        }
    }

    /// The tag whose definition is at `def` (an instance's or a host
    /// tag's, of this store).
    pub(crate) fn from_def(store: &mut StoreOpaque, def: *const VMTagDefinition) -> Tag {
        if let Some(index) = store.exceptions.tag_by_def(def) {
            return Tag {
                store: store.id,
                index,
            };
        }
        // SAFETY: `def` is a live tag definition of this store (the
        // caller's contract: it came from an instance or an exception of
        // this store).
        let type_index = unsafe { (*def).type_index };
        let ty = store
            .engine
            .lookup_type(type_index)
            .map(|t| TagType(FuncType::from_wasm(t)))
            .unwrap_or_else(|| TagType(FuncType::new([], [])));
        Tag::insert(store, def, ty, None)
    }

    /// The tag's type.
    ///
    /// # Panics
    ///
    /// If `store` does not own this tag.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        let store = &store.as_context().0.opaque;
        store.check(self.store);
        store.exceptions.tag_type(self.index)
    }

    /// Whether `a` and `b` are the same tag (as `==`; Wasmtime's name).
    pub fn eq(a: &Tag, b: &Tag, _store: impl AsContext) -> bool {
        a == b
    }

    /// The engine-wide id of the tag's function type.
    pub(crate) fn type_index(&self, store: &StoreOpaque) -> keel_translate::SharedTypeIndex {
        // SAFETY: the store keeps its tags' definitions alive.
        unsafe { (*self.definition(store)).type_index }
    }

    pub(crate) fn definition(&self, store: &StoreOpaque) -> *const VMTagDefinition {
        store.check(self.store);
        store.exceptions.tag_def(self.index)
    }
}

/// A reference to an exception object: a wasm `exnref` (spec:
/// [Exception Instances](https://webassembly.github.io/spec/core/exec/runtime.html#exception-instances)).
/// Its tag and payload are read through the store that owns it.
///
/// An exception the host created or received from wasm as a value lives
/// as long as that store. The one a [`ThrownException`] carries lives as
/// long as that error (or any clone of it), or longer if wasm keeps a
/// reference: once the error is dropped, its `ExnRef` may stop working
/// (its methods then fail or panic, as documented on each), unless it was
/// handed back to wasm or stored in a global, table or exception before.
/// Exceptions only wasm refers to are collected when unreachable.
/// Two `ExnRef`s are equal when they refer to the same exception.
#[derive(Clone, Copy, Debug)]
pub struct ExnRef {
    pub(crate) store: StoreId,
    /// The `VMExnObject`'s address: the raw `exnref`.
    pub(crate) raw: usize,
    /// The [`ThrownException`] hold that keeps the object alive (a key of
    /// the store's exception holds), or 0 when the object is pinned.
    hold: u64,
}

impl PartialEq for ExnRef {
    fn eq(&self, other: &ExnRef) -> bool {
        (self.store, self.raw) == (other.store, other.raw)
    }
}

impl Eq for ExnRef {}

impl core::hash::Hash for ExnRef {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        (self.store, self.raw).hash(state);
    }
}

impl ExnRef {
    /// A new exception of `tag` with payload `fields` (one value per
    /// parameter of the tag's type, in order), owned by `store`.
    ///
    /// # Errors
    ///
    /// If the fields do not match the tag type's parameters in number or
    /// type, if a reference field belongs to another store, or if the
    /// allocation fails.
    ///
    /// # Panics
    ///
    /// If `store` does not own `tag`.
    pub fn new(mut store: impl AsContextMut, tag: &Tag, fields: &[Val]) -> Result<ExnRef> {
        let inner = store.as_context_mut().0;
        let size = keel_vm::VMExnObject::size(fields.len()).unwrap_or(usize::MAX);
        inner.gc_make_room(size)?;
        let store = &mut inner.opaque;
        let def = tag.definition(store);
        let params = store.exceptions.tag_params(tag.index).to_vec();
        if params.len() != fields.len() {
            anyhow::bail!(
                "exception payload of {} values for a tag of {} parameters",
                fields.len(),
                params.len()
            );
        }
        let mut raw = Vec::with_capacity(fields.len());
        for (i, (v, ty)) in fields.iter().zip(params.iter()).enumerate() {
            if !v.matches(store, *ty) {
                anyhow::bail!("exception field {i} is not of type `{ty}`");
            }
            raw.push(v.to_raw(store)?);
        }
        // SAFETY: the store keeps its tags' definitions; a non-null
        // exnref of this store (checked by `to_raw`) is a pinned object.
        let obj = unsafe { store.exceptions.heap_mut().alloc_exn(def, &raw, &params) }?;
        // SAFETY: just allocated; the host holds it from here on.
        unsafe { keel_vm::GcHeap::pin(obj.as_ptr().cast()) };
        Ok(ExnRef {
            store: store.id,
            raw: obj.as_ptr() as usize,
            hold: 0,
        })
    }

    /// The object behind this reference.
    ///
    /// # Panics
    ///
    /// If `store` does not own this exception.
    fn object<'a>(&self, store: &'a StoreOpaque) -> Result<&'a keel_vm::VMExnObject> {
        store.check(self.store);
        if self.hold != 0 && !store.exceptions.is_held(self.hold) {
            anyhow::bail!(
                "exception reference used after the ThrownException that held it was dropped"
            );
        }
        // SAFETY: a pinned exnref of this store, or one whose hold is
        // still registered, points to a live exception object.
        Ok(unsafe { &*(self.raw as *const keel_vm::VMExnObject) })
    }

    /// The exception's tag.
    ///
    /// # Panics
    ///
    /// If `store` does not own this exception, or if the reference came
    /// from a [`ThrownException`] that was dropped and the exception was
    /// collected since.
    pub fn tag(&self, mut store: impl AsContextMut) -> Tag {
        let store = &mut store.as_context_mut().0.opaque;
        let def = match self.object(store) {
            Ok(obj) => obj.tag(),
            Err(e) => panic!("{e}"),
        };
        Tag::from_def(store, def)
    }

    /// The exception's payload, one value per parameter of its tag's type.
    ///
    /// # Errors
    ///
    /// If the reference came from a [`ThrownException`] that was dropped
    /// and the exception was collected since, or if a reference in the
    /// payload cannot be read back (an internal inconsistency).
    ///
    /// # Panics
    ///
    /// If `store` does not own this exception.
    pub fn fields(&self, mut store: impl AsContextMut) -> Result<Vec<Val>> {
        let store = &mut store.as_context_mut().0.opaque;
        let def = self.object(store)?.tag();
        let tag = Tag::from_def(store, def);
        let params = store.exceptions.tag_params(tag.index).to_vec();
        let payload = self.object(store)?.payload().to_vec();
        params
            .iter()
            .zip(payload)
            .map(|(ty, raw)| Val::from_raw(store, raw, *ty))
            .collect()
    }

    /// Field `index` of the payload.
    ///
    /// # Errors
    ///
    /// If `index` is out of range.
    pub fn field(&self, store: impl AsContextMut, index: usize) -> Result<Val> {
        let mut fields = self.fields(store)?;
        if index >= fields.len() {
            anyhow::bail!(
                "field {index} out of range: the exception has {}",
                fields.len()
            );
        }
        Ok(fields.swap_remove(index))
    }

    /// The reference of raw `exnref` `raw` (non-null, of this store),
    /// which the host now holds: the object lives as long as the store.
    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> ExnRef {
        // SAFETY: a non-null exnref of this store is a live object.
        unsafe { keel_vm::GcHeap::pin(raw as *mut keel_vm::VMGcHeader) };
        ExnRef {
            store: store.id,
            raw,
            hold: 0,
        }
    }

    /// The raw `exnref`, for compiled code of `store`.
    ///
    /// # Errors
    ///
    /// If the reference belongs to another store, or came from a dropped
    /// [`ThrownException`] whose exception was collected.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<usize> {
        if self.store != store.id {
            anyhow::bail!("exception reference belongs to another store");
        }
        self.object(store)?;
        Ok(self.raw)
    }
}

/// The error of a call that a wasm exception left uncaught, and how a
/// host function throws one into its wasm caller (return it as the
/// error). Downcast an error from [`Func::call`](crate::Func::call) to it
/// to read the exception's tag and payload.
///
/// An uncaught exception lives as long as its `ThrownException` (and its
/// clones), so that a million uncaught throws do not pile up in the
/// store: drop the error and the store collects the exception, unless
/// wasm still refers to it.
#[derive(Clone, Debug)]
pub struct ThrownException {
    exn: ExnRef,
    /// Keeps the exception alive while the error lives (the store
    /// releases its hold when it is the last owner); `None` for an
    /// exception the host made or received as a value, which is pinned.
    _hold: Option<Arc<()>>,
}

impl ThrownException {
    /// The error that throws `exn`.
    pub fn new(exn: ExnRef) -> ThrownException {
        ThrownException { exn, _hold: None }
    }

    /// The error of a call that raw exception `raw` of `store` left: the
    /// store holds the exception until the error is dropped.
    pub(crate) fn uncaught(store: &mut StoreOpaque, raw: usize) -> ThrownException {
        // SAFETY: `raw` is the live object the call threw. Marked
        // escaped, only roots keep it alive from here on: the hold below.
        unsafe { keel_vm::GcHeap::mark_escaped(raw as *mut keel_vm::VMExnObject) };
        let (id, hold) = store.exceptions.hold(raw);
        ThrownException {
            exn: ExnRef {
                store: store.id,
                raw,
                hold: id,
            },
            _hold: Some(hold),
        }
    }

    /// The exception. The reference works while this error (or a clone)
    /// lives; see [`ExnRef`].
    pub fn exn(&self) -> ExnRef {
        self.exn
    }
}

impl fmt::Display for ThrownException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("uncaught wasm exception")
    }
}

impl core::error::Error for ThrownException {}

impl<T> crate::Store<T> {
    /// The objects on this store's GC heap and the bytes they take:
    /// `(count, bytes)`. The heap holds structs and arrays, exceptions and
    /// the host values behind `externref`s; see [`Store::gc`](crate::Store::gc)
    /// for when they are freed.
    pub fn gc_heap_usage(&self) -> (usize, usize) {
        let heap = self.inner.opaque.exceptions.heap();
        (heap.len(), heap.bytes())
    }

    /// The exception objects on this store's GC heap, and the bytes of
    /// the whole heap: `(count, bytes)`. An exception caught by `catch` or
    /// `catch_all` is freed by its handler. One that became an `exnref`
    /// value (caught with `catch_ref` or `catch_all_ref`, or stored in a
    /// payload or a GC object) is freed by a collection once nothing
    /// refers to it. An exception the host created or received as a value
    /// lives as long as the store. Counting walks the heap.
    pub fn exception_heap_usage(&self) -> (usize, usize) {
        let heap = self.inner.opaque.exceptions.heap();
        (heap.exn_count(), heap.bytes())
    }

    /// Collect now the store's GC heap: free every object no root
    /// reaches (wasm frames of calls in progress, globals, tables, passive
    /// element segments, the host's [`Rooted`](crate::Rooted) and
    /// [`OwnedRooted`](crate::OwnedRooted) references, uncaught exceptions
    /// whose error lives). Collections also run by themselves at
    /// allocations, when the heap has doubled since the last one or is
    /// full. Does nothing while a call into wasm is running (from a host
    /// function or a callback): there the references in the wasm frames
    /// are only known at allocations, where collections run anyway.
    pub fn gc(&mut self) {
        self.inner.opaque.collect_garbage();
    }
}
