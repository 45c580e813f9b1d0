//! Async support: wasm calls that run on a fiber and suspend it, so the
//! embedder gets a future it can poll, drop, or move to another thread.
//!
//! [`on_fiber`] wraps work on a store (a call, an instantiation) in a
//! [`FiberFuture`]. Each poll resumes the fiber with the poll's
//! [`Context`]; the work runs until it finishes or something on the
//! fiber must wait:
//!
//! * an async host function's future is pending ([`block_on`]);
//! * the epoch deadline asks to yield
//!   ([`Store::epoch_deadline_async_yield_and_update`](crate::Store::epoch_deadline_async_yield_and_update));
//! * fuel reached the store's yield interval
//!   ([`Store::fuel_async_yield_interval`](crate::Store::fuel_async_yield_interval)).
//!
//! It then suspends the fiber and the poll returns `Pending`. The fiber
//! and the poller share only an [`AsyncCx`] (never the store), so the
//! store stays exclusively the fiber's while it is suspended.
//!
//! Dropping a future whose fiber is suspended cancels the call: the fiber
//! is resumed once more with the call marked cancelled, every pending
//! suspension point fails with an error, the wasm frames unwind as for
//! any host error, and the stack goes back to the store's cache.

use crate::Result;
use crate::prelude::*;
use crate::store::StoreInner;
use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};
use keel_trap::{Fiber, FiberStack};

use crate::fiber_state::AsyncCx;

/// The error a suspension point returns once its call is cancelled.
fn cancelled_error() -> anyhow::Error {
    anyhow::anyhow!("the async call was cancelled: its future was dropped while suspended")
}

/// Poll `future` to completion from code running on a fiber of
/// `async_cx`, suspending the fiber each time the future is pending.
///
/// # Errors
///
/// When not running on a fiber (`async_cx` is null: a synchronous call
/// reached an async host function or an async yield), or when the call
/// is cancelled while waiting.
///
/// # Safety
///
/// `async_cx` must be null or the [`AsyncCx`] of the fiber this code runs
/// on (the store's `async_cx` while a [`FiberFuture`] runs it).
pub(crate) unsafe fn block_on<F: Future + ?Sized>(
    async_cx: *const AsyncCx,
    mut future: Pin<&mut F>,
) -> Result<F::Output> {
    if async_cx.is_null() {
        anyhow::bail!(
            "cannot suspend a synchronous call: async host functions and async yields \
             need `call_async` (and `Config::async_support`)"
        );
    }
    // SAFETY: per the contract, the fiber's `AsyncCx`, alive while it runs.
    let acx = unsafe { &*async_cx };
    loop {
        if acx.cancelled.get() {
            return Err(cancelled_error());
        }
        let cx = acx.poll_cx.get();
        debug_assert!(!cx.is_null(), "a fiber runs only inside a poll");
        // SAFETY: the poll that resumed us is waiting in `Fiber::resume`;
        // its context is alive until we suspend or finish.
        if let Poll::Ready(output) = future.as_mut().poll(unsafe { &mut *cx }) {
            return Ok(output);
        }
        // SAFETY: set when the fiber started; we run on that fiber.
        unsafe { (*acx.suspend.get()).suspend() };
    }
}

/// Pending once (waking its task at once), then ready: a yield.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Suspend the fiber once, letting the executor run other work.
///
/// # Errors
///
/// As [`block_on`].
///
/// # Safety
///
/// As [`block_on`].
pub(crate) unsafe fn yield_now(async_cx: *const AsyncCx) -> Result<()> {
    let mut y = YieldNow(false);
    // SAFETY: per the caller's contract.
    unsafe { block_on(async_cx, Pin::new(&mut y)) }
}

/// What [`FiberFuture`] owns and its fiber writes: the shared context and
/// the work's result.
struct CallState<R> {
    async_cx: AsyncCx,
    result: Option<R>,
}

/// Puts a store's `async_cx` and activation depth back when dropped.
struct RestoreOuterCall<T>(*mut StoreInner<T>, (*const AsyncCx, usize));

impl<T> Drop for RestoreOuterCall<T> {
    fn drop(&mut self) {
        // SAFETY: the store outlives the fiber's work, which holds this.
        unsafe {
            let opaque = &mut (*self.0).opaque;
            opaque.async_state.replace_cx(self.1.0);
            opaque.activations.resume_depth(self.1.1);
        }
    }
}

/// A raw pointer that may cross to the thread the future is polled on.
pub(crate) struct SendPtr<P>(pub(crate) P);
// SAFETY: used only for pointers into the store or into a `FiberFuture`,
// whose futures are `Send` only when what those hold is.
unsafe impl<P> Send for SendPtr<P> {}

impl<P: Copy> SendPtr<P> {
    /// The pointer (a method, so closures capture the whole wrapper).
    pub(crate) fn get(&self) -> P {
        self.0
    }
}

/// Fail unless `engine` allows async work; `what` names it in the error.
pub(crate) fn ensure_async_support(engine: &crate::Engine, what: &str) -> Result<()> {
    anyhow::ensure!(
        engine.config().async_support,
        "async support is not enabled: {what} need `Config::async_support(true)`"
    );
    Ok(())
}

/// The future of work running on a fiber with exclusive use of a store;
/// see the module documentation.
pub(crate) struct FiberFuture<'s, T, R> {
    store: *mut StoreInner<T>,
    fiber: Option<Fiber<'s>>,
    /// Owned (`Box::into_raw`, freed in `Drop`); the fiber writes the
    /// result through its own copy of this pointer.
    state: NonNull<CallState<R>>,
    /// Why the fiber could not be created, reported by the first poll.
    error: Option<anyhow::Error>,
    _store: core::marker::PhantomData<&'s mut StoreInner<T>>,
}

