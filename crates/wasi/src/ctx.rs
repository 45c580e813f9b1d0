//! The WASI context (arguments, environment, the file descriptor table,
//! clocks, randomness) and its builder.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::dir::WasiDir;
use crate::file::WasiFile;
use crate::sched::{WasiClocks, WasiRandom, WasiSched};
use crate::types::{DirPerms, Errno, FilePerms, Rights};

/// A file (not a directory) in the descriptor table.
pub(crate) struct FileDesc {
    pub(crate) file: Box<dyn WasiFile>,
    /// Opened for reading.
    pub(crate) read: bool,
    /// Opened for writing.
    pub(crate) write: bool,
    /// Under a preopen whose [`FilePerms`] allow writing (or stdio): may
    /// change size and times.
    pub(crate) mutable: bool,
    /// Rights the guest gave up (`fd_fdstat_set_rights`), or that the
    /// directory it was opened through no longer passed on: never granted
    /// again.
    pub(crate) dropped: Rights,
}

impl FileDesc {
    /// Readable: opened for reading, and `FD_READ` not dropped. Reading
    /// one that is not gives `EBADF`, whichever the reason.
    pub(crate) fn can_read(&self) -> bool {
        self.read && !self.dropped.contains(Rights::FD_READ)
    }

    /// Writable: opened for writing, and `FD_WRITE` not dropped.
    pub(crate) fn can_write(&self) -> bool {
        self.write && !self.dropped.contains(Rights::FD_WRITE)
    }

    /// `ENOTCAPABLE` if any of `rights` was dropped.
    pub(crate) fn need(&self, rights: Rights) -> Result<(), Errno> {
        need(self.dropped, rights)
    }
}

/// A directory in the descriptor table.
pub(crate) struct DirDesc {
    pub(crate) dir: Box<dyn WasiDir>,
    /// The guest path, for a preopen (`fd_prestat_get`).
    pub(crate) preopen: Option<String>,
    pub(crate) dir_perms: DirPerms,
    pub(crate) file_perms: FilePerms,
    /// Base rights the guest gave up (see [`FileDesc::dropped`]).
    pub(crate) dropped: Rights,
    /// Inheriting rights the guest gave up: dropped from the base and
    /// inheriting rights of every descriptor opened through this one.
    pub(crate) dropped_inheriting: Rights,
    /// The entries the last `fd_readdir` from cookie 0 read, which later
    /// cookies continue from: a scan of a directory in many calls reads
    /// it once, not once per call.
    pub(crate) listing: Option<Vec<crate::types::DirEntry>>,
}

impl DirDesc {
    /// `ENOTCAPABLE` if any of `rights` was dropped.
    pub(crate) fn need(&self, rights: Rights) -> Result<(), Errno> {
        need(self.dropped, rights)
    }
}

/// `ENOTCAPABLE` (the witx's errno for a missing right) if `dropped` has
/// any of `rights`.
fn need(dropped: Rights, rights: Rights) -> Result<(), Errno> {
    if dropped.intersects(rights) {
        Err(Errno::Notcapable)
    } else {
        Ok(())
    }
}

/// One entry of the descriptor table.
pub(crate) enum Desc {
    File(FileDesc),
    Dir(DirDesc),
}

/// The descriptor table: descriptors by number, plus the free numbers
/// below the highest one used, so that the lowest free number (POSIX's
/// rule for new descriptors) is found without a scan of the table.
#[derive(Default)]
pub(crate) struct FdTable {
    entries: BTreeMap<u32, Desc>,
    /// Numbers below `end` with no entry.
    free: BTreeSet<u32>,
    /// One past the highest number ever used.
    end: u64,
}

impl FdTable {
    pub(crate) fn get(&self, fd: u32) -> Option<&Desc> {
        self.entries.get(&fd)
    }

    pub(crate) fn get_mut(&mut self, fd: u32) -> Option<&mut Desc> {
        self.entries.get_mut(&fd)
    }

