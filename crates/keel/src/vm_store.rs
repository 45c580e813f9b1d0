//! The store as the runtime's builtins see it ([`VMStore`]): growth
//! decisions of the resource limiter, fuel refills, the epoch callback and
//! the exception collector's roots, each reporting a failure as
//! [`StoreTrap`] with the error recorded in the store.

use crate::StoreContextMut;
use crate::store::{StoreInner, StoreOpaque};
use crate::{ResourceLimiter, Result, UpdateDeadline};
use keel_vm::{StoreTrap, VMStore, VmError};

impl<T> StoreInner<T> {
    /// The store as the runtime's builtins see it, with its lifetime
    /// erased: only stored in the store context while a call borrows the
    /// store exclusively (VM-5), and cleared when the call returns.
    pub(crate) fn as_vm_store(&mut self) -> core::ptr::NonNull<dyn VMStore> {
        let ptr: core::ptr::NonNull<dyn VMStore + '_> = core::ptr::NonNull::from(self);
        // SAFETY: only the trait object's lifetime bound changes; the
        // pointer is used only while the store is alive and borrowed by
        // the call that published it.
        unsafe {
            core::mem::transmute::<
                core::ptr::NonNull<dyn VMStore + '_>,
                core::ptr::NonNull<dyn VMStore + 'static>,
            >(ptr)
        }
    }

    /// Record `result`'s error (if any) for the builtin's caller to report.
    fn record<R>(&mut self, result: Result<R>) -> Result<R, StoreTrap> {
        result.map_err(|e| {
            self.opaque.pending_error = Some(e);
            StoreTrap
        })
    }

    /// Ask the limiter with `ask` (`allow` without one), recording an
    /// error for the builtin's caller to report.
    fn ask_limiter<R>(
        &mut self,
        allow: R,
        ask: impl FnOnce(&mut dyn ResourceLimiter) -> Result<R>,
    ) -> Result<R, StoreTrap> {
        let result = match self.resource_limiter() {
            Some(limiter) => ask(limiter),
            None => Ok(allow),
        };
        self.record(result)
    }
}

impl<T> VMStore for StoreInner<T> {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap> {
        self.ask_limiter(true, |l| l.memory_growing(current, desired, maximum))
    }

    fn gc_heap_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap> {
        self.ask_limiter(true, |l| l.memory_growing(current, desired, maximum))
    }

