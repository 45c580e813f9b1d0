//! What keel-wasi needs from its home besides files: clocks, randomness,
//! sleeping and waiting for descriptors.

use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;

use crate::types::{ClockId, Errno};

/// A wait that does not block its thread ([`WasiSched::poll_async`]):
/// it completes when one of its descriptors may be ready or its timeout
/// has passed.
pub type WaitFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The clocks of `clock_time_get` and `clock_res_get`, in nanoseconds.
pub trait WasiClocks: Send + Sync {
    /// The time of `clock` (realtime: since the Unix epoch; monotonic: from
    /// an arbitrary start, never going back).
    ///
    /// # Errors
    ///
    /// `EINVAL` for a clock the backend does not have.
    fn now(&self, clock: ClockId) -> Result<u64, Errno>;

    /// The resolution of `clock`, at least 1.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a clock the backend does not have.
    fn resolution(&self, clock: ClockId) -> Result<u64, Errno>;
}

/// The source of `random_get`.
pub trait WasiRandom: Send + Sync {
    /// Fill `buf` with cryptographically secure random bytes.
    ///
    /// # Errors
    ///
    /// `EIO` if the source fails.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno>;
}

/// One descriptor `poll_oneoff` waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollFd {
    /// The backend's identifier ([`crate::WasiFile::pollable`]).
    pub pollable: i32,
    /// Wait for writability (else readability).
    pub write: bool,
    /// Set by [`WasiSched::poll`]: the descriptor is ready (or has hung
    /// up, or failed, which the following read/write reports).
    pub ready: bool,
    /// Set by [`WasiSched::poll`]: the other end hung up.
    pub hangup: bool,
}

/// Blocking: sleeping, yielding and waiting for descriptors.
pub trait WasiSched: Send + Sync {
    /// Block the calling thread for `nanos` nanoseconds.
    fn sleep(&self, nanos: u64);

    /// Let other threads run (`sched_yield`).
    fn yield_now(&self);

    /// Wait until at least one of `fds` is ready or `timeout` nanoseconds
    /// (`None`: no limit) have passed, and mark the ready ones.
    ///
    /// # Errors
    ///
    /// `ENOTSUP` if the backend cannot wait on descriptors; the backend's
    /// error otherwise.
    fn poll(&self, fds: &mut [PollFd], timeout: Option<u64>) -> Result<(), Errno>;

    /// Wait as [`poll`](WasiSched::poll) does, without blocking the
    /// thread: a future that completes when one of `fds` may be ready
    /// (the caller then asks [`poll`](WasiSched::poll) with a zero
    /// timeout which ones are) or `timeout` nanoseconds (`None`: no
    /// limit) have passed. `fds` are `ready: false`; an empty `fds` is a
    /// sleep.
    ///
    /// The functions of [`add_to_linker_async`](crate::p1::add_to_linker_async)
    /// await it, so a guest waiting for input or sleeping in
    /// `poll_oneoff` is a `Pending` future. The descriptors stay open
    /// until the future completes or is dropped.
    ///
    /// `None` (the default) when the backend cannot: those functions then
    /// block in [`poll`](WasiSched::poll) as the synchronous ones do (in
    /// slices of at most 10 ms under an epoch deadline).
    fn poll_async(&self, fds: &[PollFd], timeout: Option<u64>) -> Option<WaitFuture> {
        let _ = (fds, timeout);
        None
    }
}
