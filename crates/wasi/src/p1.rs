//! WASI preview 1 under Wasmtime 49's names (`wasmtime_wasi::p1`): the 46
//! functions of `wasi_snapshot_preview1` over [`WasiP1Ctx`], and
//! [`add_to_linker_sync`] and [`add_to_linker_async`], which define them in
//! a [`Linker`].
//!
//! Reference: [the preview 1 witx and its
//! documentation](https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/docs.md).
//! Each function returns an `errno` (0 on success) except `proc_exit`,
//! which ends the call with [`I32Exit`].

#![expect(
    clippy::too_many_arguments,
    reason = "each function takes the witx signature's parameters and the memory"
)]

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use keel::{Caller, Extern, Linker};

use crate::I32Exit;
use crate::ctx::{CallState, Desc, DirDesc, FileDesc, Wait, WasiCtx};
use crate::dir::{OpenOptions, Opened};
use crate::memory::GuestMemory;
use crate::sched::PollFd;
use crate::types::layout::*;
use crate::types::{
    Advice, ClockId, DirPerms, Errno, FdFlags, FilePerms, Filestat, Filetype, FstFlags, OFlags,
    Rights, SeekFrom, SetTime,
};

/// The context the preview-1 functions run against: keel's [`WasiCtx`]
/// (keel-wasi implements preview 1 only), under the name wasmtime-wasi
/// gives its preview-1 context, so code written for
/// `wasmtime_wasi::p1::WasiP1Ctx` compiles unchanged. Built by
/// [`WasiCtxBuilder::build_p1`](crate::WasiCtxBuilder::build_p1).
pub type WasiP1Ctx = WasiCtx;

/// How a WASI function failed: an errno for the guest, or an error that
/// ends the call (a trap, [`I32Exit`]).
pub(crate) enum Error {
    Errno(Errno),
    Trap(keel::Error),
    /// The store's epoch deadline passed while the function waited or
    /// worked, before it changed anything the guest can see (or with
    /// its progress kept in [`WasiCtx::call`]): the store decides
    /// whether the call ends or the function runs again.
    Interrupted,
    /// An async call must wait for [`WasiCtx::call`]'s `wait` before
    /// the function runs again; like [`Error::Interrupted`], nothing the
    /// guest can see has changed (or the progress is kept).
    Blocked,
    /// The function needs this many bytes of host memory, more than the
    /// call may use unasked ([`HOST_MEMORY_UNASKED`]): the store's
    /// limiter decides ([`Caller::host_memory_allocating`]) before it
    /// runs again; nothing has changed.
    HostMemory(usize),
}

impl From<Errno> for Error {
    fn from(errno: Errno) -> Error {
        Error::Errno(errno)
    }
}

type Result<T = (), E = Error> = core::result::Result<T, E>;

/// The module name of WASI preview 1 imports.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// At most this many iovecs in one `fd_read`, `fd_write`, `fd_pread`,
/// `fd_pwrite`, `sock_recv` or `sock_send` (Linux's `IOV_MAX`): more is
/// `EINVAL`, as for `readv(2)`, so a guest cannot make the host allocate
/// a list as large as its memory.
pub const MAX_IOVECS: u32 = 1024;

/// At most this many subscriptions in one `poll_oneoff`; more is
/// `EINVAL`. The host keeps about 40 bytes per subscription and event,
/// so one call allocates at most a few megabytes.
pub const MAX_POLL_SUBSCRIPTIONS: u32 = 65_536;

/// At most this many bytes in a path argument (Linux's `PATH_MAX`);
/// longer is `ENAMETOOLONG`.
pub const MAX_PATH_LEN: u32 = 4096;

/// Host memory, in bytes, a call may allocate for the guest without
/// asking the store's limiter ([`Caller::host_memory_allocating`]): paths
/// and iovec lists stay below it; `poll_oneoff` with more than about 700
/// subscriptions asks.
const HOST_MEMORY_UNASKED: usize = 64 * 1024;

/// Bytes one step of a transfer or of `random_get` moves before the
/// store's epoch deadline is looked at again.
const CHUNK: usize = 1 << 20;

/// Nanoseconds a wait (`poll_oneoff`, a read on a pipe) lasts at most
/// before the store's epoch deadline is looked at again: the latency with
/// which `keel run -W timeout` or an epoch deadline stops a waiting guest.
const WAIT_SLICE: u64 = 10_000_000;

/// Bytes a write to a pipe, terminal or socket moves at most after the
/// wait for it to be writable ([`WasiCtx::wait_ready`]): POSIX's
/// `PIPE_BUF` (Linux: 4,096), what a pipe that polls writable takes
/// without blocking. A longer request gets a short count (legal in WASI;
/// libc writes the rest in the next call).
const PIPE_BUF: u32 = 4096;

/// Call `$mac!` with the signatures of the 45 functions of
/// `wasi_snapshot_preview1` that return an errno (all but `proc_exit`).
macro_rules! for_each_function {
    ($mac:ident) => {
        $mac! {
            args_get(argv: i32, argv_buf: i32);
            args_sizes_get(argc: i32, argv_buf_size: i32);
            environ_get(environ: i32, environ_buf: i32);
            environ_sizes_get(count: i32, buf_size: i32);
            clock_res_get(id: i32, resolution: i32);
            clock_time_get(id: i32, precision: i64, time: i32);
            fd_advise(fd: i32, offset: i64, len: i64, advice: i32);
            fd_allocate(fd: i32, offset: i64, len: i64);
            fd_close(fd: i32);
            fd_datasync(fd: i32);
            fd_fdstat_get(fd: i32, stat: i32);
            fd_fdstat_set_flags(fd: i32, flags: i32);
            fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64);
            fd_filestat_get(fd: i32, stat: i32);
            fd_filestat_set_size(fd: i32, size: i64);
            fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, flags: i32);
            fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nread: i32);
            fd_prestat_get(fd: i32, prestat: i32);
            fd_prestat_dir_name(fd: i32, path: i32, path_len: i32);
            fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten: i32);
            fd_read(fd: i32, iovs: i32, iovs_len: i32, nread: i32);
            fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, bufused: i32);
            fd_renumber(fd: i32, to: i32);
            fd_seek(fd: i32, offset: i64, whence: i32, newoffset: i32);
            fd_sync(fd: i32);
            fd_tell(fd: i32, offset: i32);
            fd_write(fd: i32, iovs: i32, iovs_len: i32, nwritten: i32);
            path_create_directory(fd: i32, path: i32, path_len: i32);
            path_filestat_get(fd: i32, flags: i32, path: i32, path_len: i32, stat: i32);
            path_filestat_set_times(
                fd: i32, flags: i32, path: i32, path_len: i32, atim: i64, mtim: i64, fst_flags: i32
            );
            path_link(
                old_fd: i32, old_flags: i32, old_path: i32, old_path_len: i32,
                new_fd: i32, new_path: i32, new_path_len: i32
            );
            path_open(
                fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32,
                rights_base: i64, rights_inheriting: i64, fdflags: i32, opened: i32
            );
            path_readlink(fd: i32, path: i32, path_len: i32, buf: i32, buf_len: i32, bufused: i32);
            path_remove_directory(fd: i32, path: i32, path_len: i32);
            path_rename(
                fd: i32, old_path: i32, old_path_len: i32, new_fd: i32, new_path: i32,
                new_path_len: i32
            );
            path_symlink(old_path: i32, old_path_len: i32, fd: i32, new_path: i32, new_path_len: i32);
            path_unlink_file(fd: i32, path: i32, path_len: i32);
            poll_oneoff(subscriptions: i32, events: i32, nsubscriptions: i32, nevents: i32);
            proc_raise(signal: i32);
            sched_yield();
            random_get(buf: i32, buf_len: i32);
            sock_accept(fd: i32, flags: i32, new_fd: i32);
            sock_recv(
                fd: i32, ri_data: i32, ri_data_len: i32, ri_flags: i32, ro_datalen: i32, ro_flags: i32
            );
            sock_send(fd: i32, si_data: i32, si_data_len: i32, si_flags: i32, so_datalen: i32);
            sock_shutdown(fd: i32, how: i32);
        }
    };
}

/// Define the 46 functions of `wasi_snapshot_preview1` in `linker`, each
/// reaching its [`WasiCtx`] through `get_cx` from the store's data (as
/// wasmtime-wasi's `add_to_linker_sync`): e.g.
/// `keel_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)`.
///
/// The functions find the caller's linear memory through its export named
/// `memory`; a call from a module without one ends with an error. A
/// function that waits (`poll_oneoff`, a read from a pipe) blocks the
/// thread; under an epoch deadline it looks at the deadline every 10 ms
/// and ends as compiled code would ([`Caller::check_epoch_deadline`]).
///
/// # Errors
///
/// If a function of that module is already defined in `linker` and
/// shadowing is off.
pub fn add_to_linker_sync<T: 'static>(
    linker: &mut Linker<T>,
    get_cx: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> keel::Result<()> {
    macro_rules! define {
        ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
            linker.func_wrap(
                MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> keel::Result<i32> {
                    call(&mut caller, get_cx, stringify!($name), |cx, mem| cx.$name(mem, $($arg),*))
                },
            )?;
        )*};
    }
    for_each_function!(define);
    // `proc_exit` returns nothing: it always ends the call.
    linker.func_wrap(
        MODULE,
        "proc_exit",
        move |mut caller: Caller<'_, T>, code: i32| -> keel::Result<()> {
            call(&mut caller, get_cx, "proc_exit", |cx, _| cx.proc_exit(code))?;
            Ok(())
        },
    )?;
    Ok(())
}

