//! The hosted backend (`std`, Unix): cap-std directories and files, the
//! process's stdio and environment, OS clocks, randomness and `poll(2)`.

mod fs;
mod net;
mod stdio;

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use fs::{HostDir, HostFile};
pub use net::{TcpListenerFile, TcpStreamFile};
pub use stdio::{Stderr, Stdin, Stdout};

use crate::ctx::WasiCtxBuilder;
use crate::sched::{PollFd, WaitFuture, WasiClocks, WasiRandom, WasiSched};
use crate::types::{ClockId, DirPerms, Errno, FilePerms};

/// The WASI errno for a host I/O error: the OS error number when there is
/// one, else by kind (cap-std's sandbox refusals, which have none, are
/// `PermissionDenied` and so `EPERM`, as in wasmtime-wasi).
pub(crate) fn errno_of(error: &io::Error) -> Errno {
    use rustix::io::Errno as E;
    if let Some(raw) = error.raw_os_error() {
        return match E::from_raw_os_error(raw) {
            E::PERM => Errno::Perm,
            E::NOENT => Errno::Noent,
            E::SRCH => Errno::Srch,
            E::INTR => Errno::Intr,
            E::IO => Errno::Io,
            E::NXIO => Errno::Nxio,
            E::TOOBIG => Errno::TooBig,
            E::NOEXEC => Errno::Noexec,
            E::BADF => Errno::Badf,
            E::CHILD => Errno::Child,
            E::AGAIN => Errno::Again,
            E::NOMEM => Errno::Nomem,
            E::ACCESS => Errno::Acces,
            E::FAULT => Errno::Fault,
            E::BUSY => Errno::Busy,
            E::EXIST => Errno::Exist,
            E::XDEV => Errno::Xdev,
            E::NODEV => Errno::Nodev,
            E::NOTDIR => Errno::Notdir,
            E::ISDIR => Errno::Isdir,
            E::INVAL => Errno::Inval,
            E::NFILE => Errno::Nfile,
            E::MFILE => Errno::Mfile,
            E::NOTTY => Errno::Notty,
            E::TXTBSY => Errno::Txtbsy,
            E::FBIG => Errno::Fbig,
            E::NOSPC => Errno::Nospc,
            E::SPIPE => Errno::Spipe,
            E::ROFS => Errno::Rofs,
            E::MLINK => Errno::Mlink,
            E::PIPE => Errno::Pipe,
            E::RANGE => Errno::Range,
            E::DEADLK => Errno::Deadlk,
            E::NAMETOOLONG => Errno::Nametoolong,
            E::NOLCK => Errno::Nolck,
            E::NOSYS => Errno::Nosys,
            E::NOTEMPTY => Errno::Notempty,
            E::LOOP => Errno::Loop,
            E::OVERFLOW => Errno::Overflow,
            E::ILSEQ => Errno::Ilseq,
            E::NOTSOCK => Errno::Notsock,
            E::MSGSIZE => Errno::Msgsize,
            E::NOTSUP => Errno::Notsup,
            E::ADDRINUSE => Errno::Addrinuse,
            E::ADDRNOTAVAIL => Errno::Addrnotavail,
            E::NETDOWN => Errno::Netdown,
            E::NETUNREACH => Errno::Netunreach,
            E::CONNABORTED => Errno::Connaborted,
            E::CONNRESET => Errno::Connreset,
            E::NOTCONN => Errno::Notconn,
            E::TIMEDOUT => Errno::Timedout,
            E::CONNREFUSED => Errno::Connrefused,
            E::HOSTUNREACH => Errno::Hostunreach,
            E::ALREADY => Errno::Already,
            E::INPROGRESS => Errno::Inprogress,
            E::DQUOT => Errno::Dquot,
            E::CANCELED => Errno::Canceled,
            _ => Errno::Io,
        };
    }
    match error.kind() {
        io::ErrorKind::NotFound => Errno::Noent,
        io::ErrorKind::PermissionDenied => Errno::Perm,
        io::ErrorKind::AlreadyExists => Errno::Exist,
        io::ErrorKind::InvalidInput => Errno::Inval,
        io::ErrorKind::Unsupported => Errno::Notsup,
        io::ErrorKind::WouldBlock => Errno::Again,
        io::ErrorKind::Interrupted => Errno::Intr,
        io::ErrorKind::OutOfMemory => Errno::Nomem,
        _ => Errno::Io,
    }
}

