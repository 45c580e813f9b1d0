//! Epoch interruption ([`Config::epoch_interruption`](crate::Config::epoch_interruption)):
//! a store's deadline on the engine's epoch counter, what reaching it does
//! ([`UpdateDeadline`], the callback), and [`EpochDeadline`], the deadline
//! detached from the store for host functions that wait. As Wasmtime's
//! methods of the same names.

use crate::prelude::*;
use crate::store::{EpochCallback, Store, StoreInner, StoreOpaque};
use crate::{Engine, Result, StoreContextMut, UpdateDeadline};

/// A store's epoch deadline, detached from the store
/// ([`Caller::epoch_deadline`](crate::Caller::epoch_deadline)): a host
/// function that waits polls [`reached`](EpochDeadline::reached) between
/// bounded waits, while it holds borrows of the store's memory or data.
/// It is `Send + Sync` and cheap to clone (an engine handle and a number),
/// so a backend may hand it to another thread.
#[derive(Clone)]
pub struct EpochDeadline {
    pub(crate) engine: Engine,
    /// The epoch at which the deadline is reached; `u64::MAX` (never)
    /// without epoch interruption.
    pub(crate) deadline: u64,
}

impl EpochDeadline {
    /// Whether the engine's epoch has reached the deadline: the guest's
    /// time is up, and the host function should return and call
    /// [`Caller::check_epoch_deadline`](crate::Caller::check_epoch_deadline).
    /// One relaxed atomic load.
    pub fn reached(&self) -> bool {
        self.deadline != u64::MAX && self.engine.current_epoch() >= self.deadline
    }

    /// Whether the deadline can be reached at all: `false` when the
    /// engine has no epoch interruption. A host function waits in bounded
    /// slices only when it is.
    pub fn enabled(&self) -> bool {
        self.deadline != u64::MAX
    }

    /// A deadline that is never reached, for waits outside any store.
    pub fn never(engine: &Engine) -> EpochDeadline {
        EpochDeadline {
            engine: engine.clone(),
            deadline: u64::MAX,
        }
    }
}

impl core::fmt::Debug for EpochDeadline {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EpochDeadline")
            .field("deadline", &self.deadline)
            .field("epoch", &self.engine.current_epoch())
            .finish()
    }
}

impl<T> Store<T> {
    /// Set the epoch deadline to `ticks_beyond_current` ticks after the
    /// engine's current epoch
    /// ([`Config::epoch_interruption`](crate::Config::epoch_interruption)).
    /// Wasm reaching it traps or runs the callback, see
    /// [`epoch_deadline_trap`](Store::epoch_deadline_trap) and
    /// [`epoch_deadline_callback`](Store::epoch_deadline_callback).
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.inner.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// Reaching the epoch deadline suspends the guest and, when it is
    /// resumed, moves the deadline `delta` ticks past the epoch at that
    /// time (a time slice of `delta` ticks per resumption), as Wasmtime's
    /// method of the same name: an async call ([`Func::call_async`](crate::Func::call_async),
    /// [`TypedFunc::call_async`](crate::TypedFunc::call_async)) returns
    /// `Pending` and wakes its task at once, so an executor can run other
    /// guests before it polls this one again. A synchronous call that
    /// reaches the deadline traps with an error saying it cannot yield.
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.inner
            .set_epoch_callback(Some(Box::new(move |_| Ok(UpdateDeadline::Yield(delta)))));
    }

    /// Reaching the epoch deadline traps with
    /// [`Trap::Interrupt`](crate::Trap::Interrupt) (the default).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.set_epoch_callback(None);
    }

    /// Reaching the epoch deadline calls `callback` with the store. It
    /// returns [`UpdateDeadline::Continue`]`(ticks)` to let the guest go
    /// on with a deadline `ticks` past the current epoch, or an error,
    /// which stops the guest: the wasm call returns that error (with the
    /// wasm backtrace attached).
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync + 'static,
    ) {
        self.inner.set_epoch_callback(Some(Box::new(callback)));
    }
}

impl StoreOpaque {
    /// The store's epoch deadline as it stands, detached from the store
    /// (never reached when the engine has no epoch interruption).
    pub(crate) fn epoch_deadline(&self) -> crate::EpochDeadline {
        let deadline = if self.engine.config().epoch_interruption {
            // SAFETY: as in `inject_fuel`.
            unsafe { (*self.store_context.as_ptr()).epoch_deadline }
        } else {
            u64::MAX
        };
        crate::EpochDeadline {
            engine: self.engine.clone(),
            deadline,
        }
    }

    pub(crate) fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        let deadline = self
            .engine
            .current_epoch()
            .saturating_add(ticks_beyond_current);
        // SAFETY: as in `inject_fuel`.
        unsafe { (*self.store_context.as_ptr()).epoch_deadline = deadline };
    }
}

impl<T> StoreInner<T> {
    pub(crate) fn set_epoch_callback(&mut self, callback: Option<EpochCallback<T>>) {
        self.epoch_callback = callback;
        self.epoch_behavior_changes += 1;
    }
}