/// As [`add_to_linker_sync`], for an engine with
/// [`Config::async_support`](keel::Config::async_support) (as
/// wasmtime-wasi's async `add_to_linker_async`): the functions are async
/// host functions, and a call that waits (`poll_oneoff` on clocks or
/// descriptors, `fd_read`/`fd_write`/`sock_*` on a pipe, terminal or
/// socket that is not ready, `sched_yield`) suspends the guest: its
/// `call_async` future is `Pending` until the wait ends
/// ([`WasiSched::poll_async`](crate::WasiSched::poll_async); the hosted
/// backend wakes it from async-io's reactor), and the executor's thread
/// is free meanwhile. Dropping the future cancels the call; an epoch
/// deadline ends the wait within 10 ms, and a callback that returns
/// [`UpdateDeadline::Yield`](keel::UpdateDeadline::Yield) suspends the
/// guest again and lets it go on.
///
/// Work that does not wait (file I/O, `random_get`) runs as in
/// [`add_to_linker_sync`], in steps of 1 MiB between which the deadline is
/// looked at.
///
/// # Errors
///
/// If async support is not enabled in the engine, or a function of that
/// module is already defined in `linker` and shadowing is off.
pub fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    get_cx: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> keel::Result<()> {
    macro_rules! define {
        ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
            linker.func_wrap_async(
                MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, ($($arg,)*): ($($ty,)*)| {
                    Box::new(async move {
                        call_async(&mut caller, get_cx, stringify!($name), |cx, mem| {
                            cx.$name(mem, $($arg),*)
                        })
                        .await
                    })
                },
            )?;
        )*};
    }
    for_each_function!(define);
    linker.func_wrap_async(
        MODULE,
        "proc_exit",
        move |mut caller: Caller<'_, T>, (code,): (i32,)| {
            Box::new(async move {
                call_async(&mut caller, get_cx, "proc_exit", |cx, _| cx.proc_exit(code)).await?;
                Ok(())
            })
        },
    )?;
    Ok(())
}

/// What one attempt of a WASI function came to.
enum Step {
    /// The call's result: an errno, or an error that ends it.
    Done(keel::Result<i32>),
    /// The store's epoch deadline passed ([`Error::Interrupted`]).
    Interrupted,
    /// An async call must wait ([`Error::Blocked`]).
    Blocked,
    /// The function needs host memory ([`Error::HostMemory`]); `attempt`
    /// asks the store's limiter and returns `Done` or `Again`.
    HostMemory(usize),
    /// The limiter allowed the host memory: run the function again.
    Again,
}

/// Run one attempt of a WASI function for `caller`: find its memory and
/// context, map the outcome to an errno or an error that ends the call.
/// `first` starts the call's [`WasiCtx::call`] state afresh.
fn attempt<T>(
    caller: &mut Caller<'_, T>,
    get_cx: &impl Fn(&mut T) -> &mut WasiCtx,
    name: &str,
    first: bool,
    asynchronous: bool,
    body: &mut impl FnMut(&mut WasiCtx, &mut GuestMemory<'_>) -> Result,
) -> Step {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Step::Done(Err(keel::Error::msg(alloc::format!(
            "WASI function `{name}` called by a module that exports no memory named `memory`"
        ))));
    };
    let deadline = caller.epoch_deadline();
    let (data, state) = memory.data_and_store_mut(&mut *caller);
    let mut mem = GuestMemory::new(data);
    let cx = get_cx(state);
    if first {
        cx.call = CallState::default();
    }
    cx.call.deadline = Some(deadline);
    cx.call.asynchronous = asynchronous;
    let step = match body(cx, &mut mem) {
        Ok(()) => Step::Done(Ok(0)),
        Err(Error::Errno(errno)) => Step::Done(Ok(i32::from(errno as u16))),
        Err(Error::Trap(error)) => Step::Done(Err(error)),
        Err(Error::Interrupted) => Step::Interrupted,
        Err(Error::Blocked) => Step::Blocked,
        Err(Error::HostMemory(bytes)) => Step::HostMemory(bytes),
    };
    if let Step::Done(_) = step {
        cx.call = CallState::default();
    }
    match step {
        Step::HostMemory(bytes) => match ask_host_memory(caller, get_cx, bytes) {
            Some(result) => Step::Done(result),
            None => Step::Again,
        },
        step => step,
    }
}

/// After an interrupted or blocked attempt: let the store decide as
/// compiled code would ([`Caller::check_epoch_deadline`]) whether the
/// call ends (with its `Interrupt` trap or its callback's error) or the
/// function runs again (with the new deadline; relative timeouts still
/// count from the first attempt, and work done is kept in
/// [`WasiCtx::call`]).
fn check_deadline<T>(
    caller: &mut Caller<'_, T>,
    get_cx: &impl Fn(&mut T) -> &mut WasiCtx,
) -> keel::Result<()> {
    caller.check_epoch_deadline().inspect_err(|_| {
        get_cx(caller.data_mut()).call = CallState::default();
    })
}

/// Ask the store's limiter for `bytes` of host memory for the call: `None`
/// to run the function again with them, or the call's result (`ENOMEM`
/// when refused, the limiter's error).
fn ask_host_memory<T>(
    caller: &mut Caller<'_, T>,
    get_cx: &impl Fn(&mut T) -> &mut WasiCtx,
    bytes: usize,
) -> Option<keel::Result<i32>> {
    let allowed = caller.host_memory_allocating(bytes);
    let cx = get_cx(caller.data_mut());
    match allowed {
        Ok(true) => {
            cx.call.host_memory = bytes;
            None
        }
        Ok(false) => {
            cx.call = CallState::default();
            Some(Ok(i32::from(Errno::Nomem as u16)))
        }
        Err(error) => {
            cx.call = CallState::default();
            Some(Err(error))
        }
    }
}