/// `Result<T, io::Error>` to `Result<T, Errno>`.
pub(crate) trait IoResultExt<T> {
    fn errno(self) -> Result<T, Errno>;
}

impl<T> IoResultExt<T> for io::Result<T> {
    fn errno(self) -> Result<T, Errno> {
        self.map_err(|e| errno_of(&e))
    }
}

/// The `SystemTime` `nanos` after the Unix epoch.
pub(crate) fn system_time(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// The host's clocks through `clock_gettime(2)`: realtime, monotonic
/// (`CLOCK_MONOTONIC`), and the process and thread CPU-time clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostClocks;

fn host_clock(clock: ClockId) -> rustix::time::ClockId {
    match clock {
        ClockId::Realtime => rustix::time::ClockId::Realtime,
        ClockId::Monotonic => rustix::time::ClockId::Monotonic,
        ClockId::ProcessCputime => rustix::time::ClockId::ProcessCPUTime,
        ClockId::ThreadCputime => rustix::time::ClockId::ThreadCPUTime,
    }
}

fn timespec_nanos(ts: rustix::time::Timespec) -> u64 {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

impl WasiClocks for HostClocks {
    fn now(&self, clock: ClockId) -> Result<u64, Errno> {
        Ok(timespec_nanos(rustix::time::clock_gettime(host_clock(
            clock,
        ))))
    }

    fn resolution(&self, clock: ClockId) -> Result<u64, Errno> {
        Ok(timespec_nanos(rustix::time::clock_getres(host_clock(clock))).max(1))
    }
}

/// The OS random source (`getrandom(2)`).
#[derive(Clone, Copy, Debug, Default)]
pub struct HostRandom;

impl WasiRandom for HostRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        getrandom::fill(buf).map_err(|_| Errno::Io)
    }
}

/// Sleeping and yielding the calling thread, and `poll(2)` on the OS
/// descriptors of [`crate::WasiFile::pollable`]; for async calls, timers
/// and readiness from [async-io](https://docs.rs/async-io)'s reactor
/// (epoll), which any executor can poll.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostSched;

impl WasiSched for HostSched {
    fn sleep(&self, nanos: u64) {
        std::thread::sleep(Duration::from_nanos(nanos));
    }

    fn yield_now(&self) {
        std::thread::yield_now();
    }

    fn poll(&self, fds: &mut [PollFd], timeout: Option<u64>) -> Result<(), Errno> {
        use rustix::event::{PollFlags, poll};
        let mut polled: Vec<rustix::event::PollFd<'_>> = fds
            .iter()
            .map(|fd| {
                // SAFETY: `pollable` is the descriptor of a file in the
                // WASI table (see `WasiFile::pollable`), which the caller
                // holds borrowed for the whole of this call, so it stays
                // open until `polled` is dropped at the end of it.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd.pollable) };
                let flags = if fd.write {
                    PollFlags::OUT
                } else {
                    PollFlags::IN
                };
                rustix::event::PollFd::from_borrowed_fd(borrowed, flags)
            })
            .collect();
        let timeout = timeout.map(|nanos| rustix::time::Timespec {
            tv_sec: i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX),
            tv_nsec: (nanos % 1_000_000_000) as _,
        });
        loop {
            match poll(&mut polled, timeout.as_ref()) {
                Ok(_) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(errno_of(&e.into())),
            }
        }
        for (fd, polled) in fds.iter_mut().zip(&polled) {
            let revents = polled.revents();
            fd.ready = !revents.is_empty();
            fd.hangup = revents.contains(PollFlags::HUP);
        }
        Ok(())
    }

    fn poll_async(&self, fds: &[PollFd], timeout: Option<u64>) -> Option<WaitFuture> {
        use async_io::{Async, Timer};
        use core::future::Future as _;
        let mut timer = timeout.map(|nanos| Timer::after(Duration::from_nanos(nanos)));
        // One registration per descriptor, with the directions waited for.
        let mut sources: Vec<(Async<Pollable>, bool, bool)> = Vec::new();
        for fd in fds {
            if let Some(source) = sources.iter_mut().find(|s| s.0.get_ref().0 == fd.pollable) {
                source.1 |= !fd.write;
                source.2 |= fd.write;
                continue;
            }
            // Registration without `O_NONBLOCK`: only readiness is asked
            // of the reactor, and the read or write that follows runs
            // once `poll(2)` has said it will not block.
            match Async::new_nonblocking(Pollable(fd.pollable)) {
                Ok(source) => sources.push((source, !fd.write, fd.write)),
                // Another wait of this process has the descriptor (two
                // guests reading the same stdin), or epoll refuses it:
                // let the caller look again after a short sleep.
                Err(_) => {
                    let nanos = timeout.map_or(RETRY_NANOS, |t| t.min(RETRY_NANOS));
                    let timer = Timer::after(Duration::from_nanos(nanos));
                    return Some(Box::pin(async move {
                        timer.await;
                    }));
                }
            }
        }
        Some(Box::pin(core::future::poll_fn(move |cx| {
            if let Some(timer) = &mut timer
                && core::pin::Pin::new(timer).poll(cx).is_ready()
            {
                return core::task::Poll::Ready(());
            }
            for (source, read, write) in &sources {
                // An error (the descriptor failed) is readiness too: the
                // caller's `poll(2)` and transfer report it.
                if (*read && source.poll_readable(cx).is_ready())
                    || (*write && source.poll_writable(cx).is_ready())
                {
                    return core::task::Poll::Ready(());
                }
            }
            core::task::Poll::Pending
        })))
    }
}

