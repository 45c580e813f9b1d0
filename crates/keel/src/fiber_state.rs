//! A store's async state ([`AsyncState`]): the fiber running its async
//! call (through the [`AsyncCx`] the fiber and its poller share), the
//! stack kept for the next call, and the fuel yield interval. The async
//! machinery is in `fiber.rs`.

use core::cell::Cell;
use core::task::Context;
use keel_trap::{FiberStack, Suspend};

/// What a fiber and the future polling it share: cells that the fiber
/// (in `block_on`) and the poller (`FiberFuture`) take turns to use, never
/// at once, since the fiber runs only inside a poll.
pub(crate) struct AsyncCx {
    /// The fiber's suspend handle, set when it starts.
    pub(crate) suspend: Cell<*const Suspend>,
    /// The context of the poll that is running the fiber; null otherwise.
    pub(crate) poll_cx: Cell<*mut Context<'static>>,
    /// The future was dropped: every suspension point fails from now on.
    pub(crate) cancelled: Cell<bool>,
}

impl AsyncCx {
    /// A context for a fiber that has not started.
    pub(crate) fn new() -> Self {
        AsyncCx {
            suspend: Cell::new(core::ptr::null()),
            poll_cx: Cell::new(core::ptr::null_mut()),
            cancelled: Cell::new(false),
        }
    }
}

/// A store's async state: the fiber running its async call, the stack
/// kept for the next one, and the fuel yield interval.
pub(crate) struct AsyncState {
    /// The running fiber's context, or null outside async calls.
    cx: *const AsyncCx,
    /// A stack kept from the last async call for the next one.
    stack: Option<FiberStack>,
    /// Yield every this many units of fuel in async calls
    /// ([`Store::fuel_async_yield_interval`](crate::Store::fuel_async_yield_interval)).
    fuel_yield_interval: Option<u64>,
}

impl Default for AsyncState {
    fn default() -> Self {
        AsyncState {
            cx: core::ptr::null(),
            stack: None,
            fuel_yield_interval: None,
        }
    }
}

impl AsyncState {
    /// The running fiber's context, or null: what [`block_on`] and
    /// [`yield_now`] take.
    #[inline]
    pub(crate) fn cx(&self) -> *const AsyncCx {
        self.cx
    }

    /// Make `cx` the running fiber's context (null: none); returns the
    /// previous one.
    #[inline]
    pub(crate) fn replace_cx(&mut self, cx: *const AsyncCx) -> *const AsyncCx {
        core::mem::replace(&mut self.cx, cx)
    }

    /// Take the stack kept from the last async call, if any.
    pub(crate) fn take_stack(&mut self) -> Option<FiberStack> {
        self.stack.take()
    }

    /// Keep `stack` for the next async call.
    pub(crate) fn keep_stack(&mut self, stack: FiberStack) {
        self.stack = Some(stack);
    }

    /// Whether an async call is running.
    #[inline]
    pub(crate) fn on_fiber(&self) -> bool {
        !self.cx.is_null()
    }

    /// The fuel yield interval (`None`: never yield).
    #[inline]
    pub(crate) fn fuel_yield_interval(&self) -> Option<u64> {
        self.fuel_yield_interval
    }

    /// Set the fuel yield interval.
    pub(crate) fn set_fuel_yield_interval(&mut self, interval: Option<u64>) {
        self.fuel_yield_interval = interval;
    }
}