    pub(crate) fn contains(&self, fd: u32) -> bool {
        self.entries.contains_key(&fd)
    }

    /// Put `desc` at `fd`, closing what was there. Callers only insert at
    /// numbers in use or just past them (stdio, `fd_renumber`, `push`), so
    /// the numbers skipped into `free` are few.
    pub(crate) fn insert(&mut self, fd: u32, desc: Desc) {
        if u64::from(fd) >= self.end {
            self.free.extend(self.end as u32..fd);
            self.end = u64::from(fd) + 1;
        } else {
            self.free.remove(&fd);
        }
        self.entries.insert(fd, desc);
    }

    pub(crate) fn remove(&mut self, fd: u32) -> Option<Desc> {
        let desc = self.entries.remove(&fd)?;
        self.free.insert(fd);
        Some(desc)
    }

    /// Put `desc` at the lowest free number.
    ///
    /// # Errors
    ///
    /// `EMFILE` when every `u32` is taken (not reachable in practice: the
    /// host runs out of memory or handles first).
    pub(crate) fn push(&mut self, desc: Desc) -> Result<u32, Errno> {
        let fd = match self.free.first() {
            Some(&fd) => fd,
            None => u32::try_from(self.end).map_err(|_| Errno::Mfile)?,
        };
        self.insert(fd, desc);
        Ok(fd)
    }
}

/// The WASI state of one store: arguments, environment, open
/// descriptors, clocks, randomness and scheduling. Build one with
/// [`WasiCtxBuilder`] and reach it from the store's data in
/// [`add_to_linker_sync`](crate::p1::add_to_linker_sync).
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) fds: FdTable,
    pub(crate) clocks: Box<dyn WasiClocks>,
    pub(crate) random: Box<dyn WasiRandom>,
    pub(crate) sched: Box<dyn WasiSched>,
    /// The WASI call in progress: its store's epoch deadline and what
    /// survives when the call is interrupted and taken up again.
    pub(crate) call: CallState,
}

/// What a WASI call keeps while the store's epoch deadline interrupts it
/// ([`crate::p1`]'s `call` runs the function again when the store's
/// callback lets the guest go on).
#[derive(Default)]
pub(crate) struct CallState {
    /// The calling store's epoch deadline; `None` outside calls.
    pub(crate) deadline: Option<keel::EpochDeadline>,
    /// The monotonic time of the first attempt, from which relative
    /// timeouts count.
    pub(crate) started: Option<u64>,
    /// Work done by earlier attempts (bytes `random_get` filled, whether
    /// an async `sched_yield` has yielded).
    pub(crate) progress: u64,
    /// The call comes from [`crate::p1::add_to_linker_async`]: a wait does
    /// not block but ends the attempt with [`Wait`] in `wait`.
    pub(crate) asynchronous: bool,
    /// What the async attempt that just ended waits for.
    pub(crate) wait: Option<Wait>,
    /// Bytes of host memory the store's limiter has allowed this call.
    pub(crate) host_memory: usize,
}

/// What an async WASI call waits for before its function runs again.
pub(crate) enum Wait {
    /// One of the descriptors is ready, or the monotonic time `until`
    /// (`None`: no limit) has come; no descriptors: a sleep.
    Poll {
        fds: Vec<crate::sched::PollFd>,
        until: Option<u64>,
    },
    /// Let the executor run other tasks once (`sched_yield`).
    Yield,
}