/// Nanoseconds an async wait sleeps before looking again at descriptors
/// the reactor could not take.
const RETRY_NANOS: u64 = 1_000_000;

/// A descriptor of the WASI table registered with the reactor for one
/// wait: borrowed, never closed by it.
struct Pollable(i32);

impl std::os::fd::AsFd for Pollable {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `WasiSched::poll_async`'s callers keep the descriptors
        // open until the wait's future completes or is dropped, and the
        // `Async` holding this is inside that future.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

/// Methods of [`WasiCtxBuilder`] for the hosted backend.
impl WasiCtxBuilder {
    /// Give the guest the process's stdin, stdout and stderr.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Give the guest the process's stdin.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin(Stdin)
    }

    /// Give the guest the process's stdout.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout(Stdout)
    }

    /// Give the guest the process's stderr.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr(Stderr)
    }

    /// Give the guest the process's environment variables (those whose
    /// name and value are UTF-8).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (name, value) in std::env::vars_os() {
            if let (Some(name), Some(value)) = (name.to_str(), value.to_str()) {
                self.env(name, value);
            }
        }
        self
    }

    /// Give the guest the process's arguments (those that are UTF-8).
    pub fn inherit_args(&mut self) -> &mut Self {
        for arg in std::env::args_os() {
            if let Some(arg) = arg.to_str() {
                self.arg(arg);
            }
        }
        self
    }

    /// Preopen the host directory `host_path` as `guest_path`, with the
    /// permissions `dir_perms` on directories and `file_perms` on files
    /// under it (as wasmtime-wasi's method of the same name). Nothing
    /// outside `host_path` is reachable through it: cap-std refuses `..`
    /// past it, absolute paths and symbolic links that lead out.
    ///
    /// # Errors
    ///
    /// If `host_path` cannot be opened as a directory.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl AsRef<str>,
        dir_perms: DirPerms,
        file_perms: FilePerms,
    ) -> keel::Result<&mut Self> {
        let host_path = host_path.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host_path, cap_std::ambient_authority())
            .map_err(|e| keel::format_err!("cannot preopen `{}`: {e}", host_path.display()))?;
        Ok(self.preopened(HostDir::new(dir), guest_path, dir_perms, file_perms))
    }

    /// Give the guest a listening TCP socket as the next descriptor after
    /// the preopened directories (as `wasmtime run --tcplisten`), for
    /// `sock_accept`.
    pub fn preopened_socket(&mut self, listener: std::net::TcpListener) -> &mut Self {
        self.preopened_file(TcpListenerFile::new(listener), true, true)
    }
}