/// Run one WASI function for `caller`, synchronously: waits block the
/// thread (in slices of [`WAIT_SLICE`] under an epoch deadline).
fn call<T>(
    caller: &mut Caller<'_, T>,
    get_cx: impl Fn(&mut T) -> &mut WasiCtx,
    name: &str,
    mut body: impl FnMut(&mut WasiCtx, &mut GuestMemory<'_>) -> Result,
) -> keel::Result<i32> {
    let mut first = true;
    loop {
        match attempt(caller, &get_cx, name, first, false, &mut body) {
            Step::Done(result) => return result,
            Step::Interrupted | Step::Blocked => check_deadline(caller, &get_cx)?,
            Step::HostMemory(_) | Step::Again => {}
        }
        first = false;
    }
}

/// Run one WASI function for `caller` in an async call: a wait is the
/// backend's [`WasiSched::poll_async`] future (at most [`WAIT_SLICE`]
/// under an epoch deadline), awaited with no borrow of the store or the
/// memory held; then the function runs again.
async fn call_async<T>(
    caller: &mut Caller<'_, T>,
    get_cx: impl Fn(&mut T) -> &mut WasiCtx,
    name: &str,
    mut body: impl FnMut(&mut WasiCtx, &mut GuestMemory<'_>) -> Result,
) -> keel::Result<i32> {
    let mut first = true;
    loop {
        match attempt(caller, &get_cx, name, first, true, &mut body) {
            Step::Done(result) => return result,
            Step::Interrupted => {}
            Step::HostMemory(_) | Step::Again => {}
            Step::Blocked => {
                let cx = get_cx(caller.data_mut());
                match cx.call.wait.take() {
                    Some(Wait::Poll { mut fds, until }) => {
                        let now = cx.clocks.now(ClockId::Monotonic).unwrap_or(0);
                        let mut timeout = until.map(|until| until.saturating_sub(now));
                        if cx.bounded() {
                            timeout = Some(timeout.map_or(WAIT_SLICE, |t| t.min(WAIT_SLICE)));
                        }
                        match cx.sched.poll_async(&fds, timeout) {
                            Some(wait) => wait.await,
                            // The backend cannot wait without blocking;
                            // an error shows on the next attempt's poll.
                            None => {
                                let _ = cx.sched.poll(&mut fds, timeout);
                            }
                        }
                    }
                    Some(Wait::Yield) => YieldNow(false).await,
                    None => {}
                }
            }
        }
        check_deadline(caller, &get_cx)?;
        first = false;
    }
}

/// Pending once (waking its task at once), then ready: lets the executor
/// run other tasks.
struct YieldNow(bool);

impl core::future::Future for YieldNow {
    type Output = ();
    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        if self.0 {
            return core::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        core::task::Poll::Pending
    }
}

impl WasiCtx {
    /// Whether the calling store's epoch deadline has passed.
    fn deadline_reached(&self) -> bool {
        self.call.deadline.as_ref().is_some_and(|d| d.reached())
    }

    /// Whether waits must come back to look at the deadline (the store
    /// has epoch interruption).
    fn bounded(&self) -> bool {
        self.call.deadline.as_ref().is_some_and(|d| d.enabled())
    }

    /// The monotonic time of the call's first attempt.
    fn call_start(&mut self) -> Result<u64> {
        if let Some(started) = self.call.started {
            return Ok(started);
        }
        let now = self.clocks.now(ClockId::Monotonic)?;
        self.call.started = Some(now);
        Ok(now)
    }

    /// Sleep until the monotonic time `until`, in slices of at most
    /// [`WAIT_SLICE`] when the deadline must be watched.
    fn sleep_until(&mut self, until: u64) -> Result {
        loop {
            let now = self.clocks.now(ClockId::Monotonic)?;
            if now >= until {
                return Ok(());
            }
            if self.deadline_reached() {
                return Err(Error::Interrupted);
            }
            if self.call.asynchronous {
                return Err(self.block(Vec::new(), Some(until)));
            }
            let mut nanos = until - now;
            if self.bounded() {
                nanos = nanos.min(WAIT_SLICE);
            }
            self.sched.sleep(nanos);
        }
    }

    /// Ask for `bytes` of host memory for this call: `Ok` if they are few
    /// ([`HOST_MEMORY_UNASKED`]) or the store's limiter has allowed
    /// them, else [`Error::HostMemory`] (call before changing anything).
    fn reserve(&mut self, bytes: usize) -> Result {
        if bytes <= HOST_MEMORY_UNASKED || bytes <= self.call.host_memory {
            return Ok(());
        }
        Err(Error::HostMemory(bytes))
    }

    /// End an async attempt that must wait for `fds` or the monotonic
    /// time `until`.
    fn block(&mut self, fds: Vec<PollFd>, until: Option<u64>) -> Error {
        self.call.wait = Some(Wait::Poll { fds, until });
        Error::Blocked
    }

    /// Wait until one of `fds` is ready or the monotonic time `until`
    /// (`None`: no limit), in slices of at most [`WAIT_SLICE`] when the
    /// deadline must be watched. An async call only looks (a zero
    /// timeout) and, if nothing is ready, ends the attempt with
    /// [`Error::Blocked`].
    fn poll_until(&mut self, fds: &mut [PollFd], until: Option<u64>) -> Result {
        loop {
            let now = self.clocks.now(ClockId::Monotonic)?;
            let mut timeout = until.map(|until| until.saturating_sub(now));
            if self.call.asynchronous {
                timeout = Some(0);
            } else if self.bounded() {
                timeout = Some(timeout.map_or(WAIT_SLICE, |t| t.min(WAIT_SLICE)));
            }
            self.sched.poll(fds, timeout)?;
            if fds.iter().any(|fd| fd.ready) {
                return Ok(());
            }
            if let Some(until) = until
                && self.clocks.now(ClockId::Monotonic)? >= until
            {
                return Ok(());
            }
            if self.deadline_reached() {
                return Err(Error::Interrupted);
            }
            if self.call.asynchronous {
                let fds = fds
                    .iter()
                    .map(|fd| PollFd {
                        ready: false,
                        hangup: false,
                        ..*fd
                    })
                    .collect();
                return Err(self.block(fds, until));
            }
        }
    }

    /// Before a read or write that may block on descriptor `fd` (a pipe,
    /// a terminal, a socket): wait until it is ready, watching the
    /// deadline (an async call: without blocking). Nothing to do for
    /// regular files, non-blocking descriptors, in a synchronous call
    /// without epoch interruption, or when the backend cannot poll (the
    /// transfer then blocks as it would).
    ///
    /// The largest write that cannot block after the wait: [`PIPE_BUF`]
    /// bytes when it waited (a pipe with room for one byte has room for
    /// `PIPE_BUF`), else no limit.
    fn wait_ready(&mut self, fd: i32, write: bool) -> Result<u32> {
        if !self.bounded() && !self.call.asynchronous {
            return Ok(u32::MAX);
        }
        let pollable = match self.fds.get(fd as u32) {
            Some(Desc::File(file)) if !file.file.fdflags().contains(FdFlags::NONBLOCK) => {
                file.file.pollable()
            }
            _ => None,
        };
        let Some(pollable) = pollable else {
            return Ok(u32::MAX);
        };
        let mut fds = [PollFd {
            pollable,
            write,
            ready: false,
            hangup: false,
        }];
        match self.poll_until(&mut fds, None) {
            Ok(()) => Ok(PIPE_BUF),
            Err(Error::Errno(_)) => Ok(u32::MAX),
            Err(other) => Err(other),
        }
    }
}

/// Rights of a file descriptor, from how it was opened (before any are
/// dropped).
fn file_rights(file: &FileDesc) -> Rights {
    let mut rights =
        Rights::FD_FDSTAT_SET_FLAGS | Rights::FD_FILESTAT_GET | Rights::POLL_FD_READWRITE;
    if file.read {
        rights |= Rights::FD_READ;
    }
    if file.write {
        rights |= Rights::FD_WRITE | Rights::FD_DATASYNC | Rights::FD_SYNC | Rights::FD_ALLOCATE;
    }
    match file.file.filetype() {
        Filetype::RegularFile => {
            rights |= Rights::FD_SEEK | Rights::FD_TELL | Rights::FD_ADVISE;
            if file.write {
                rights |= Rights::FD_FILESTAT_SET_SIZE;
            }
            if file.mutable {
                rights |= Rights::FD_FILESTAT_SET_TIMES;
            }
        }
        Filetype::SocketStream | Filetype::SocketDgram => {
            rights |= Rights::SOCK_SHUTDOWN | Rights::SOCK_ACCEPT;
        }
        _ => {}
    }
    rights
}

/// Rights of a directory descriptor, from the preopen's permissions
/// (before any are dropped): (`fs_rights_base`, `fs_rights_inheriting`).
fn dir_rights(dir: &DirDesc) -> (Rights, Rights) {
    let mut base = Rights::FD_FILESTAT_GET
        | Rights::FD_FDSTAT_SET_FLAGS
        | Rights::FD_SYNC
        | Rights::FD_DATASYNC;
    if dir.dir_perms.contains(DirPerms::READ) {
        base |= Rights::FD_READDIR
            | Rights::PATH_OPEN
            | Rights::PATH_FILESTAT_GET
            | Rights::PATH_READLINK;
    }
    if dir.dir_perms.contains(DirPerms::MUTATE) {
        base |= Rights::PATH_CREATE_DIRECTORY
            | Rights::PATH_CREATE_FILE
            | Rights::PATH_LINK_SOURCE
            | Rights::PATH_LINK_TARGET
            | Rights::PATH_RENAME_SOURCE
            | Rights::PATH_RENAME_TARGET
            | Rights::PATH_FILESTAT_SET_SIZE
            | Rights::PATH_FILESTAT_SET_TIMES
            | Rights::FD_FILESTAT_SET_TIMES
            | Rights::PATH_SYMLINK
            | Rights::PATH_REMOVE_DIRECTORY
            | Rights::PATH_UNLINK_FILE;
    }
    let mut inheriting = base;
    if dir.file_perms.contains(FilePerms::READ) {
        inheriting |= Rights::FD_READ
            | Rights::FD_SEEK
            | Rights::FD_TELL
            | Rights::FD_ADVISE
            | Rights::POLL_FD_READWRITE;
    }
    if dir.file_perms.contains(FilePerms::WRITE) {
        inheriting |= Rights::FD_WRITE
            | Rights::FD_ALLOCATE
            | Rights::FD_FILESTAT_SET_SIZE
            | Rights::FD_FILESTAT_SET_TIMES;
    }
    (base, inheriting)
}

/// The rights `fd_fdstat_get` reports: (`fs_rights_base`,
/// `fs_rights_inheriting`), less those dropped. A file passes none on.
fn rights_of(desc: &Desc) -> (Rights, Rights) {
    match desc {
        Desc::File(file) => (file_rights(file) - file.dropped, Rights::empty()),
        Desc::Dir(dir) => {
            let (base, inheriting) = dir_rights(dir);
            (base - dir.dropped, inheriting - dir.dropped_inheriting)
        }
    }
}

/// A `u16` flags argument: `EINVAL` for bits the witx does not define.
fn decode_flags<F: bitflags::Flags<Bits = u16>>(raw: i32) -> Result<F, Errno> {
    u16::try_from(raw)
        .ok()
        .and_then(F::from_bits)
        .ok_or(Errno::Inval)
}

/// Decode `*_set_times` arguments.
fn set_times_args(atim: i64, mtim: i64, flags: i32) -> Result<(Option<SetTime>, Option<SetTime>)> {
    let flags = decode_flags::<FstFlags>(flags)?;
    let pick = |at: FstFlags, now: FstFlags, value: i64| -> Result<Option<SetTime>> {
        match (flags.contains(at), flags.contains(now)) {
            (true, true) => Err(Errno::Inval.into()),
            (true, false) => Ok(Some(SetTime::At(value as u64))),
            (false, true) => Ok(Some(SetTime::Now)),
            (false, false) => Ok(None),
        }
    };
    Ok((
        pick(FstFlags::ATIM, FstFlags::ATIM_NOW, atim)?,
        pick(FstFlags::MTIM, FstFlags::MTIM_NOW, mtim)?,
    ))
}

fn write_filestat(mem: &mut GuestMemory<'_>, ptr: u32, stat: &Filestat) -> Result {
    mem.check_array(ptr, 1, FILESTAT_SIZE, 8)?;
    mem.write_u64(ptr, stat.dev)?;
    mem.write_u64(ptr + 8, stat.ino)?;
    mem.write_u64(ptr + 16, 0)?;
    mem.write_u8(ptr + 16, stat.filetype as u8)?;
    mem.write_u64(ptr + 24, stat.nlink)?;
    mem.write_u64(ptr + 32, stat.size)?;
    mem.write_u64(ptr + 40, stat.atim)?;
    mem.write_u64(ptr + 48, stat.mtim)?;
    mem.write_u64(ptr + 56, stat.ctim)?;
    Ok(())
}

/// A path argument: UTF-8 (`EILSEQ`) without NUL bytes (`EINVAL`), at
/// most [`MAX_PATH_LEN`] bytes (`ENAMETOOLONG`), so the host's copy stays
/// small whatever length the guest claims.
fn path_arg(mem: &GuestMemory<'_>, ptr: i32, len: i32) -> Result<String> {
    if len as u32 > MAX_PATH_LEN {
        mem.slice(ptr as u32, len as u32)?;
        return Err(Errno::Nametoolong.into());
    }
    let path = mem.str(ptr as u32, len as u32)?;
    if path.contains('\0') {
        return Err(Errno::Inval.into());
    }
    Ok(String::from(path))
}

/// `lookupflags`: only `symlink_follow` is defined.
fn lookup_follow(flags: i32) -> Result<bool> {
    match flags as u32 {
        0 => Ok(false),
        LOOKUPFLAGS_SYMLINK_FOLLOW => Ok(true),
        _ => Err(Errno::Inval.into()),
    }
}

/// Check that `dir` grants `perms`: `EPERM` otherwise (what wasmtime-wasi
/// reports for an operation the preopen's permissions forbid).
fn need_dir_perms(dir: &DirDesc, perms: DirPerms) -> Result {
    if dir.dir_perms.contains(perms) {
        Ok(())
    } else {
        Err(Errno::Perm.into())
    }
}

impl WasiCtx {
    /// Write a list of NUL-terminated strings and the pointer array to
    /// them, as `args_get`/`environ_get` do.
    fn write_strings(
        mem: &mut GuestMemory<'_>,
        items: impl Iterator<Item = Vec<u8>>,
        ptrs: i32,
        buf: i32,
    ) -> Result {
        let (mut ptr, mut at) = (ptrs as u32, buf as u32);
        for item in items {
            mem.write_u32(ptr, at)?;
            let len = u32::try_from(item.len() + 1).map_err(|_| Errno::Overflow)?;
            let dest = mem.slice_mut(at, len)?;
            dest[..item.len()].copy_from_slice(&item);
            dest[item.len()] = 0;
            ptr = ptr.checked_add(4).ok_or(Errno::Fault)?;
            at = at.checked_add(len).ok_or(Errno::Fault)?;
        }
        Ok(())
    }

    fn write_sizes(
        mem: &mut GuestMemory<'_>,
        lens: impl Iterator<Item = usize>,
        count_ptr: i32,
        size_ptr: i32,
    ) -> Result {
        let (mut count, mut size) = (0u32, 0u32);
        for len in lens {
            count = count.checked_add(1).ok_or(Errno::Overflow)?;
            let len = u32::try_from(len + 1).map_err(|_| Errno::Overflow)?;
            size = size.checked_add(len).ok_or(Errno::Overflow)?;
        }
        mem.write_u32(count_ptr as u32, count)?;
        mem.write_u32(size_ptr as u32, size)?;
        Ok(())
    }

    fn env_strings(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.env.iter().map(|(name, value)| {
            let mut item = Vec::with_capacity(name.len() + 1 + value.len());
            item.extend_from_slice(name.as_bytes());
            item.push(b'=');
            item.extend_from_slice(value.as_bytes());
            item
        })
    }

    fn args_get(&mut self, mem: &mut GuestMemory<'_>, argv: i32, argv_buf: i32) -> Result {
        let args = self.args.iter().map(|a| a.as_bytes().to_vec());
        Self::write_strings(mem, args, argv, argv_buf)
    }

    fn args_sizes_get(&mut self, mem: &mut GuestMemory<'_>, argc: i32, size: i32) -> Result {
        Self::write_sizes(mem, self.args.iter().map(String::len), argc, size)
    }

    fn environ_get(&mut self, mem: &mut GuestMemory<'_>, environ: i32, buf: i32) -> Result {
        Self::write_strings(mem, self.env_strings(), environ, buf)
    }

    fn environ_sizes_get(&mut self, mem: &mut GuestMemory<'_>, count: i32, size: i32) -> Result {
        let lens = self.env.iter().map(|(n, v)| n.len() + 1 + v.len());
        Self::write_sizes(mem, lens, count, size)
    }

    fn clock_res_get(&mut self, mem: &mut GuestMemory<'_>, id: i32, ptr: i32) -> Result {
        let clock = ClockId::from_raw(id as u32).ok_or(Errno::Inval)?;
        let resolution = self.clocks.resolution(clock)?;
        mem.write_u64(ptr as u32, resolution)?;
        Ok(())
    }

    fn clock_time_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: i32,
        _precision: i64,
        ptr: i32,
    ) -> Result {
        let clock = ClockId::from_raw(id as u32).ok_or(Errno::Inval)?;
        let now = self.clocks.now(clock)?;
        mem.write_u64(ptr as u32, now)?;
        Ok(())
    }

    fn fd_advise(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        fd: i32,
        offset: i64,
        len: i64,
        advice: i32,
    ) -> Result {
        let advice = u8::try_from(advice)
            .ok()
            .and_then(Advice::from_raw)
            .ok_or(Errno::Inval)?;
        let file = self.file(fd as u32)?;
        if file.file.filetype() != Filetype::RegularFile {
            return Err(Errno::Badf.into());
        }
        file.need(Rights::FD_ADVISE)?;
        file.file.advise(offset as u64, len as u64, advice)?;
        Ok(())
    }

    fn fd_allocate(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        fd: i32,
        _offset: i64,
        _len: i64,
    ) -> Result {
        // Preview 2, and so wasmtime-wasi's preview 1, has no allocate:
        // posix_fallocate reports it unsupported.
        self.file(fd as u32)?.need(Rights::FD_ALLOCATE)?;
        Err(Errno::Notsup.into())
    }

    fn fd_close(&mut self, _mem: &mut GuestMemory<'_>, fd: i32) -> Result {
        self.fds.remove(fd as u32).ok_or(Errno::Badf)?;
        Ok(())
    }

    fn fd_datasync(&mut self, _mem: &mut GuestMemory<'_>, fd: i32) -> Result {
        match self.desc(fd as u32)? {
            Desc::File(file) => {
                file.need(Rights::FD_DATASYNC)?;
                file.file.datasync()?;
            }
            Desc::Dir(_) => return Err(Errno::Badf.into()),
        }
        Ok(())
    }

    fn fd_sync(&mut self, _mem: &mut GuestMemory<'_>, fd: i32) -> Result {
        match self.desc(fd as u32)? {
            Desc::File(file) => {
                file.need(Rights::FD_SYNC)?;
                file.file.sync()?;
            }
            Desc::Dir(_) => return Err(Errno::Badf.into()),
        }
        Ok(())
    }

    fn fd_fdstat_get(&mut self, mem: &mut GuestMemory<'_>, fd: i32, ptr: i32) -> Result {
        let desc = self.desc(fd as u32)?;
        let (base, inheriting) = rights_of(desc);
        let (filetype, flags) = match desc {
            Desc::File(file) => (file.file.filetype(), file.file.fdflags()),
            Desc::Dir(_) => (Filetype::Directory, FdFlags::empty()),
        };
        let ptr = ptr as u32;
        mem.check_array(ptr, 1, FDSTAT_SIZE, 8)?;
        mem.write_u64(ptr, 0)?;
        mem.write_u8(ptr, filetype as u8)?;
        mem.write_u16(ptr + 2, flags.bits())?;
        mem.write_u64(ptr + 8, base.bits())?;
        mem.write_u64(ptr + 16, inheriting.bits())?;
        Ok(())
    }

    fn fd_fdstat_set_flags(&mut self, _mem: &mut GuestMemory<'_>, fd: i32, flags: i32) -> Result {
        let flags = decode_flags::<FdFlags>(flags)?;
        match self.desc(fd as u32)? {
            Desc::File(file) => {
                file.need(Rights::FD_FDSTAT_SET_FLAGS)?;
                file.file.set_fdflags(flags)?;
            }
            Desc::Dir(_) => return Err(Errno::Badf.into()),
        }
        Ok(())
    }

    fn fd_fdstat_set_rights(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        fd: i32,
        base: i64,
        inheriting: i64,
    ) -> Result {
        // Rights can only be removed: asking for one the descriptor does
        // not have (undefined bits included) is ENOTCAPABLE, and changes
        // nothing. The rights given up are kept with the descriptor and
        // checked from then on (wasmtime-wasi has no rights to narrow and
        // answers ENOTSUP).
        let (base, inheriting) = (
            Rights::from_bits_retain(base as u64),
            Rights::from_bits_retain(inheriting as u64),
        );
        let desc = self.desc(fd as u32)?;
        let (have, have_inheriting) = rights_of(desc);
        if !have.contains(base) || !have_inheriting.contains(inheriting) {
            return Err(Errno::Notcapable.into());
        }
        match desc {
            Desc::File(file) => file.dropped |= have - base,
            Desc::Dir(dir) => {
                dir.dropped |= have - base;
                dir.dropped_inheriting |= have_inheriting - inheriting;
            }
        }
        Ok(())
    }

    fn fd_filestat_get(&mut self, mem: &mut GuestMemory<'_>, fd: i32, ptr: i32) -> Result {
        let stat = match self.desc(fd as u32)? {
            Desc::File(file) => {
                file.need(Rights::FD_FILESTAT_GET)?;
                file.file.filestat()?
            }
            Desc::Dir(dir) => {
                dir.need(Rights::FD_FILESTAT_GET)?;
                dir.dir.filestat()?
            }
        };
        write_filestat(mem, ptr as u32, &stat)
    }

    fn fd_filestat_set_size(&mut self, _mem: &mut GuestMemory<'_>, fd: i32, size: i64) -> Result {
        let file = self.file(fd as u32)?;
        if !file.write {
            return Err(Errno::Badf.into());
        }
        file.need(Rights::FD_FILESTAT_SET_SIZE)?;
        file.file.set_size(size as u64)?;
        Ok(())
    }

    fn fd_filestat_set_times(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        fd: i32,
        atim: i64,
        mtim: i64,
        flags: i32,
    ) -> Result {
        let (atim, mtim) = set_times_args(atim, mtim, flags)?;
        match self.desc(fd as u32)? {
            Desc::File(file) => {
                if !file.mutable {
                    return Err(Errno::Perm.into());
                }
                file.need(Rights::FD_FILESTAT_SET_TIMES)?;
                file.file.set_times(atim, mtim)?;
            }
            Desc::Dir(dir) => {
                need_dir_perms(dir, DirPerms::MUTATE)?;
                dir.need(Rights::FD_FILESTAT_SET_TIMES)?;
                dir.dir.set_times(atim, mtim)?;
            }
        }
        Ok(())
    }

    /// The file entry for reading (`EBADF` if not opened for it or
    /// `FD_READ` was dropped).
    fn readable(&mut self, fd: i32) -> Result<&mut FileDesc> {
        let file = self.file(fd as u32)?;
        if !file.can_read() {
            return Err(Errno::Badf.into());
        }
        Ok(file)
    }

    /// The file entry for writing (`EBADF` if not opened for it or
    /// `FD_WRITE` was dropped).
    fn writable(&mut self, fd: i32) -> Result<&mut FileDesc> {
        let file = self.file(fd as u32)?;
        if !file.can_write() {
            return Err(Errno::Badf.into());
        }
        Ok(file)
    }

    /// Read into the guest's iovecs with `read(buf, offset_so_far)`. Only a
    /// regular file fills more than the first non-empty buffer: a stream
    /// returns what it has rather than block for the next buffer. The
    /// count never passes `u32::MAX` (the buffers beyond are left alone),
    /// and the transfer goes in [`CHUNK`]s: when `deadline_reached` says
    /// so between two, it stops with what it moved (a short count), or
    /// with [`Error::Interrupted`] before moving anything.
    fn read_iovecs(
        mem: &mut GuestMemory<'_>,
        file: &mut FileDesc,
        iovs: i32,
        iovs_len: i32,
        deadline_reached: &dyn Fn() -> bool,
        mut read: impl FnMut(&mut FileDesc, &mut [u8], u64) -> Result<usize, Errno>,
    ) -> Result<u32> {
        let iovecs = Self::iovecs(mem, iovs, iovs_len)?;
        let whole = file.file.filetype() == Filetype::RegularFile;
        let mut total: u32 = 0;
        for (ptr, len) in iovecs {
            let mut done = 0;
            let len = len.min(u32::MAX - total);
            while done < len {
                if deadline_reached() {
                    return if total == 0 {
                        Err(Error::Interrupted)
                    } else {
                        Ok(total)
                    };
                }
                let step = (len - done).min(CHUNK as u32);
                let buf = mem.slice_mut(ptr + done, step)?;
                let n = read(file, buf, u64::from(total))?.min(step as usize) as u32;
                done += n;
                total += n;
                if n < step || !whole {
                    return Ok(total);
                }
            }
        }
        Ok(total)
    }

    /// Write the guest's ciovecs with `write(buf, offset_so_far)`, until
    /// one is written short; counted and chunked as in
    /// [`read_iovecs`](Self::read_iovecs), so the count stored is always
    /// what was written.
    fn write_iovecs(
        mem: &mut GuestMemory<'_>,
        file: &mut FileDesc,
        iovs: i32,
        iovs_len: i32,
        deadline_reached: &dyn Fn() -> bool,
        max: u32,
        mut write: impl FnMut(&mut FileDesc, &[u8], u64) -> Result<usize, Errno>,
    ) -> Result<u32> {
        let iovecs = Self::iovecs(mem, iovs, iovs_len)?;
        let mut total: u32 = 0;
        for (ptr, len) in iovecs {
            let mut done = 0;
            let len = len.min(max - total);
            while done < len {
                if deadline_reached() {
                    return if total == 0 {
                        Err(Error::Interrupted)
                    } else {
                        Ok(total)
                    };
                }
                let step = (len - done).min(CHUNK as u32);
                let buf = mem.slice(ptr + done, step)?;
                let n = write(file, buf, u64::from(total))?.min(step as usize) as u32;
                done += n;
                total += n;
                if n < step {
                    return Ok(total);
                }
            }
        }
        Ok(total)
    }

    /// The iovec list at `iovs`: `EINVAL` past [`MAX_IOVECS`].
    fn iovecs(mem: &GuestMemory<'_>, iovs: i32, iovs_len: i32) -> Result<Vec<(u32, u32)>> {
        if iovs_len as u32 > MAX_IOVECS {
            return Err(Errno::Inval.into());
        }
        Ok(mem.iovecs(iovs as u32, iovs_len as u32)?)
    }

    /// `fd_read`, `fd_pread`, `fd_write`, `fd_pwrite`: move bytes between
    /// the guest's iovecs and the file (at `offset`, for the positional
    /// ones), then store the byte count at `count_ptr`.
    fn transfer(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        (iovs, iovs_len): (i32, i32),
        write: bool,
        offset: Option<i64>,
        count_ptr: i32,
    ) -> Result {
        mem.check_array(count_ptr as u32, 1, 4, 4)?;
        let at = |done: u64| -> Result<u64, Errno> {
            (offset.unwrap_or(0) as u64)
                .checked_add(done)
                .ok_or(Errno::Inval)
        };
        let max = match offset {
            None => self.wait_ready(fd, write)?,
            Some(_) => u32::MAX,
        };
        let deadline = self.call.deadline.clone();
        let reached = || deadline.as_ref().is_some_and(|d| d.reached());
        let n =
            if write {
                let file = self.writable(fd)?;
                Self::write_iovecs(mem, file, iovs, iovs_len, &reached, max, |f, buf, done| {
                    match offset {
                        None => f.file.write(buf),
                        Some(_) => f.file.pwrite(buf, at(done)?),
                    }
                })?
            } else {
                let file = self.readable(fd)?;
                Self::read_iovecs(
                    mem,
                    file,
                    iovs,
                    iovs_len,
                    &reached,
                    |f, buf, done| match offset {
                        None => f.file.read(buf),
                        Some(_) => f.file.pread(buf, at(done)?),
                    },
                )?
            };
        mem.write_u32(count_ptr as u32, n)?;
        Ok(())
    }

    fn fd_read(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        iovs: i32,
        len: i32,
        nread: i32,
    ) -> Result {
        self.transfer(mem, fd, (iovs, len), false, None, nread)
    }

    fn fd_pread(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        iovs: i32,
        len: i32,
        offset: i64,
        nread: i32,
    ) -> Result {
        self.transfer(mem, fd, (iovs, len), false, Some(offset), nread)
    }

    fn fd_write(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        iovs: i32,
        len: i32,
        nwritten: i32,
    ) -> Result {
        self.transfer(mem, fd, (iovs, len), true, None, nwritten)
    }

    fn fd_pwrite(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        iovs: i32,
        len: i32,
        offset: i64,
        nwritten: i32,
    ) -> Result {
        self.transfer(mem, fd, (iovs, len), true, Some(offset), nwritten)
    }

    fn fd_prestat_get(&mut self, mem: &mut GuestMemory<'_>, fd: i32, ptr: i32) -> Result {
        let Desc::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) = self.desc(fd as u32)?
        else {
            return Err(Errno::Badf.into());
        };
        let len = u32::try_from(name.len()).map_err(|_| Errno::Overflow)?;
        let ptr = ptr as u32;
        mem.check_array(ptr, 1, PRESTAT_SIZE, 4)?;
        mem.write_u32(ptr, 0)?;
        mem.write_u8(ptr, PREOPENTYPE_DIR)?;
        mem.write_u32(ptr + 4, len)?;
        Ok(())
    }

    fn fd_prestat_dir_name(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        path: i32,
        path_len: i32,
    ) -> Result {
        let name = match self.desc(fd as u32)? {
            Desc::Dir(DirDesc {
                preopen: Some(name),
                ..
            }) => name,
            // As wasmtime-wasi: an open descriptor that is not a preopen.
            _ => return Err(Errno::Notdir.into()),
        };
        if name.len() > path_len as u32 as usize {
            return Err(Errno::Nametoolong.into());
        }
        let dest = mem.slice_mut(path as u32, name.len() as u32)?;
        dest.copy_from_slice(name.as_bytes());
        Ok(())
    }

    fn fd_readdir(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        buf: i32,
        buf_len: i32,
        cookie: i64,
        bufused: i32,
    ) -> Result {
        let dir = match self.desc(fd as u32)? {
            Desc::Dir(dir) => dir,
            Desc::File(_) => return Err(Errno::Notdir.into()),
        };
        need_dir_perms(dir, DirPerms::READ)?;
        dir.need(Rights::FD_READDIR)?;
        mem.check_array(bufused as u32, 1, 4, 4)?;
        // Cookie 0 starts a scan (and sees the directory as it is now);
        // the cookies it hands out continue the same listing.
        if cookie == 0 || dir.listing.is_none() {
            dir.listing = Some(dir.dir.readdir()?);
        }
        let entries = dir.listing.as_deref().unwrap_or_default();
        let out = mem.slice_mut(buf as u32, buf_len as u32)?;
        let mut used = 0usize;
        let start = usize::try_from(cookie as u64).unwrap_or(usize::MAX);
        for (index, entry) in entries.iter().enumerate().skip(start) {
            let mut header = [0u8; DIRENT_SIZE as usize];
            header[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
            header[8..16].copy_from_slice(&entry.ino.to_le_bytes());
            let namlen = u32::try_from(entry.name.len()).map_err(|_| Errno::Overflow)?;
            header[16..20].copy_from_slice(&namlen.to_le_bytes());
            header[20] = entry.filetype as u8;
            for chunk in [&header[..], entry.name.as_bytes()] {
                let n = chunk.len().min(out.len() - used);
                out[used..used + n].copy_from_slice(&chunk[..n]);
                used += n;
            }
            if used == out.len() {
                break;
            }
        }
        mem.write_u32(bufused as u32, used as u32)?;
        Ok(())
    }

    fn fd_renumber(&mut self, _mem: &mut GuestMemory<'_>, fd: i32, to: i32) -> Result {
        let (fd, to) = (fd as u32, to as u32);
        if !self.fds.contains(fd) || !self.fds.contains(to) {
            return Err(Errno::Badf.into());
        }
        if fd != to {
            let desc = self.fds.remove(fd).ok_or(Errno::Badf)?;
            self.fds.insert(to, desc);
        }
        Ok(())
    }

    fn fd_seek(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        offset: i64,
        whence: i32,
        newoffset: i32,
    ) -> Result {
        let pos = match whence {
            0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(Errno::Inval.into()),
        };
        mem.check_array(newoffset as u32, 1, 8, 8)?;
        let file = self.file(fd as u32)?;
        file.need(if pos == SeekFrom::Current(0) {
            Rights::FD_TELL
        } else {
            Rights::FD_SEEK
        })?;
        let at = file.file.seek(pos)?;
        mem.write_u64(newoffset as u32, at)?;
        Ok(())
    }

    fn fd_tell(&mut self, mem: &mut GuestMemory<'_>, fd: i32, ptr: i32) -> Result {
        mem.check_array(ptr as u32, 1, 8, 8)?;
        let file = self.file(fd as u32)?;
        file.need(Rights::FD_TELL)?;
        let at = file.file.seek(SeekFrom::Current(0))?;
        mem.write_u64(ptr as u32, at)?;
        Ok(())
    }

    /// The directory `fd` (which must grant `perms` and not have dropped
    /// `right`) and the path argument at `path`/`len` of a `path_*`
    /// function.
    fn dir_path(
        &self,
        mem: &GuestMemory<'_>,
        fd: i32,
        (path, len): (i32, i32),
        perms: DirPerms,
        right: Rights,
    ) -> Result<(&DirDesc, String)> {
        let path = path_arg(mem, path, len)?;
        let dir = self.dir(fd as u32)?;
        need_dir_perms(dir, perms)?;
        dir.need(right)?;
        Ok((dir, path))
    }

    fn path_create_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        path: i32,
        path_len: i32,
    ) -> Result {
        let (dir, path) = self.dir_path(
            mem,
            fd,
            (path, path_len),
            DirPerms::MUTATE,
            Rights::PATH_CREATE_DIRECTORY,
        )?;
        dir.dir.create_dir(&path)?;
        Ok(())
    }

    fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        flags: i32,
        path: i32,
        path_len: i32,
        ptr: i32,
    ) -> Result {
        let follow = lookup_follow(flags)?;
        let (dir, path) = self.dir_path(
            mem,
            fd,
            (path, path_len),
            DirPerms::READ,
            Rights::PATH_FILESTAT_GET,
        )?;
        let stat = dir.dir.path_filestat(&path, follow)?;
        write_filestat(mem, ptr as u32, &stat)
    }

    fn path_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        flags: i32,
        path: i32,
        path_len: i32,
        atim: i64,
        mtim: i64,
        fst_flags: i32,
    ) -> Result {
        let follow = lookup_follow(flags)?;
        let (atim, mtim) = set_times_args(atim, mtim, fst_flags)?;
        let (dir, path) = self.dir_path(
            mem,
            fd,
            (path, path_len),
            DirPerms::MUTATE,
            Rights::PATH_FILESTAT_SET_TIMES,
        )?;
        dir.dir.path_set_times(&path, follow, atim, mtim)?;
        Ok(())
    }

    fn path_link(
        &mut self,
        mem: &mut GuestMemory<'_>,
        old_fd: i32,
        old_flags: i32,
        old_path: i32,
        old_path_len: i32,
        new_fd: i32,
        new_path: i32,
        new_path_len: i32,
    ) -> Result {
        let follow = lookup_follow(old_flags)?;
        let old_path = path_arg(mem, old_path, old_path_len)?;
        let new_path = path_arg(mem, new_path, new_path_len)?;
        let from = self.dir(old_fd as u32)?;
        let to = self.dir(new_fd as u32)?;
        need_dir_perms(to, DirPerms::MUTATE)?;
        from.need(Rights::PATH_LINK_SOURCE)?;
        to.need(Rights::PATH_LINK_TARGET)?;
        if follow {
            // As wasmtime-wasi (and the wasi-testsuite accepts it): no link
            // is made to what a symbolic link points to. Linking the link
            // itself instead, which a backend that cannot follow would do,
            // is not what was asked for.
            return Err(Errno::Inval.into());
        }
        from.dir.hard_link(&old_path, false, &*to.dir, &new_path)?;
        Ok(())
    }

    fn path_open(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        dirflags: i32,
        path: i32,
        path_len: i32,
        oflags: i32,
        rights_base: i64,
        _rights_inheriting: i64,
        fdflags: i32,
        opened: i32,
    ) -> Result {
        let follow = lookup_follow(dirflags)?;
        let oflags = decode_flags::<OFlags>(oflags)?;
        let fdflags = decode_flags::<FdFlags>(fdflags)?;
        let rights = Rights::from_bits_retain(rights_base as u64);
        let path = path_arg(mem, path, path_len)?;
        mem.check_array(opened as u32, 1, 4, 4)?;
        let dir = match self.desc(fd as u32)? {
            Desc::Dir(dir) => &*dir,
            Desc::File(_) => return Err(Errno::Notdir.into()),
        };
        // The open mode, as wasmtime-wasi chooses it: write for FD_WRITE,
        // CREAT or TRUNC; read for FD_READ, or when not writing.
        let write =
            rights.contains(Rights::FD_WRITE) || oflags.intersects(OFlags::CREAT | OFlags::TRUNC);
        let read = rights.contains(Rights::FD_READ) || !write;
        if fdflags.intersects(FdFlags::SYNC | FdFlags::DSYNC | FdFlags::RSYNC) {
            return Err(Errno::Notsup.into());
        }
        if oflags.contains(OFlags::DIRECTORY)
            && oflags.intersects(OFlags::CREAT | OFlags::EXCL | OFlags::TRUNC)
        {
            return Err(Errno::Inval.into());
        }
        let mut needed = Rights::PATH_OPEN;
        if oflags.contains(OFlags::CREAT) {
            needed |= Rights::PATH_CREATE_FILE;
        }
        if oflags.contains(OFlags::TRUNC) {
            needed |= Rights::PATH_FILESTAT_SET_SIZE;
        }
        dir.need(needed)?;
        // Creating needs the right to mutate the directory; writing, the
        // right to write its files.
        if oflags.contains(OFlags::CREAT) {
            need_dir_perms(dir, DirPerms::MUTATE)?;
        }
        if write && !dir.file_perms.contains(FilePerms::WRITE) {
            return Err(Errno::Perm.into());
        }
        let options = OpenOptions {
            follow,
            oflags,
            read,
            write,
            fdflags,
        };
        let desc = match dir.dir.open(&path, options)? {
            Opened::File(file) => Desc::File(FileDesc {
                file,
                read,
                write,
                mutable: dir.file_perms.contains(FilePerms::WRITE),
                // What the directory no longer passes on, the new
                // descriptor does not get.
                dropped: dir.dropped_inheriting,
            }),
            Opened::Dir(sub) => {
                // The backend refuses to open a directory for writing.
                debug_assert!(!write);
                Desc::Dir(DirDesc {
                    dir: sub,
                    preopen: None,
                    dir_perms: dir.dir_perms,
                    file_perms: dir.file_perms,
                    dropped: dir.dropped_inheriting,
                    dropped_inheriting: dir.dropped_inheriting,
                    listing: None,
                })
            }
        };
        let new_fd = self.push(desc)?;
        mem.write_u32(opened as u32, new_fd)?;
        Ok(())
    }

    fn path_readlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        path: i32,
        path_len: i32,
        buf: i32,
        buf_len: i32,
        bufused: i32,
    ) -> Result {
        let (dir, path) = self.dir_path(
            mem,
            fd,
            (path, path_len),
            DirPerms::READ,
            Rights::PATH_READLINK,
        )?;
        let target = dir.dir.read_link(&path)?;
        mem.check_array(bufused as u32, 1, 4, 4)?;
        let out = mem.slice_mut(buf as u32, buf_len as u32)?;
        let n = target.len().min(out.len());
        out[..n].copy_from_slice(&target.as_bytes()[..n]);
        mem.write_u32(bufused as u32, n as u32)?;
        Ok(())
    }

    fn path_remove_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        path: i32,
        path_len: i32,
    ) -> Result {
        let (dir, path) = self.dir_path(
            mem,
            fd,
            (path, path_len),
            DirPerms::MUTATE,
            Rights::PATH_REMOVE_DIRECTORY,
        )?;
        dir.dir.remove_dir(&path)?;
        Ok(())
    }

    fn path_rename(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        old_path: i32,
        old_path_len: i32,
        new_fd: i32,
        new_path: i32,
        new_path_len: i32,
    ) -> Result {
        let old_path = path_arg(mem, old_path, old_path_len)?;
        let new_path = path_arg(mem, new_path, new_path_len)?;
        let from = self.dir(fd as u32)?;
        let to = self.dir(new_fd as u32)?;
        need_dir_perms(from, DirPerms::MUTATE)?;
        need_dir_perms(to, DirPerms::MUTATE)?;
        from.need(Rights::PATH_RENAME_SOURCE)?;
        to.need(Rights::PATH_RENAME_TARGET)?;
        from.dir.rename(&old_path, &*to.dir, &new_path)?;
        Ok(())
    }

    fn path_symlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        old_path: i32,
        old_path_len: i32,
        fd: i32,
        new_path: i32,
        new_path_len: i32,
    ) -> Result {
        let target = path_arg(mem, old_path, old_path_len)?;
        let link = path_arg(mem, new_path, new_path_len)?;
        let dir = self.dir(fd as u32)?;
        need_dir_perms(dir, DirPerms::MUTATE)?;
        dir.need(Rights::PATH_SYMLINK)?;
        dir.dir.symlink(&target, &link)?;
        Ok(())
    }

    fn path_unlink_file(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        path: i32,
        path_len: i32,
    ) -> Result {
        let (dir, path) = self.dir_path(
            mem,
            fd,
            (path, path_len),
            DirPerms::MUTATE,
            Rights::PATH_UNLINK_FILE,
        )?;
        dir.dir.unlink_file(&path)?;
        Ok(())
    }

    fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory<'_>,
        subscriptions: i32,
        events: i32,
        nsubscriptions: i32,
        nevents: i32,
    ) -> Result {
        let (subs_ptr, events_ptr, count) =
            (subscriptions as u32, events as u32, nsubscriptions as u32);
        if count == 0 || count > MAX_POLL_SUBSCRIPTIONS {
            return Err(Errno::Inval.into());
        }
        mem.check_array(subs_ptr, count, SUBSCRIPTION_SIZE, 8)?;
        mem.check_array(events_ptr, count, EVENT_SIZE, 8)?;
        mem.check_array(nevents as u32, 1, 4, 4)?;
        // The decoded subscriptions, the events, the descriptors polled.
        let per_subscription = size_of::<Subscription>()
            + size_of::<Event>()
            + size_of::<(usize, PollFd)>()
            + 2 * size_of::<PollFd>();
        self.reserve(count as usize * per_subscription)?;
        let subs = self.poll_subscriptions(mem, subs_ptr, count)?;
        let fired = self.poll_wait(&subs)?;
        for (i, event) in fired.iter().enumerate() {
            let at = events_ptr + i as u32 * EVENT_SIZE;
            mem.slice_mut(at, EVENT_SIZE)?.fill(0);
            mem.write_u64(at, event.userdata)?;
            mem.write_u16(at + 8, event.error as u16)?;
            mem.write_u8(at + 10, event.kind)?;
            mem.write_u64(at + 16, event.nbytes)?;
            mem.write_u16(at + 24, event.flags)?;
        }
        mem.write_u32(nevents as u32, fired.len() as u32)?;
        Ok(())
    }

    /// Decode the subscriptions of `poll_oneoff`, resolving clock timeouts
    /// to monotonic deadlines.
    fn poll_subscriptions(
        &mut self,
        mem: &GuestMemory<'_>,
        ptr: u32,
        count: u32,
    ) -> Result<Vec<Subscription>> {
        // Relative timeouts count from the call's first attempt, so a
        // call the epoch callback lets go on keeps its deadlines.
        let now = self.call_start()?;
        let current = self.clocks.now(ClockId::Monotonic)?;
        let mut subs = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = ptr + i * SUBSCRIPTION_SIZE;
            let userdata = mem.read_u64(at)?;
            let kind = mem.read_u8(at + 8)?;
            let sub = match kind {
                EVENTTYPE_CLOCK => {
                    let id = mem.read_u32(at + 16)?;
                    let timeout = mem.read_u64(at + 24)?;
                    let flags = mem.read_u16(at + 40)?;
                    if flags & !SUBCLOCKFLAGS_ABSTIME != 0 {
                        return Err(Errno::Inval.into());
                    }
                    let deadline = match ClockId::from_raw(id) {
                        Some(clock @ (ClockId::Monotonic | ClockId::Realtime)) => {
                            if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                                let clock_now = self.clocks.now(clock)?;
                                Ok(current.saturating_add(timeout.saturating_sub(clock_now)))
                            } else {
                                Ok(now.saturating_add(timeout))
                            }
                        }
                        Some(_) => Err(Errno::Notsup),
                        None => Err(Errno::Inval),
                    };
                    Subscription::Clock { userdata, deadline }
                }
                EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => Subscription::Fd {
                    userdata,
                    fd: mem.read_u32(at + 16)?,
                    write: kind == EVENTTYPE_FD_WRITE,
                },
                _ => return Err(Errno::Inval.into()),
            };
            subs.push(sub);
        }
        Ok(subs)
    }

    /// Wait for the first of `subs`; the events that fired.
    fn poll_wait(&mut self, subs: &[Subscription]) -> Result<Vec<Event>> {
        let mut fired = Vec::new();
        // Descriptors that can be waited on: (index into `subs`, pollable).
        let mut waits: Vec<(usize, PollFd)> = Vec::new();
        let mut earliest: Option<u64> = None;
        for (i, sub) in subs.iter().enumerate() {
            match *sub {
                Subscription::Clock { userdata, deadline } => match deadline {
                    Ok(deadline) => earliest = Some(earliest.map_or(deadline, |e| e.min(deadline))),
                    Err(errno) => fired.push(Event::clock(userdata, errno)),
                },
                Subscription::Fd {
                    userdata,
                    fd,
                    write,
                } => {
                    let kind = if write {
                        EVENTTYPE_FD_WRITE
                    } else {
                        EVENTTYPE_FD_READ
                    };
                    let file = match self.fds.get(fd) {
                        Some(Desc::File(file))
                            if (write && file.can_write()) || (!write && file.can_read()) =>
                        {
                            file
                        }
                        _ => {
                            fired.push(Event::fd(userdata, kind, Errno::Badf, 0));
                            continue;
                        }
                    };
                    if let Err(errno) = file.need(Rights::POLL_FD_READWRITE) {
                        fired.push(Event::fd(userdata, kind, errno, 0));
                        continue;
                    }
                    match file.file.pollable() {
                        Some(pollable) => waits.push((
                            i,
                            PollFd {
                                pollable,
                                write,
                                ready: false,
                                hangup: false,
                            },
                        )),
                        None => {
                            let nbytes = if write {
                                0
                            } else {
                                file.file.bytes_ready().unwrap_or(0)
                            };
                            fired.push(Event::fd(userdata, kind, Errno::Success, nbytes));
                        }
                    }
                }
            }
        }
        if !fired.is_empty() {
            // Something is ready now: report it without waiting, but also
            // any descriptor that is ready at this instant.
            if !waits.is_empty() {
                let mut fds: Vec<PollFd> = waits.iter().map(|w| w.1).collect();
                if self.sched.poll(&mut fds, Some(0)).is_ok() {
                    self.collect_ready(subs, &waits, &fds, &mut fired);
                }
            }
            return Ok(fired);
        }
        if waits.is_empty() {
            if let Some(earliest) = earliest {
                self.sleep_until(earliest)?;
            }
        } else {
            let mut fds: Vec<PollFd> = waits.iter().map(|w| w.1).collect();
            self.poll_until(&mut fds, earliest)?;
            self.collect_ready(subs, &waits, &fds, &mut fired);
            if !fired.is_empty() {
                return Ok(fired);
            }
        }
        // Report every clock whose deadline has passed (at least the
        // earliest, which the wait above was for).
        let now = self.clocks.now(ClockId::Monotonic)?;
        for sub in subs {
            if let Subscription::Clock {
                userdata,
                deadline: Ok(deadline),
            } = *sub
                && (deadline <= now || Some(deadline) == earliest)
            {
                fired.push(Event::clock(userdata, Errno::Success));
            }
        }
        Ok(fired)
    }

    fn collect_ready(
        &self,
        subs: &[Subscription],
        waits: &[(usize, PollFd)],
        fds: &[PollFd],
        fired: &mut Vec<Event>,
    ) {
        for ((index, _), polled) in waits.iter().zip(fds) {
            if !polled.ready {
                continue;
            }
            if let Subscription::Fd {
                userdata,
                fd,
                write,
            } = subs[*index]
            {
                let kind = if write {
                    EVENTTYPE_FD_WRITE
                } else {
                    EVENTTYPE_FD_READ
                };
                let nbytes = match self.fds.get(fd) {
                    Some(Desc::File(file)) if !write => file.file.bytes_ready().unwrap_or(0),
                    _ => 0,
                };
                let mut event = Event::fd(userdata, kind, Errno::Success, nbytes);
                if polled.hangup {
                    event.flags = EVENTRWFLAGS_HANGUP;
                }
                fired.push(event);
            }
        }
    }

    fn proc_exit(&mut self, code: i32) -> Result {
        Err(Error::Trap(keel::Error::new(I32Exit(code))))
    }

    fn proc_raise(&mut self, _mem: &mut GuestMemory<'_>, _signal: i32) -> Result {
        Err(Errno::Nosys.into())
    }

    /// In an async call, the guest's future is `Pending` once.
    fn sched_yield(&mut self, _mem: &mut GuestMemory<'_>) -> Result {
        if self.call.asynchronous {
            if self.call.progress == 0 {
                self.call.progress = 1;
                self.call.wait = Some(Wait::Yield);
                return Err(Error::Blocked);
            }
            return Ok(());
        }
        self.sched.yield_now();
        Ok(())
    }

    /// Filled in [`CHUNK`]s, watching the deadline between them: an
    /// interrupted call that the store lets go on carries on where it
    /// stopped.
    fn random_get(&mut self, mem: &mut GuestMemory<'_>, buf: i32, buf_len: i32) -> Result {
        let (buf, len) = (buf as u32, buf_len as u32);
        mem.slice_mut(buf, len)?;
        let mut done = u32::try_from(self.call.progress).unwrap_or(0).min(len);
        while done < len {
            if self.deadline_reached() {
                self.call.progress = u64::from(done);
                return Err(Error::Interrupted);
            }
            let step = (len - done).min(CHUNK as u32);
            self.random.fill(mem.slice_mut(buf + done, step)?)?;
            done += step;
        }
        Ok(())
    }

    /// The file entry of socket function: `EBADF` if none, `ENOTSOCK` for
    /// a directory (and, from the file's default methods, for a file).
    fn socket(&mut self, fd: i32) -> Result<&mut FileDesc> {
        match self.desc(fd as u32)? {
            Desc::File(file) => Ok(file),
            Desc::Dir(_) => Err(Errno::Notsock.into()),
        }
    }

    fn sock_accept(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        flags: i32,
        new_fd: i32,
    ) -> Result {
        let flags = decode_flags::<FdFlags>(flags)?;
        if !(flags - FdFlags::NONBLOCK).is_empty() {
            return Err(Errno::Inval.into());
        }
        mem.check_array(new_fd as u32, 1, 4, 4)?;
        self.socket(fd)?.need(Rights::SOCK_ACCEPT)?;
        self.wait_ready(fd, false)?;
        let stream = self.socket(fd)?.file.sock_accept(flags)?;
        let new = self.push_file(stream, true, true)?;
        mem.write_u32(new_fd as u32, new)?;
        Ok(())
    }

    fn sock_recv(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        ri_data: i32,
        ri_data_len: i32,
        ri_flags: i32,
        ro_datalen: i32,
        ro_flags: i32,
    ) -> Result {
        let flags = u16::try_from(ri_flags).map_err(|_| Errno::Inval)?;
        if flags & !(RIFLAGS_RECV_PEEK | RIFLAGS_RECV_WAITALL) != 0 {
            return Err(Errno::Inval.into());
        }
        mem.check_array(ro_datalen as u32, 1, 4, 4)?;
        mem.check_array(ro_flags as u32, 1, 2, 2)?;
        self.socket(fd)?.need(Rights::FD_READ)?;
        let iovecs = Self::iovecs(mem, ri_data, ri_data_len)?;
        self.wait_ready(fd, false)?;
        let file = self.socket(fd)?;
        let mut total = 0u32;
        let mut truncated = false;
        // One receive into the first non-empty buffer, as a datagram or a
        // stream segment may not fill more.
        if let Some(&(ptr, len)) = iovecs.iter().find(|(_, len)| *len > 0) {
            let buf = mem.slice_mut(ptr, len)?;
            let (n, trunc) = file.file.sock_recv(buf, flags & RIFLAGS_RECV_PEEK != 0)?;
            total = n as u32;
            truncated = trunc;
        } else if file.file.filetype() != Filetype::SocketStream {
            return Err(Errno::Notsock.into());
        }
        mem.write_u32(ro_datalen as u32, total)?;
        mem.write_u16(
            ro_flags as u32,
            if truncated {
                ROFLAGS_RECV_DATA_TRUNCATED
            } else {
                0
            },
        )?;
        Ok(())
    }

    fn sock_send(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: i32,
        si_data: i32,
        si_data_len: i32,
        si_flags: i32,
        so_datalen: i32,
    ) -> Result {
        if si_flags != 0 {
            return Err(Errno::Inval.into());
        }
        mem.check_array(so_datalen as u32, 1, 4, 4)?;
        self.socket(fd)?.need(Rights::FD_WRITE)?;
        let max = self.wait_ready(fd, true)?;
        let deadline = self.call.deadline.clone();
        let reached = || deadline.as_ref().is_some_and(|d| d.reached());
        let file = self.socket(fd)?;
        let n = Self::write_iovecs(
            mem,
            file,
            si_data,
            si_data_len,
            &reached,
            max,
            |f, buf, _| f.file.sock_send(buf),
        )?;
        mem.write_u32(so_datalen as u32, n)?;
        Ok(())
    }

    fn sock_shutdown(&mut self, _mem: &mut GuestMemory<'_>, fd: i32, how: i32) -> Result {
        let how = u8::try_from(how).map_err(|_| Errno::Inval)?;
        if how == 0 || how & !(SDFLAGS_RD | SDFLAGS_WR) != 0 {
            return Err(Errno::Inval.into());
        }
        let file = self.socket(fd)?;
        file.need(Rights::SOCK_SHUTDOWN)?;
        file.file
            .sock_shutdown(how & SDFLAGS_RD != 0, how & SDFLAGS_WR != 0)?;
        Ok(())
    }
}

/// A decoded `poll_oneoff` subscription.
#[derive(Clone, Copy)]
enum Subscription {
    /// A clock: the monotonic deadline, or why the clock cannot be used.
    Clock {
        userdata: u64,
        deadline: Result<u64, Errno>,
    },
    /// Readiness of a descriptor.
    Fd { userdata: u64, fd: u32, write: bool },
}

/// An event `poll_oneoff` reports.
struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

impl Event {
    fn clock(userdata: u64, error: Errno) -> Event {
        Event {
            userdata,
            error,
            kind: EVENTTYPE_CLOCK,
            nbytes: 0,
            flags: 0,
        }
    }

    fn fd(userdata: u64, kind: u8, error: Errno, nbytes: u64) -> Event {
        Event {
            userdata,
            error,
            kind,
            nbytes,
            flags: 0,
        }
    }
}
