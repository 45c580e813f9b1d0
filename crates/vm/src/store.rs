//! [`VMStore`]: what the runtime asks of the store that runs wasm (fuel,
//! epoch deadlines, resource limits). The `keel` crate implements it for
//! its stores; the store context publishes the running store as a
//! `*mut dyn VMStore` ([`VMStoreContext::store`](crate::VMStoreContext)).

use crate::VmError;

/// The store failed an operation with an error it has recorded: the
/// builtin returns a failure status, compiled code traps, and the runtime
/// reports the recorded error in place of the trap code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreTrap;

/// The store side of guest control, called by builtins (from compiled
/// code) and by the host API. Sizes are in bytes for memories and in
/// elements for tables, as Wasmtime's `ResourceLimiter`.
pub trait VMStore {
    /// A memory is about to grow from `current` to `desired` bytes
    /// (`maximum`: its declared maximum, if any). `Ok(false)` refuses
    /// (`memory.grow` returns -1), `Err` traps.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap>;

    /// Growing a memory failed after `memory_growing` allowed it (past
    /// its maximum, or the platform refused); `Err` traps.
    fn memory_grow_failed(&mut self, error: VmError) -> Result<(), StoreTrap>;

    /// A table is about to grow from `current` to `desired` elements.
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap>;

    /// Growing a table failed after `table_growing` allowed it.
    fn table_grow_failed(&mut self, error: VmError) -> Result<(), StoreTrap>;

    /// The fuel counter in the store context reached zero: refuel it and
    /// return `Ok`, or return `Err` to trap with `OutOfFuel`.
    fn out_of_gas(&mut self) -> Result<(), StoreTrap>;

    /// The engine epoch reached the store context's deadline: move the
    /// deadline and return `Ok`, or return `Err` to trap with `Interrupt`
    /// (or with an error the store recorded).
    fn new_epoch(&mut self) -> Result<(), StoreTrap>;

    /// Whether the store has epoch interruption on and the engine epoch
    /// has reached its deadline: what compiled code checks at function
    /// entries and loop headers, for code that waits outside wasm (an
    /// atomic wait) to call [`VMStore::new_epoch`] as it would.
    fn epoch_deadline_reached(&self) -> bool;

    /// Whether the store's engine compiles epoch checks
    /// (`Config::epoch_interruption`): only then do waits outside wasm
    /// look at the deadline.
    fn epoch_interruption(&self) -> bool;

    /// Whether engine type `a` is `b` or declares it as a (transitive)
    /// supertype (the engine's type registry answers).
    fn is_subtype(
        &self,
        a: keel_translate::SharedTypeIndex,
        b: keel_translate::SharedTypeIndex,
    ) -> bool;

    /// The store's GC heap is about to grow from `current` to `desired`
    /// bytes (`maximum`: its limit): `Ok(false)` refuses (the allocation
    /// fails), `Err` traps with the error the store recorded. Asks the
    /// store's resource limiter as for a linear memory.
    fn gc_heap_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap>;

    /// The store's exception objects, where `throw` allocates.
    fn gc_heap(&mut self) -> &mut crate::GcHeap;

    /// Visit every `exnref` value, null ones included, that the store's
    /// collector must treat as a root besides the frames of the running
    /// activation: the wasm frames of the activations it interrupted (a
    /// host function that called wasm again), and the `exnref` globals and
    /// table elements of every instance (see
    /// [`Instance::trace_gc_roots`](crate::Instance::trace_gc_roots)).
    /// Returns `false`, having visited nothing, when some interrupted
    /// activation's frames cannot be walked (a store callback run by a
    /// builtin called wasm): then no collection may run.
    fn trace_gc_roots(&mut self, visit: &mut dyn FnMut(usize)) -> bool;
}
