//! The handles into a store: [`StoreId`] and the public handle types
//! ([`Func`], [`Memory`], [`Table`], [`Global`], [`Tag`], [`ExternRef`],
//! [`Instance`], [`Extern`]). Each is plain data (the store's id and an
//! index into one of its parts), defined here so the store's parts can
//! hold handles without importing the files that give them their methods
//! (`func.rs`, `externals.rs`, `exception.rs`, `externref.rs`,
//! `instance.rs`). A handle is only valid with the store whose id it
//! carries; every method checks it.

use crate::SharedMemory;
use core::sync::atomic::{AtomicU64, Ordering};
use keel_translate::{DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex};

/// Identifies a store; handles carry it so a handle from another store is
/// detected instead of misused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A function in a store: exported by an instance or defined by the host.
///
/// A `Func` is a handle; it is only valid with the store that created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// A linear memory (spec:
/// [Memory Instances](https://webassembly.github.io/spec/core/exec/runtime.html#memory-instances)):
/// a byte array of a whole number of
/// 64 KiB pages, growable up to its maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) instance: usize,
    pub(crate) index: DefinedMemoryIndex,
}

/// A table of references (spec:
/// [Table Instances](https://webassembly.github.io/spec/core/exec/runtime.html#table-instances)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) instance: usize,
    pub(crate) index: DefinedTableIndex,
}

/// A global variable (spec:
/// [Global Instances](https://webassembly.github.io/spec/core/exec/runtime.html#global-instances)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) instance: usize,
    pub(crate) index: DefinedGlobalIndex,
}

/// A tag: the identity an exception is thrown with and caught by (spec:
/// [Tag Instances](https://webassembly.github.io/spec/core/exec/runtime.html#tag-instances)).
/// Every instantiation of a module that defines a tag makes a new one;
/// [`Tag::new`] makes one on the host. Two `Tag`s are equal when they are
/// the same tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// A reference into the `extern` hierarchy: a host value (made with
/// [`ExternRef::new`]) or an `any` value made external
/// (`extern.convert_any`). Held as a [`Rooted<ExternRef>`](crate::Rooted);
/// host values live on the store's GC heap and are dropped once no
/// root, wasm frame, global, table or object refers to them.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct ExternRef {
    pub(crate) inner: GcRootIndex,
}

/// Where a reference the host holds is rooted: a LIFO root of a store
/// (its index and generation). The inside of every
/// [`GcRef`](crate::GcRef) type; see `rooting.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GcRootIndex {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
    pub(crate) generation: u64,
}

/// An instantiated module in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// An external entity: what imports and exports are (spec:
/// [External Values](https://webassembly.github.io/spec/core/exec/runtime.html#external-values)).
#[derive(Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A global.
    Global(Global),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A shared linear memory (threads), which belongs to no store.
    SharedMemory(SharedMemory),
    /// A tag (exception handling).
    Tag(Tag),
}
