//! The runtime for compiled WebAssembly: executable code memory, the
//! VMContext and instances, linear memories, tables, globals, function
//! references and the builtins compiled code calls.
//!
//! Embedders should use the `keel` crate; this crate holds the raw,
//! pointer-level pieces it is built from.
//!
//! # Invariants
//!
//! * **VM-1**: an [`Instance`] and its VMContext are heap-allocated and
//!   never move; the VMContext's `instance` field points back to it. They
//!   live as long as the store that owns them.
//! * **VM-2**: `current_length` always equals the committed, accessible
//!   size behind a linear memory's base. The base changes only when a
//!   *movable* memory grows past its reservation
//!   ([`MemoryTunables::memory_may_move`](keel_translate::MemoryTunables::memory_may_move):
//!   signals-based traps off and no declared maximum), and only inside
//!   `memory.grow` (or the host's grow), after which the new base is in
//!   the memory's definition before wasm runs again; compiled code for
//!   such a memory reloads the base after every call. Every other memory
//!   (guard pages, or a declared maximum) reserves its maximum when it is
//!   created and grows by committing pages inside the reservation, so its
//!   base never changes. Nothing may keep a host pointer into a movable
//!   memory across a call into wasm or a grow.
//! * **VM-3**: the `#[repr(C)]` `VM*` structs match the offsets in
//!   [`keel_translate::VMOffsets`] and its field modules (checked by tests).
//! * **VM-4**: code in a [`CodeMemory`] is immutable and executable for the
//!   memory's whole life, and registered with keel-trap while it lives
//!   (it is unregistered before it is unmapped).
//! * **VM-5** (aliasing model): a store owns its instances (boxed, VM-1);
//!   everything an instance points to (its VMContext, memories, tables,
//!   imported definitions, host contexts) is owned by the same store or
//!   is immutable engine data shared through `Arc`. All mutation happens
//!   under an exclusive borrow of the store: the host mutates through
//!   `&mut Store`, compiled code runs only inside a call that borrows the
//!   store exclusively and sees only raw `VMContext` pointers, and a
//!   builtin turns its `vmctx` into the one `&mut Instance` that exists
//!   for the builtin's duration ([`Instance::from_vmctx`]); it reaches other
//!   instances (owners of imported memories and tables) only through raw
//!   pointers, one access at a time. So instances, memories and tables are
//!   `Send` and `Sync`: moving or sharing the store moves or shares that
//!   exclusive access, never splits it.

#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod artifact;
mod backtrace;
mod builtins;
mod code_memory;
mod error;
mod exception;
mod gc;
mod gc_space;
mod instance;
mod lazy;
mod memory;
mod memory_image;
mod pool;
mod shared_memory;
mod store;
mod sys;
mod table;
mod table_image;
mod vmcontext;

pub use backtrace::{FrameInfo, symbolize};
pub use builtins::BUILTINS;
pub use code_memory::{CodeMemory, ModuleCode};
pub use error::VmError;
pub use exception::{VMExnObject, VMTagDefinition, throw};
pub use gc::{GcAllocError, GcHeap, GcRoots, VMGcHeader};
pub use instance::{
    ImportedMemory, ImportedTable, Imports, Instance, InstanceCode, InstanceHandle,
    InstantiationError, MAX_TABLE_ELEMENTS, MemorySetup,
};
pub use lazy::{LazyCode, LazyCompiler, LazyHandle, LazyInner};
pub use memory::LinearMemory;
pub use memory_image::{MemoryImage, MemoryImages};
pub use pool::{InstancePool, PoolLimits};
pub use shared_memory::{SharedMemory, atomic_notify, atomic_wait};
pub use store::{StoreTrap, VMStore};
pub use table::Table;
pub use table_image::{TableImage, TableImages};
pub use vmcontext::*;