    fn memory_grow_failed(&mut self, error: VmError) -> Result<(), StoreTrap> {
        self.ask_limiter((), |l| l.memory_grow_failed(error.into()))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, StoreTrap> {
        self.ask_limiter(true, |l| l.table_growing(current, desired, maximum))
    }

    fn table_grow_failed(&mut self, error: VmError) -> Result<(), StoreTrap> {
        self.ask_limiter((), |l| l.table_grow_failed(error.into()))
    }

    fn out_of_gas(&mut self) -> Result<(), StoreTrap> {
        // Move fuel from the reserve into the counter, if any is left.
        let left = self.opaque.fuel_left();
        if left == 0 {
            return Err(StoreTrap);
        }
        self.opaque.inject_fuel(left);
        // The counter ran out at a yield interval: let other work run.
        // A synchronous call just goes on.
        if self.opaque.async_state.fuel_yield_interval().is_some()
            && self.opaque.async_state.on_fiber()
        {
            // SAFETY: the store's `async_cx` is its running fiber's.
            let result = unsafe { crate::fiber::yield_now(self.opaque.async_state.cx()) };
            self.record(result)?;
        }
        Ok(())
    }

    fn is_subtype(
        &self,
        a: keel_translate::SharedTypeIndex,
        b: keel_translate::SharedTypeIndex,
    ) -> bool {
        self.opaque.engine.is_subtype(a, b)
    }

    fn gc_heap(&mut self) -> &mut keel_vm::GcHeap {
        self.opaque.exceptions.heap_mut()
    }

    fn trace_gc_roots(&mut self, visit: &mut dyn FnMut(usize)) -> bool {
        self.opaque.trace_gc_roots(visit)
    }

    fn epoch_deadline_reached(&self) -> bool {
        self.opaque.epoch_deadline().reached()
    }

    fn epoch_interruption(&self) -> bool {
        self.opaque.engine.config().epoch_interruption
    }

    fn new_epoch(&mut self) -> Result<(), StoreTrap> {
        let Some(mut callback) = self.epoch_callback.take() else {
            // Trap with `Interrupt`.
            return Err(StoreTrap);
        };
        let changes = self.epoch_behavior_changes;
        // The callback may call into wasm while the interrupted wasm's
        // frames have no recorded exit frame (a builtin called us, not a
        // wasm-to-host trampoline).
        let outer = self.opaque.activations.begin_builtin_callback();
        let result = callback(StoreContextMut(self));
        self.opaque.activations.end_builtin_callback(outer);
        // Put the callback back unless it chose another behaviour.
        if self.epoch_behavior_changes == changes {
            self.epoch_callback = Some(callback);
        }
        match self.record(result)? {
            UpdateDeadline::Continue(ticks) => self.opaque.set_epoch_deadline(ticks),
            UpdateDeadline::Yield(ticks) => {
                // SAFETY: the store's `async_cx` is null or its running
                // fiber's.
                let result = unsafe { crate::fiber::yield_now(self.opaque.async_state.cx()) };
                self.record(result)?;
                // Counted from when the guest runs again, so that each
                // resumption gets a whole time slice (as Wasmtime does).
                self.opaque.set_epoch_deadline(ticks);
            }
        }
        Ok(())
    }
}

impl StoreOpaque {
    /// Visit every GC root of the store besides the frames of the running
    /// activation: the wasm frames of the activations it interrupted, the
    /// host's roots ([`Rooted`](crate::Rooted), [`OwnedRooted`](crate::OwnedRooted),
    /// held exceptions), and the globals, tables and segments of every
    /// instance. `false`, having visited nothing, when an interrupted
    /// activation's frames cannot be walked.
    pub(crate) fn trace_gc_roots(&mut self, visit: &mut dyn FnMut(usize)) -> bool {
        let Some(outer_exits) = self.activations.outer_exits() else {
            return false;
        };
        self.exceptions.trace_holds(visit);
        self.gc_roots.trace(visit);
        for &(pc, fp) in outer_exits {
            // SAFETY: each is the exit frame of an activation that called
            // the host, which called wasm again (`call_raw`): its wasm
            // frames are live below the running one, at calls.
            unsafe { keel_trap::unwind::trace_stack_roots(pc, fp, visit) };
        }
        for instance in &self.instances {
            instance.handle.trace_gc_roots(visit);
        }
        true
    }

    /// Collect the GC heap now, when no wasm runs on the store (whose
    /// frames hold references only their stack maps know); otherwise do
    /// nothing.
    pub(crate) fn collect_garbage(&mut self) {
        if self.activations.active() {
            return;
        }
        let mut roots = keel_vm::GcRoots::default();
        if !self.trace_gc_roots(&mut |raw| roots.visit(raw)) {
            return;
        }
        // SAFETY: no wasm runs on this store, so no frame holds a
        // reference; the roots are every other place one can be read from
        // (`trace_gc_roots`), besides the pinned and unescaped objects.
        unsafe { self.exceptions.heap_mut().collect(&roots) };
    }
}

impl<T> StoreInner<T> {
    /// Make room for a host allocation of `size` bytes on the GC heap:
    /// collect when the heap is due or full and no wasm runs (whose
    /// frames hold references only their stack maps know), then grow the
    /// heap as the resource limiter allows.
    ///
    /// # Errors
    ///
    /// [`GcHeapOutOfMemory`](crate::GcHeapOutOfMemory) when the heap cannot
    /// hold `size` more bytes, or the limiter's error.
    pub(crate) fn gc_make_room(&mut self, size: usize) -> Result<()> {
        let heap = self.opaque.exceptions.heap();
        if heap.should_collect() || !heap.has_room(size) {
            self.opaque.collect_garbage();
        }
        let heap = self.opaque.exceptions.heap();
        if heap.has_room(size) {
            return Ok(());
        }
        let oom = || anyhow::Error::new(crate::GcHeapOutOfMemory::new(()));
        let target = heap.growth_target(size).ok_or_else(oom)?;
        let (current, limit) = (heap.capacity(), heap.limit());
        match self.gc_heap_growing(current, target, Some(limit)) {
            Ok(true) => {
                self.opaque.exceptions.heap_mut().set_capacity(target);
                Ok(())
            }
            Ok(false) => Err(oom()),
            Err(StoreTrap) => Err(self.opaque.take_pending_error()),
        }
    }
}
