//! [`Store`]: owner of instances, host functions and host state, and the
//! context traits that let APIs take a store, a [`Caller`] or a reference.

use crate::func::{Caller, FuncData};
use crate::instance::InstanceData;
use crate::prelude::*;
use crate::{Engine, Func};
use core::sync::atomic::{AtomicU64, Ordering};
use hashbrown::HashMap;
use keel_vm::{VMHostFuncContext, VMStoreContext};

/// Identifies a store; handles carry it so a handle from another store is
/// detected instead of misused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// The part of a store that does not depend on its host data type.
pub(crate) struct StoreOpaque {
    pub(crate) id: StoreId,
    pub(crate) engine: Engine,
    /// Read and written by compiled code through every VMContext, and by
    /// host calls; owned through a raw pointer so those pointers stay
    /// valid (VM-5).
    pub(crate) store_context: RawStoreContext,
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) funcs: Vec<FuncData>,
    pub(crate) func_by_ref: HashMap<usize, Func>,
    /// Boxed: compiled code and tables hold pointers into each context.
    #[expect(clippy::vec_box, reason = "the contexts' addresses must not change")]
    pub(crate) host_contexts: Vec<Box<VMHostFuncContext>>,
    pub(crate) instance_by_vmctx: HashMap<usize, usize>,
    /// Host data of extern references; boxed so raw references stay valid.
    #[expect(clippy::vec_box, reason = "raw externrefs are the boxes' addresses")]
    pub(crate) externrefs: Vec<Box<crate::externref::ExternData>>,
    pub(crate) externref_by_ptr: HashMap<usize, crate::ExternRef>,
    /// How many host-to-wasm calls are active on this store.
    pub(crate) wasm_depth: usize,
}

/// The store's [`VMStoreContext`], owned through a raw pointer: compiled
/// code, trampolines and host calls all reach it through copies of this
/// one pointer, and Rust code only ever accesses it through the pointer
/// too (never through a `Box` whose reborrows would invalidate the copies).
pub(crate) struct RawStoreContext(core::ptr::NonNull<VMStoreContext>);

impl RawStoreContext {
    fn new() -> Self {
        // SAFETY: `Box::into_raw` never returns null.
        Self(unsafe { core::ptr::NonNull::new_unchecked(Box::into_raw(Box::default())) })
    }

    /// The pointer every VMContext of the store holds.
    pub(crate) fn as_ptr(&self) -> *mut VMStoreContext {
        self.0.as_ptr()
    }
}

impl Drop for RawStoreContext {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `new`; dropped once, with the store,
        // after which no instance or host function of the store runs.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl StoreOpaque {
    /// Panic unless `id` is this store's.
    #[track_caller]
    pub(crate) fn check(&self, id: StoreId) {
        assert!(id == self.id, "object used with the wrong store");
    }
}

// SAFETY: every raw pointer in a store points either into memory the
// store itself owns (instances and their VMContexts, memories and tables,
// host function contexts, extern reference data: all freed with the store)
// or into engine data shared through `Arc`s that are `Send + Sync` (code,
// type ids, builtins). Nothing refers to the creating thread: the stack
// limit is set on each outermost entry into wasm, on the entering thread,
// and no call is in progress when the store can move (calls borrow it
// exclusively). Host closures and extern reference data are required to
// be `Send + Sync` when they are added. So moving the store moves
// exclusive ownership of all of it (VM-5).
unsafe impl Send for StoreOpaque {}
// SAFETY: a shared `&StoreOpaque` only reads plain fields; every mutation
// of the store or of anything its pointers reach needs `&mut` (VM-5).
unsafe impl Sync for StoreOpaque {}

pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
}

/// Owns everything instantiated in it (instances, memories, tables,
/// globals, host functions) and the embedder's data `T`, which host
/// functions reach through [`Caller::data`].
///
/// Everything is freed when the store is dropped.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

impl<T> core::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.opaque.id)
            .finish_non_exhaustive()
    }
}

impl<T> Store<T> {
    /// A new, empty store for modules of `engine`, holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        Store {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: StoreId::fresh(),
                    engine: engine.clone(),
                    store_context: RawStoreContext::new(),
                    instances: Vec::new(),
                    funcs: Vec::new(),
                    func_by_ref: HashMap::new(),
                    host_contexts: Vec::new(),
                    instance_by_vmctx: HashMap::new(),
                    externrefs: Vec::new(),
                    externref_by_ptr: HashMap::new(),
                    wasm_depth: 0,
                },
                data,
            }),
        }
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Take the host data out, dropping the store.
    pub fn into_data(self) -> T {
        self.inner.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }
}

impl<T: Default> Default for Store<T> {
    /// A store for the default [`Engine`] holding `T::default()`.
    ///
    /// # Panics
    ///
    /// As [`Engine::default`], if the host CPU is not supported.
    fn default() -> Self {
        Store::new(&Engine::default(), T::default())
    }
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
}

/// Something that gives shared access to a store: [`Store`],
/// [`StoreContext`], [`StoreContextMut`], [`Caller`], or a reference to one.
pub trait AsContext {
    /// The store's host data type.
    type Data;

    /// Borrow the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Something that gives exclusive access to a store.
pub trait AsContextMut: AsContext {
    /// Borrow the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

impl<'a, T> From<&'a Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<&'a Caller<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a Caller<'_, T>) -> Self {
        StoreContext(c.store)
    }
}

impl<'a, T> From<&'a mut Caller<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a mut Caller<'_, T>) -> Self {
        StoreContext(c.store)
    }
}

impl<'a, T> From<StoreContextMut<'a, T>> for StoreContext<'a, T> {
    fn from(c: StoreContextMut<'a, T>) -> Self {
        StoreContext(c.0)
    }
}

impl<'a, T> From<&'a StoreContextMut<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a StoreContextMut<'_, T>) -> Self {
        StoreContext(c.0)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContextMut<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContextMut(&mut s.inner)
    }
}

impl<'a, T> From<&'a mut Caller<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut Caller<'_, T>) -> Self {
        StoreContextMut(c.store)
    }
}

impl<'a, T> From<&'a mut StoreContextMut<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut StoreContextMut<'_, T>) -> Self {
        StoreContextMut(c.0)
    }
}
