//! The file trait: what keel-wasi needs from anything a file descriptor
//! names that is not a directory (regular files, stdio, pipes, sockets).

use alloc::boxed::Box;
use core::any::Any;

use crate::types::{Advice, Errno, FdFlags, Filestat, Filetype, SeekFrom, SetTime};

/// A file as `wasi_snapshot_preview1` uses it. Backends implement it: the
/// hosted one for real files, stdio and sockets, [`crate::pipe`] for
/// in-memory streams, a kernel for its own VFS nodes.
///
/// Methods report failures as the [`Errno`] the guest sees. The defaults
/// are those of a stream that supports none of the operation (e.g. `pread`
/// on a pipe gives `ESPIPE`, `sock_*` on a file `ENOTSOCK`). Reads and
/// writes may be short, as POSIX `read`/`write`; a read of 0 bytes into a
/// non-empty buffer means end of file.
///
/// `Any` is a supertrait so that a backend can recognize its own files
/// (`&dyn WasiFile as &dyn Any`, then `downcast_ref`).
///
/// The core checks rights before calling (e.g. `write` is only called on a
/// descriptor opened for writing), so implementations need not.
pub trait WasiFile: Send + Sync + Any {
    /// The file's type, as `fd_fdstat_get` reports it.
    fn filetype(&self) -> Filetype;

    /// The descriptor flags in effect (`fd_fdstat_get`'s `fs_flags`).
    fn fdflags(&self) -> FdFlags {
        FdFlags::empty()
    }

    /// Change the descriptor flags (`fd_fdstat_set_flags`).
    ///
    /// # Errors
    ///
    /// `ENOTSUP` by default; the backend's error otherwise.
    fn set_fdflags(&mut self, _flags: FdFlags) -> Result<(), Errno> {
        Err(Errno::Notsup)
    }

    /// Read into `buf` from the current position, advancing it.
    ///
    /// # Errors
    ///
    /// `EBADF` by default.
    fn read(&mut self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::Badf)
    }

    /// Write `buf` at the current position (at the end with
    /// [`FdFlags::APPEND`]), advancing it.
    ///
    /// # Errors
    ///
    /// `EBADF` by default.
    fn write(&mut self, _buf: &[u8]) -> Result<usize, Errno> {
        Err(Errno::Badf)
    }

    /// Read into `buf` at byte `offset`, leaving the position alone.
    ///
    /// # Errors
    ///
    /// `ESPIPE` by default.
    fn pread(&mut self, _buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::Spipe)
    }

    /// Write `buf` at byte `offset`, leaving the position alone. On a
    /// descriptor with [`FdFlags::APPEND`] the hosted backend does what the
    /// host's `pwrite(2)` does: on Linux the bytes go to the end of the
    /// file whatever `offset` says (as wasmtime-wasi on every host), where
    /// POSIX has them at `offset`.
    ///
    /// # Errors
    ///
    /// `ESPIPE` by default.
    fn pwrite(&mut self, _buf: &[u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::Spipe)
    }

    /// Move the position; returns the new position in bytes from the start.
    ///
    /// # Errors
    ///
    /// `ESPIPE` by default; `EINVAL` for a resulting negative position.
    fn seek(&mut self, _pos: SeekFrom) -> Result<u64, Errno> {
        Err(Errno::Spipe)
    }

    /// The file's attributes (`fd_filestat_get`).
    ///
    /// # Errors
    ///
    /// The backend's error. By default the attributes are zeros but for the
    /// type.
    fn filestat(&self) -> Result<Filestat, Errno> {
        Ok(Filestat::of_type(self.filetype()))
    }

    /// Truncate or extend (with zeros) the file to `size` bytes.
    ///
    /// # Errors
    ///
    /// `EBADF` by default.
    fn set_size(&mut self, _size: u64) -> Result<(), Errno> {
        Err(Errno::Badf)
    }

    /// Set the access and/or modification time; `None` leaves one as is.
    ///
    /// # Errors
    ///
    /// `EBADF` by default.
    fn set_times(&mut self, _atim: Option<SetTime>, _mtim: Option<SetTime>) -> Result<(), Errno> {
        Err(Errno::Badf)
    }

    /// Flush data and metadata to storage (`fd_sync`).
    ///
    /// # Errors
    ///
    /// `EBADF` by default (a stream has no storage to flush).
    fn sync(&mut self) -> Result<(), Errno> {
        Err(Errno::Badf)
    }

    /// Flush data to storage (`fd_datasync`).
    ///
    /// # Errors
    ///
    /// `EBADF` by default (a stream has no storage to flush).
    fn datasync(&mut self) -> Result<(), Errno> {
        Err(Errno::Badf)
    }

    /// Advice about an access pattern (`fd_advise`); `len` 0 means to the
    /// end of the file.
    ///
    /// # Errors
    ///
    /// `EBADF` by default (advice is for files).
    fn advise(&mut self, _offset: u64, _len: u64, _advice: Advice) -> Result<(), Errno> {
        Err(Errno::Badf)
    }

    /// Bytes that can be read now without blocking, for `poll_oneoff`'s
    /// `nbytes`; `None` if the backend cannot tell (it is then asked to wait
    /// through [`WasiFile::pollable`] or considered ready).
    fn bytes_ready(&self) -> Option<u64> {
        None
    }

    /// An identifier the [`crate::WasiSched`] backend can wait on until the
    /// file is readable or writable (for the hosted backend, the OS file
    /// descriptor). `None` means always ready.
    fn pollable(&self) -> Option<i32> {
        None
    }

    /// Accept a connection on a listening socket, with the new descriptor's
    /// flags.
    ///
    /// # Errors
    ///
    /// `ENOTSOCK` by default.
    fn sock_accept(&mut self, _flags: FdFlags) -> Result<Box<dyn WasiFile>, Errno> {
        Err(Errno::Notsock)
    }

    /// Receive into `buf` (`riflags` as given); returns the byte count and
    /// whether data was truncated.
    ///
    /// # Errors
    ///
    /// `ENOTSOCK` by default.
    fn sock_recv(&mut self, _buf: &mut [u8], _peek: bool) -> Result<(usize, bool), Errno> {
        Err(Errno::Notsock)
    }

    /// Send `buf`; returns the byte count.
    ///
    /// # Errors
    ///
    /// `ENOTSOCK` by default.
    fn sock_send(&mut self, _buf: &[u8]) -> Result<usize, Errno> {
        Err(Errno::Notsock)
    }

    /// Shut down the read and/or write half of a connection.
    ///
    /// # Errors
    ///
    /// `ENOTSOCK` by default.
    fn sock_shutdown(&mut self, _read: bool, _write: bool) -> Result<(), Errno> {
        Err(Errno::Notsock)
    }
}