impl core::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("fds", &self.fds.entries.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl WasiCtx {
    /// A builder with no arguments, no environment, closed stdio and no
    /// preopens.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The entry for `fd`.
    pub(crate) fn desc(&mut self, fd: u32) -> Result<&mut Desc, Errno> {
        self.fds.get_mut(fd).ok_or(Errno::Badf)
    }

    /// The file entry for `fd`: `EBADF` if none or a directory (as
    /// wasmtime-wasi: a file operation on a directory is a bad
    /// descriptor for it).
    pub(crate) fn file(&mut self, fd: u32) -> Result<&mut FileDesc, Errno> {
        match self.desc(fd)? {
            Desc::File(file) => Ok(file),
            Desc::Dir(_) => Err(Errno::Badf),
        }
    }

    /// The directory entry for `fd`: `EBADF` if none or a file.
    pub(crate) fn dir(&self, fd: u32) -> Result<&DirDesc, Errno> {
        match self.fds.get(fd).ok_or(Errno::Badf)? {
            Desc::Dir(dir) => Ok(dir),
            Desc::File(_) => Err(Errno::Badf),
        }
    }

    /// Put `desc` at the lowest free descriptor number.
    pub(crate) fn push(&mut self, desc: Desc) -> Result<u32, Errno> {
        self.fds.push(desc)
    }

    /// Put `file` in the table as a new descriptor, opened for `read`
    /// and/or `write`; returns its number (the lowest free one).
    ///
    /// # Errors
    ///
    /// `EMFILE` if no number is free.
    pub fn push_file(
        &mut self,
        file: Box<dyn WasiFile>,
        read: bool,
        write: bool,
    ) -> Result<u32, Errno> {
        self.push(Desc::File(FileDesc {
            file,
            read,
            write,
            mutable: write,
            dropped: Rights::empty(),
        }))
    }

    /// Add `dir` as a preopened directory that the guest knows as
    /// `guest_path`; returns its descriptor number.
    ///
    /// # Errors
    ///
    /// `EMFILE` if no number is free.
    pub fn push_preopened_dir(
        &mut self,
        dir: Box<dyn WasiDir>,
        guest_path: &str,
        dir_perms: DirPerms,
        file_perms: FilePerms,
    ) -> Result<u32, Errno> {
        self.push(Desc::Dir(DirDesc {
            dir,
            preopen: Some(guest_path.to_owned()),
            dir_perms,
            file_perms,
            dropped: Rights::empty(),
            dropped_inheriting: Rights::empty(),
            listing: None,
        }))
    }

    /// Replace stdin (descriptor 0).
    pub fn set_stdin(&mut self, file: Box<dyn WasiFile>) {
        self.set_stdio(0, file, true, false);
    }

    /// Replace stdout (descriptor 1).
    pub fn set_stdout(&mut self, file: Box<dyn WasiFile>) {
        self.set_stdio(1, file, false, true);
    }

    /// Replace stderr (descriptor 2).
    pub fn set_stderr(&mut self, file: Box<dyn WasiFile>) {
        self.set_stdio(2, file, false, true);
    }

    fn set_stdio(&mut self, fd: u32, file: Box<dyn WasiFile>, read: bool, write: bool) {
        self.fds.insert(
            fd,
            Desc::File(FileDesc {
                file,
                read,
                write,
                mutable: false,
                dropped: Rights::empty(),
            }),
        );
    }

    /// The arguments the guest sees (`args_get`), `argv[0]` first.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The environment the guest sees (`environ_get`), as `(name, value)`.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }
}

/// Builds a [`WasiCtx`], as wasmtime-wasi's `WasiCtxBuilder`. Methods take
/// and return `&mut Self` so calls chain; [`build`](Self::build) ends.
///
/// By default there are no arguments, no environment, stdio that reads
/// end-of-file and discards writes, and no preopened directory; with
/// `std`, the clocks, randomness and scheduling are the host's. Without
/// `std` they must be given ([`clocks`](Self::clocks),
/// [`random`](Self::random), [`sched`](Self::sched)), or the guest gets
/// `ENOTSUP`/`EIO` from them.
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Box<dyn WasiFile>,
    stdout: Box<dyn WasiFile>,
    stderr: Box<dyn WasiFile>,
    preopens: Vec<(Box<dyn WasiDir>, String, DirPerms, FilePerms)>,
    files: Vec<(Box<dyn WasiFile>, bool, bool)>,
    clocks: Option<Box<dyn WasiClocks>>,
    random: Option<Box<dyn WasiRandom>>,
    sched: Option<Box<dyn WasiSched>>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder::new()
    }
}

