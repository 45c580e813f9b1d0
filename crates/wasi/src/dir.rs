//! The directory trait: what keel-wasi needs from a directory a file
//! descriptor names (a preopen or one opened under it).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;

use crate::file::WasiFile;
use crate::types::{DirEntry, Errno, FdFlags, Filestat, OFlags, SetTime};

/// What `path_open` opened.
pub enum Opened {
    /// A file (anything but a directory).
    File(Box<dyn WasiFile>),
    /// A directory.
    Dir(Box<dyn WasiDir>),
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Opened::File(_) => "Opened::File(..)",
            Opened::Dir(_) => "Opened::Dir(..)",
        })
    }
}

/// How `path_open` should open a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Follow a symbolic link in the last component (`lookupflags`).
    pub follow: bool,
    /// `oflags`: create, exclusive, truncate, must be a directory.
    pub oflags: OFlags,
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// The descriptor's flags (append, sync, ...).
    pub fdflags: FdFlags,
}

/// A directory as `wasi_snapshot_preview1` uses it.
///
/// Every `path` is relative to this directory and has been checked by the
/// core to be UTF-8 and free of NUL bytes; it may still contain `..`,
/// start with `/`, or lead through symbolic links, and the implementation
/// must make sure that no path resolves to anything outside this
/// directory (the hosted backend does it with `cap-std`), failing such
/// lookups with `ENOTCAPABLE` or `EPERM`.
///
/// `Any` is a supertrait so that an implementation can recognize its own
/// type in the `rename`/`hard_link` destination.
pub trait WasiDir: Send + Sync + Any {
    /// Open `path`, a file or a directory.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `EEXIST` (`CREAT|EXCL`), `ENOTDIR` (`DIRECTORY` on a
    /// file), `EISDIR` (writing to a directory), `ELOOP`, ...
    fn open(&self, path: &str, options: OpenOptions) -> Result<Opened, Errno>;

    /// The entries, `.` and `..` first, in a stable order.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno>;

    /// This directory's attributes.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn filestat(&self) -> Result<Filestat, Errno>;

    /// Set this directory's own access and/or modification time.
    ///
    /// # Errors
    ///
    /// The backend's error.
    fn set_times(&self, atim: Option<SetTime>, mtim: Option<SetTime>) -> Result<(), Errno>;

    /// The attributes of `path`, of the link itself unless `follow`.
    ///
    /// # Errors
    ///
    /// `ENOENT`, ...
    fn path_filestat(&self, path: &str, follow: bool) -> Result<Filestat, Errno>;

    /// Set the times of `path`, of the link itself unless `follow`.
    ///
    /// # Errors
    ///
    /// `ENOENT`, ...
    fn path_set_times(
        &self,
        path: &str,
        follow: bool,
        atim: Option<SetTime>,
        mtim: Option<SetTime>,
    ) -> Result<(), Errno>;

    /// Create the directory `path`.
    ///
    /// # Errors
    ///
    /// `EEXIST`, `ENOENT` (missing parent), ...
    fn create_dir(&self, path: &str) -> Result<(), Errno>;

    /// Remove the empty directory `path`.
    ///
    /// # Errors
    ///
    /// `ENOTEMPTY`, `ENOTDIR`, `ENOENT`, ...
    fn remove_dir(&self, path: &str) -> Result<(), Errno>;

    /// Remove the file or symbolic link `path`.
    ///
    /// # Errors
    ///
    /// `EISDIR` (or `EPERM`) for a directory, `ENOENT`, ...
    fn unlink_file(&self, path: &str) -> Result<(), Errno>;

    /// Create a symbolic link at `link` with contents `target` (not
    /// resolved now; it must not lead out when followed later).
    ///
    /// # Errors
    ///
    /// `EEXIST`, `ENOENT`, ...
    fn symlink(&self, target: &str, link: &str) -> Result<(), Errno>;

    /// The contents of the symbolic link `path`.
    ///
    /// # Errors
    ///
    /// `EINVAL` if not a link, `ENOENT`, ...
    fn read_link(&self, path: &str) -> Result<String, Errno>;

    /// Rename `from` (under `self`) to `to` under `to_dir`.
    ///
    /// # Errors
    ///
    /// `EXDEV` if `to_dir` is of another backend, `ENOENT`, `ENOTEMPTY`,
    /// ...
    fn rename(&self, from: &str, to_dir: &dyn WasiDir, to: &str) -> Result<(), Errno>;

    /// Create the hard link `to` under `to_dir` to the file `from` under
    /// `self`; a symbolic link `from` is linked itself. `follow` asks for
    /// a link to what it points to instead: keel-wasi's `path_link` never
    /// asks (it refuses `lookupflags::symlink_follow` with `EINVAL`, as
    /// wasmtime-wasi does), and the hosted backend refuses it too.
    ///
    /// # Errors
    ///
    /// `EXDEV` if `to_dir` is of another backend, `EEXIST`, `ENOENT`,
    /// `EINVAL` for `follow` where it is not supported, ...
    fn hard_link(
        &self,
        from: &str,
        follow: bool,
        to_dir: &dyn WasiDir,
        to: &str,
    ) -> Result<(), Errno>;
}