// SAFETY: the fiber runs `f`, which is `Send`, on the store, whose data is
// `Send`; the result is `Send`. While suspended, the fiber's activations
// are off every thread's chain (FIBER-1) and its stack holds only values
// that came from those, so the whole call may move to another thread.
unsafe impl<T: Send, R: Send> Send for FiberFuture<'_, T, R> {}

/// Run `f` with the store on a fiber: a future of its result.
///
/// The fiber's stack comes from the store's cache (one stack) or is
/// allocated with [`Config::async_stack_size`](crate::Config::async_stack_size)
/// bytes; it goes back to the cache when the work is done.
pub(crate) fn on_fiber<'s, T, R: 's>(
    store: &'s mut StoreInner<T>,
    f: impl FnOnce(&mut StoreInner<T>) -> R + Send + 's,
) -> FiberFuture<'s, T, R> {
    let state = Box::into_raw(Box::new(CallState {
        async_cx: AsyncCx::new(),
        result: None,
    }));
    let stack = match store.opaque.async_state.take_stack() {
        Some(stack) => Ok(stack),
        None => FiberStack::new(store.opaque.engine.config().async_stack_size)
            .map_err(|e| anyhow::anyhow!("cannot allocate a stack for an async call: {e}")),
    };
    let store_ptr: *mut StoreInner<T> = store;
    let (fiber, error) = match stack {
        Ok(stack) => {
            let shared = SendPtr((store_ptr, state));
            let fiber = Fiber::new(stack, move |suspend| {
                let (store, state) = shared.get();
                // SAFETY: `state` is live until the future is dropped,
                // which first finishes the fiber; the store is borrowed by
                // the future for `'s`, and only the fiber uses it while it
                // runs (the poller touches only the `AsyncCx`).
                unsafe {
                    let acx = &raw const (*state).async_cx;
                    (*acx).suspend.set(suspend);
                    // A new stack: the work is an outermost entry into
                    // wasm there, with a stack limit of its own, even when
                    // an async host function of an outer call started it.
                    let previous = (
                        (*store).opaque.async_state.replace_cx(acx),
                        (*store).opaque.activations.take_depth(),
                    );
                    // Put the previous state back even if `f` panics.
                    let _restore = RestoreOuterCall(store, previous);
                    let result = f(&mut *store);
                    (&raw mut (*state).result).write(Some(result));
                }
            });
            match fiber {
                Ok(fiber) => (Some(fiber), None),
                Err(e) => (
                    None,
                    Some(anyhow::anyhow!("cannot start an async call: {e}")),
                ),
            }
        }
        Err(e) => (None, Some(e)),
    };
    FiberFuture {
        store: store_ptr,
        fiber,
        // SAFETY: `Box::into_raw` never returns null.
        state: unsafe { NonNull::new_unchecked(state) },
        error,
        _store: core::marker::PhantomData,
    }
}

impl<T, R> FiberFuture<'_, T, R> {
    /// Resume the fiber inside a poll with context `cx`; `true` when the
    /// work is done.
    fn resume(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(fiber) = self.fiber.as_mut() else {
            return true;
        };
        let state = self.state.as_ptr();
        // SAFETY: `state` is ours and live; only its `Cell`s are touched
        // while the fiber may hold its own pointer to it.
        let acx = unsafe { &(*state).async_cx };
        acx.poll_cx
            .set((cx as *mut Context<'_>).cast::<Context<'static>>());
        let done = fiber.resume();
        acx.poll_cx.set(core::ptr::null_mut());
        if done {
            self.recycle();
        }
        done
    }

    /// Give the finished fiber's stack back to the store's cache.
    fn recycle(&mut self) {
        if let Some(stack) = self.fiber.take().and_then(Fiber::into_stack) {
            // SAFETY: the fiber is done, so the store is the future's
            // again (borrowed for `'s`).
            unsafe { (*self.store).opaque.async_state.keep_stack(stack) };
        }
    }
}

impl<T, R> Future for FiberFuture<'_, T, R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let this = self.get_mut();
        if let Some(e) = this.error.take() {
            return Poll::Ready(Err(e));
        }
        if !this.resume(cx) {
            return Poll::Pending;
        }
        // SAFETY: the fiber is done; `state` is ours alone.
        match unsafe { (*this.state.as_ptr()).result.take() } {
            Some(result) => Poll::Ready(Ok(result)),
            None => Poll::Ready(Err(anyhow::anyhow!(
                "async call polled again after it completed"
            ))),
        }
    }
}

impl<T, R> Drop for FiberFuture<'_, T, R> {
    fn drop(&mut self) {
        if self.fiber.as_ref().is_some_and(Fiber::is_suspended) {
            // Cancel: resume until the fiber has unwound and finished.
            // SAFETY: `state` is live; only its `Cell`s are shared.
            unsafe { (*self.state.as_ptr()).async_cx.cancelled.set(true) };
            let mut cx = Context::from_waker(Waker::noop());
            while !self.resume(&mut cx) {}
        }
        // Finished or never started: keep the stack for the next call.
        self.recycle();
        // SAFETY: allocated in `on_fiber`; the fiber is finished, never
        // started, or gone, so nothing else points to it any more.
        drop(unsafe { Box::from_raw(self.state.as_ptr()) });
    }
}