impl core::fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .field("env", &self.env)
            .field(
                "preopens",
                &self.preopens.iter().map(|p| &p.1).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl WasiCtxBuilder {
    /// An empty builder (see the type's documentation for the defaults).
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Box::new(crate::pipe::Closed),
            stdout: Box::new(crate::pipe::Closed),
            stderr: Box::new(crate::pipe::Closed),
            preopens: Vec::new(),
            files: Vec::new(),
            clocks: None,
            random: None,
            sched: None,
        }
    }

    /// Append `args` to the arguments (the first one is the guest's
    /// `argv[0]`, conventionally the program name).
    pub fn args(&mut self, args: &[impl AsRef<str>]) -> &mut Self {
        self.args.extend(args.iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Append one argument.
    pub fn arg(&mut self, arg: impl AsRef<str>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Set the environment variable `name` to `value` (replacing an earlier
    /// setting of `name`).
    pub fn env(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        match self.env.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => value.clone_into(&mut entry.1),
            None => self.env.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Set each of `vars` as [`env`](Self::env) does.
    pub fn envs(&mut self, vars: &[(impl AsRef<str>, impl AsRef<str>)]) -> &mut Self {
        for (name, value) in vars {
            self.env(name, value);
        }
        self
    }

    /// The guest's stdin.
    pub fn stdin(&mut self, file: impl WasiFile) -> &mut Self {
        self.stdin = Box::new(file);
        self
    }

    /// The guest's stdout.
    pub fn stdout(&mut self, file: impl WasiFile) -> &mut Self {
        self.stdout = Box::new(file);
        self
    }

    /// The guest's stderr.
    pub fn stderr(&mut self, file: impl WasiFile) -> &mut Self {
        self.stderr = Box::new(file);
        self
    }

    /// Preopen `dir`, an implementation of [`WasiDir`] (a kernel's VFS
    /// directory, say), as `guest_path`. Preopens get descriptors 3, 4, ...
    /// in the order they are added. See also `preopened_dir` (with `std`)
    /// for a host directory.
    pub fn preopened(
        &mut self,
        dir: impl WasiDir,
        guest_path: impl AsRef<str>,
        dir_perms: DirPerms,
        file_perms: FilePerms,
    ) -> &mut Self {
        self.preopens.push((
            Box::new(dir),
            guest_path.as_ref().to_owned(),
            dir_perms,
            file_perms,
        ));
        self
    }

    /// Give the guest `file` (a listening socket, say) as a descriptor
    /// after the preopened directories, opened for `read` and/or `write`.
    pub fn preopened_file(&mut self, file: impl WasiFile, read: bool, write: bool) -> &mut Self {
        self.files.push((Box::new(file), read, write));
        self
    }

    /// The clocks of `clock_time_get`, `clock_res_get` and `poll_oneoff`.
    pub fn clocks(&mut self, clocks: impl WasiClocks + 'static) -> &mut Self {
        self.clocks = Some(Box::new(clocks));
        self
    }

    /// The source of `random_get`.
    pub fn random(&mut self, random: impl WasiRandom + 'static) -> &mut Self {
        self.random = Some(Box::new(random));
        self
    }

    /// Sleeping, yielding and waiting for descriptors.
    pub fn sched(&mut self, sched: impl WasiSched + 'static) -> &mut Self {
        self.sched = Some(Box::new(sched));
        self
    }

    /// The context, for [`p1::add_to_linker_sync`](crate::p1::add_to_linker_sync)
    /// and its async twin, under wasmtime-wasi's name for building a
    /// preview-1 context: the same as [`build`](Self::build).
    pub fn build_p1(&mut self) -> crate::p1::WasiP1Ctx {
        self.build()
    }

    /// The context. The builder is left empty (with defaults), as
    /// wasmtime-wasi's is after `build`.
    pub fn build(&mut self) -> WasiCtx {
        let built = core::mem::take(self);
        let mut ctx = WasiCtx {
            args: built.args,
            env: built.env,
            fds: FdTable::default(),
            clocks: built.clocks.unwrap_or_else(default_clocks),
            random: built.random.unwrap_or_else(default_random),
            sched: built.sched.unwrap_or_else(default_sched),
            call: CallState::default(),
        };
        ctx.set_stdin(built.stdin);
        ctx.set_stdout(built.stdout);
        ctx.set_stderr(built.stderr);
        for (dir, guest_path, dir_perms, file_perms) in built.preopens {
            // The table holds a few entries: a number is always free.
            let pushed = ctx.push_preopened_dir(dir, &guest_path, dir_perms, file_perms);
            debug_assert!(pushed.is_ok());
        }
        for (file, read, write) in built.files {
            let pushed = ctx.push_file(file, read, write);
            debug_assert!(pushed.is_ok());
        }
        ctx
    }
}

#[cfg(feature = "std")]
fn default_clocks() -> Box<dyn WasiClocks> {
    Box::new(crate::host::HostClocks)
}

#[cfg(feature = "std")]
fn default_random() -> Box<dyn WasiRandom> {
    Box::new(crate::host::HostRandom)
}

#[cfg(feature = "std")]
fn default_sched() -> Box<dyn WasiSched> {
    Box::new(crate::host::HostSched)
}

#[cfg(not(feature = "std"))]
fn default_clocks() -> Box<dyn WasiClocks> {
    Box::new(Missing)
}

#[cfg(not(feature = "std"))]
fn default_random() -> Box<dyn WasiRandom> {
    Box::new(Missing)
}

#[cfg(not(feature = "std"))]
fn default_sched() -> Box<dyn WasiSched> {
    Box::new(Missing)
}

/// Without `std` and without a backend given: every clock is unsupported,
/// randomness fails, sleeping returns at once.
#[cfg(not(feature = "std"))]
struct Missing;

#[cfg(not(feature = "std"))]
impl WasiClocks for Missing {
    fn now(&self, _clock: crate::types::ClockId) -> Result<u64, Errno> {
        Err(Errno::Notsup)
    }
    fn resolution(&self, _clock: crate::types::ClockId) -> Result<u64, Errno> {
        Err(Errno::Notsup)
    }
}

#[cfg(not(feature = "std"))]
impl WasiRandom for Missing {
    fn fill(&mut self, _buf: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::Io)
    }
}

#[cfg(not(feature = "std"))]
impl WasiSched for Missing {
    fn sleep(&self, _nanos: u64) {}
    fn yield_now(&self) {}
    fn poll(&self, _fds: &mut [crate::sched::PollFd], _timeout: Option<u64>) -> Result<(), Errno> {
        Err(Errno::Notsup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed() -> Desc {
        Desc::File(FileDesc {
            file: Box::new(crate::pipe::Closed),
            read: true,
            write: true,
            mutable: false,
            dropped: Rights::empty(),
        })
    }

    /// New descriptors take the lowest free number, across closes,
    /// renumbering and many open descriptors.
    #[test]
    fn lowest_free_number() {
        let mut table = FdTable::default();
        for fd in 0..3 {
            table.insert(fd, closed());
        }
        for expected in 3..10_000 {
            assert_eq!(table.push(closed()), Ok(expected));
        }
        for fd in [5000, 7, 9000, 3] {
            assert!(table.remove(fd).is_some());
        }
        assert!(table.remove(7).is_none(), "closed twice");
        assert_eq!(table.push(closed()), Ok(3));
        // Renumbering 10 onto 9999 frees 10 and keeps 9999 taken.
        let desc = table.remove(10).unwrap();
        table.insert(9999, desc);
        assert_eq!(table.push(closed()), Ok(7));
        assert_eq!(table.push(closed()), Ok(10));
        assert_eq!(table.push(closed()), Ok(5000));
        assert_eq!(table.push(closed()), Ok(9000));
        assert_eq!(table.push(closed()), Ok(10_000));
    }
}
