//! The types of `wasi_snapshot_preview1` as the guest sees them: error
//! numbers, flags, enumerations and the byte layouts of the structures the
//! functions read and write.
//!
//! The reference is the witx definition,
//! [`typenames.witx`](https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/witx/typenames.witx),
//! documented in
//! [`docs.md`](https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/docs.md).

use bitflags::bitflags;

macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $short:literal;)*) => {
        /// A WASI error number (`errno`, a `u16`), as returned by every
        /// function of `wasi_snapshot_preview1` except `proc_exit`.
        ///
        /// Source: the `errno` enum of
        /// [`typenames.witx`](https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/witx/typenames.witx).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Errno {
            $($(#[$doc])* $name = $value,)*
        }

        impl Errno {
            /// The POSIX-style name, e.g. `"EBADF"` for [`Errno::Badf`].
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => $short,)*
                }
            }

            /// The error number with value `raw`, if there is one.
            pub fn from_raw(raw: u16) -> Option<Errno> {
                match raw {
                    $($value => Some(Errno::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    /// No error occurred.
    Success = 0, "ESUCCESS";
    /// Argument list too long.
    TooBig = 1, "E2BIG";
    /// Permission denied.
    Acces = 2, "EACCES";
    /// Address in use.
    Addrinuse = 3, "EADDRINUSE";
    /// Address not available.
    Addrnotavail = 4, "EADDRNOTAVAIL";
    /// Address family not supported.
    Afnosupport = 5, "EAFNOSUPPORT";
    /// Resource unavailable, or operation would block.
    Again = 6, "EAGAIN";
    /// Connection already in progress.
    Already = 7, "EALREADY";
    /// Bad file descriptor.
    Badf = 8, "EBADF";
    /// Bad message.
    Badmsg = 9, "EBADMSG";
    /// Device or resource busy.
    Busy = 10, "EBUSY";
    /// Operation canceled.
    Canceled = 11, "ECANCELED";
    /// No child processes.
    Child = 12, "ECHILD";
    /// Connection aborted.
    Connaborted = 13, "ECONNABORTED";
    /// Connection refused.
    Connrefused = 14, "ECONNREFUSED";
    /// Connection reset.
    Connreset = 15, "ECONNRESET";
    /// Resource deadlock would occur.
    Deadlk = 16, "EDEADLK";
    /// Destination address required.
    Destaddrreq = 17, "EDESTADDRREQ";
    /// Mathematics argument out of domain of function.
    Dom = 18, "EDOM";
    /// Reserved.
    Dquot = 19, "EDQUOT";
    /// File exists.
    Exist = 20, "EEXIST";
    /// Bad address.
    Fault = 21, "EFAULT";
    /// File too large.
    Fbig = 22, "EFBIG";
    /// Host is unreachable.
    Hostunreach = 23, "EHOSTUNREACH";
    /// Identifier removed.
    Idrm = 24, "EIDRM";
    /// Illegal byte sequence.
    Ilseq = 25, "EILSEQ";
    /// Operation in progress.
    Inprogress = 26, "EINPROGRESS";
    /// Interrupted function.
    Intr = 27, "EINTR";
    /// Invalid argument.
    Inval = 28, "EINVAL";
    /// I/O error.
    Io = 29, "EIO";
    /// Socket is connected.
    Isconn = 30, "EISCONN";
    /// Is a directory.
    Isdir = 31, "EISDIR";
    /// Too many levels of symbolic links.
    Loop = 32, "ELOOP";
    /// File descriptor value too large.
    Mfile = 33, "EMFILE";
    /// Too many links.
    Mlink = 34, "EMLINK";
    /// Message too large.
    Msgsize = 35, "EMSGSIZE";
    /// Reserved.
    Multihop = 36, "EMULTIHOP";
    /// Filename too long.
    Nametoolong = 37, "ENAMETOOLONG";
    /// Network is down.
    Netdown = 38, "ENETDOWN";
    /// Connection aborted by network.
    Netreset = 39, "ENETRESET";
    /// Network unreachable.
    Netunreach = 40, "ENETUNREACH";
    /// Too many files open in system.
    Nfile = 41, "ENFILE";
    /// No buffer space available.
    Nobufs = 42, "ENOBUFS";
    /// No such device.
    Nodev = 43, "ENODEV";
    /// No such file or directory.
    Noent = 44, "ENOENT";
    /// Executable file format error.
    Noexec = 45, "ENOEXEC";
    /// No locks available.
    Nolck = 46, "ENOLCK";
    /// Reserved.
    Nolink = 47, "ENOLINK";
    /// Not enough space.
    Nomem = 48, "ENOMEM";
    /// No message of the desired type.
    Nomsg = 49, "ENOMSG";
    /// Protocol not available.
    Noprotoopt = 50, "ENOPROTOOPT";
    /// No space left on device.
    Nospc = 51, "ENOSPC";
    /// Function not supported.
    Nosys = 52, "ENOSYS";
    /// The socket is not connected.
    Notconn = 53, "ENOTCONN";
    /// Not a directory or a symbolic link to a directory.
    Notdir = 54, "ENOTDIR";
    /// Directory not empty.
    Notempty = 55, "ENOTEMPTY";
    /// State not recoverable.
    Notrecoverable = 56, "ENOTRECOVERABLE";
    /// Not a socket.
    Notsock = 57, "ENOTSOCK";
    /// Not supported, or operation not supported on socket.
    Notsup = 58, "ENOTSUP";
    /// Inappropriate I/O control operation.
    Notty = 59, "ENOTTY";
    /// No such device or address.
    Nxio = 60, "ENXIO";
    /// Value too large to be stored in data type.
    Overflow = 61, "EOVERFLOW";
    /// Previous owner died.
    Ownerdead = 62, "EOWNERDEAD";
    /// Operation not permitted.
    Perm = 63, "EPERM";
    /// Broken pipe.
    Pipe = 64, "EPIPE";
    /// Protocol error.
    Proto = 65, "EPROTO";
    /// Protocol not supported.
    Protonosupport = 66, "EPROTONOSUPPORT";
    /// Protocol wrong type for socket.
    Prototype = 67, "EPROTOTYPE";
    /// Result too large.
    Range = 68, "ERANGE";
    /// Read-only file system.
    Rofs = 69, "EROFS";
    /// Invalid seek.
    Spipe = 70, "ESPIPE";
    /// No such process.
    Srch = 71, "ESRCH";
    /// Reserved.
    Stale = 72, "ESTALE";
    /// Connection timed out.
    Timedout = 73, "ETIMEDOUT";
    /// Text file busy.
    Txtbsy = 74, "ETXTBSY";
    /// Cross-device link.
    Xdev = 75, "EXDEV";
    /// Extension: capabilities insufficient.
    Notcapable = 76, "ENOTCAPABLE";
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (errno {})", self.name(), *self as u16)
    }
}

impl core::error::Error for Errno {}

/// The type of a file descriptor or file (`filetype`, a `u8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Filetype {
    /// The type is unknown or different from the others.
    Unknown = 0,
    /// A block device.
    BlockDevice = 1,
    /// A character device (e.g. a terminal, or stdio).
    CharacterDevice = 2,
    /// A directory.
    Directory = 3,
    /// A regular file.
    RegularFile = 4,
    /// A datagram socket.
    SocketDgram = 5,
    /// A byte-stream socket.
    SocketStream = 6,
    /// A symbolic link.
    SymbolicLink = 7,
}

bitflags! {
    /// File descriptor rights (`rights`, a `u64`): which functions a
    /// descriptor may be used with. keel-wasi derives them from what the
    /// descriptor was opened for and the preopen's
    /// [`DirPerms`]/[`FilePerms`], and reports them in `fd_fdstat_get`. A
    /// guest can drop some with `fd_fdstat_set_rights` (never add any):
    /// each function then checks the right it needs, and so do the
    /// descriptors opened through a directory that no longer passes a
    /// right on.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u64 {
        /// `fd_datasync`.
        const FD_DATASYNC = 1 << 0;
        /// `fd_read` and `sock_recv`.
        const FD_READ = 1 << 1;
        /// `fd_seek` (implies `FD_TELL`).
        const FD_SEEK = 1 << 2;
        /// `fd_fdstat_set_flags`.
        const FD_FDSTAT_SET_FLAGS = 1 << 3;
        /// `fd_sync`.
        const FD_SYNC = 1 << 4;
        /// `fd_seek` with a zero offset and `whence::cur`, and `fd_tell`.
        const FD_TELL = 1 << 5;
        /// `fd_write` and `sock_send`.
        const FD_WRITE = 1 << 6;
        /// `fd_advise`.
        const FD_ADVISE = 1 << 7;
        /// `fd_allocate`.
        const FD_ALLOCATE = 1 << 8;
        /// `path_create_directory`.
        const PATH_CREATE_DIRECTORY = 1 << 9;
        /// `path_open` with `oflags::creat`.
        const PATH_CREATE_FILE = 1 << 10;
        /// `path_link` with the descriptor as its source directory.
        const PATH_LINK_SOURCE = 1 << 11;
        /// `path_link` with the descriptor as its target directory.
        const PATH_LINK_TARGET = 1 << 12;
        /// `path_open`.
        const PATH_OPEN = 1 << 13;
        /// `fd_readdir`.
        const FD_READDIR = 1 << 14;
        /// `path_readlink`.
        const PATH_READLINK = 1 << 15;
        /// `path_rename` with the descriptor as its source directory.
        const PATH_RENAME_SOURCE = 1 << 16;
        /// `path_rename` with the descriptor as its target directory.
        const PATH_RENAME_TARGET = 1 << 17;
        /// `path_filestat_get`.
        const PATH_FILESTAT_GET = 1 << 18;
        /// Changing a file's size through `path_open` with `oflags::trunc`.
        const PATH_FILESTAT_SET_SIZE = 1 << 19;
        /// `path_filestat_set_times`.
        const PATH_FILESTAT_SET_TIMES = 1 << 20;
        /// `fd_filestat_get`.
        const FD_FILESTAT_GET = 1 << 21;
        /// `fd_filestat_set_size`.
        const FD_FILESTAT_SET_SIZE = 1 << 22;
        /// `fd_filestat_set_times`.
        const FD_FILESTAT_SET_TIMES = 1 << 23;
        /// `path_symlink`.
        const PATH_SYMLINK = 1 << 24;
        /// `path_remove_directory`.
        const PATH_REMOVE_DIRECTORY = 1 << 25;
        /// `path_unlink_file`.
        const PATH_UNLINK_FILE = 1 << 26;
        /// `poll_oneoff` subscriptions of type `fd_read`/`fd_write`.
        const POLL_FD_READWRITE = 1 << 27;
        /// `sock_shutdown`.
        const SOCK_SHUTDOWN = 1 << 28;
        /// `sock_accept`.
        const SOCK_ACCEPT = 1 << 29;
    }
}

bitflags! {
    /// File descriptor flags (`fdflags`, a `u16`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FdFlags: u16 {
        /// Writes append to the end of the file.
        const APPEND = 1 << 0;
        /// Write according to synchronized I/O data integrity completion.
        const DSYNC = 1 << 1;
        /// Non-blocking mode.
        const NONBLOCK = 1 << 2;
        /// Synchronized read I/O operations.
        const RSYNC = 1 << 3;
        /// Write according to synchronized I/O file integrity completion.
        const SYNC = 1 << 4;
    }
}

bitflags! {
    /// Open flags of `path_open` (`oflags`, a `u16`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct OFlags: u16 {
        /// Create the file if it does not exist.
        const CREAT = 1 << 0;
        /// Fail if not a directory.
        const DIRECTORY = 1 << 1;
        /// Fail if the file already exists.
        const EXCL = 1 << 2;
        /// Truncate the file to size 0.
        const TRUNC = 1 << 3;
    }
}

bitflags! {
    /// Flags of `*_set_times` (`fstflags`, a `u16`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FstFlags: u16 {
        /// Set the access time to the given value.
        const ATIM = 1 << 0;
        /// Set the access time to now.
        const ATIM_NOW = 1 << 1;
        /// Set the modification time to the given value.
        const MTIM = 1 << 2;
        /// Set the modification time to now.
        const MTIM_NOW = 1 << 3;
    }
}

bitflags! {
    /// Permissions a preopened directory grants on itself and the
    /// directories under it, as wasmtime-wasi's `DirPerms`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct DirPerms: u8 {
        /// List, stat and open entries.
        const READ = 1 << 0;
        /// Create, rename, link and remove entries, and set times.
        const MUTATE = 1 << 1;
    }
}

bitflags! {
    /// Permissions a preopened directory grants on the files under it, as
    /// wasmtime-wasi's `FilePerms`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FilePerms: u8 {
        /// Open files for reading.
        const READ = 1 << 0;
        /// Open files for writing, and change their size and times.
        const WRITE = 1 << 1;
    }
}

/// A clock (`clockid`, a `u32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ClockId {
    /// Wall-clock time: nanoseconds since 1970-01-01 00:00:00 UTC.
    Realtime = 0,
    /// A clock that cannot be set and only moves forward, from an
    /// unspecified start.
    Monotonic = 1,
    /// CPU time of the process.
    ProcessCputime = 2,
    /// CPU time of the thread.
    ThreadCputime = 3,
}

impl ClockId {
    /// The clock with number `raw`, if any.
    pub fn from_raw(raw: u32) -> Option<ClockId> {
        Some(match raw {
            0 => ClockId::Realtime,
            1 => ClockId::Monotonic,
            2 => ClockId::ProcessCputime,
            3 => ClockId::ThreadCputime,
            _ => return None,
        })
    }
}

/// The reference point of `fd_seek` (`whence`, a `u8`), with its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeekFrom {
    /// From the start of the file.
    Start(u64),
    /// From the current position.
    Current(i64),
    /// From the end of the file.
    End(i64),
}

/// File advice of `fd_advise` (`advice`, a `u8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Advice {
    /// No advice.
    Normal = 0,
    /// Sequential access.
    Sequential = 1,
    /// Random access.
    Random = 2,
    /// Will be accessed soon.
    WillNeed = 3,
    /// Will not be accessed soon.
    DontNeed = 4,
    /// Accessed once.
    NoReuse = 5,
}

impl Advice {
    /// The advice with number `raw`, if any.
    pub fn from_raw(raw: u8) -> Option<Advice> {
        Some(match raw {
            0 => Advice::Normal,
            1 => Advice::Sequential,
            2 => Advice::Random,
            3 => Advice::WillNeed,
            4 => Advice::DontNeed,
            5 => Advice::NoReuse,
            _ => return None,
        })
    }
}

/// A time to set with `*_set_times`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetTime {
    /// The current time.
    Now,
    /// Nanoseconds since 1970-01-01 00:00:00 UTC.
    At(u64),
}

/// File attributes (`filestat`, 64 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Filestat {
    /// Device ID of the device containing the file.
    pub dev: u64,
    /// File serial number.
    pub ino: u64,
    /// File type.
    pub filetype: Filetype,
    /// Number of hard links.
    pub nlink: u64,
    /// Size in bytes (for a symbolic link, the length of its target).
    pub size: u64,
    /// Last access time, in nanoseconds since the Unix epoch.
    pub atim: u64,
    /// Last data modification time, in nanoseconds since the Unix epoch.
    pub mtim: u64,
    /// Last status change time, in nanoseconds since the Unix epoch.
    pub ctim: u64,
}

impl Filestat {
    /// Attributes of a file that has none beyond its type (a pipe, a
    /// terminal): zeros elsewhere.
    pub fn of_type(filetype: Filetype) -> Filestat {
        Filestat {
            dev: 0,
            ino: 0,
            filetype,
            nlink: 0,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        }
    }
}

/// A directory entry, as `fd_readdir` reports it (`dirent` header plus
/// the name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DirEntry {
    /// The entry's name (one path component, no `/`).
    pub name: alloc::string::String,
    /// The serial number of the file it names, or 0 when unknown.
    pub ino: u64,
    /// Its type (of the link itself for a symbolic link).
    pub filetype: Filetype,
}

/// Byte layouts and constants of the structures in guest memory.
pub mod layout {
    /// `iovec`/`ciovec`: `buf: u32` at 0, `buf_len: u32` at 4.
    pub const IOVEC_SIZE: u32 = 8;
    /// `fdstat`: `fs_filetype: u8` at 0, `fs_flags: u16` at 2,
    /// `fs_rights_base: u64` at 8, `fs_rights_inheriting: u64` at 16.
    pub const FDSTAT_SIZE: u32 = 24;
    /// `filestat`: `dev` 0, `ino` 8, `filetype: u8` 16, `nlink` 24,
    /// `size` 32, `atim` 40, `mtim` 48, `ctim` 56 (all `u64` but the
    /// type).
    pub const FILESTAT_SIZE: u32 = 64;
    /// `prestat`: tag `u8` at 0 (0 = directory), `pr_name_len: u32` at 4.
    pub const PRESTAT_SIZE: u32 = 8;
    /// `dirent` header: `d_next: u64` 0, `d_ino: u64` 8, `d_namlen: u32`
    /// 16, `d_type: u8` 20; the name follows it.
    pub const DIRENT_SIZE: u32 = 24;
    /// `subscription`: `userdata: u64` 0, tag `u8` 8; clock: `id: u32` 16,
    /// `timeout: u64` 24, `precision: u64` 32, `flags: u16` 40;
    /// fd_read/fd_write: `fd: u32` 16.
    pub const SUBSCRIPTION_SIZE: u32 = 48;
    /// `event`: `userdata: u64` 0, `error: u16` 8, `type: u8` 10,
    /// `nbytes: u64` 16, `flags: u16` 24.
    pub const EVENT_SIZE: u32 = 32;
    /// `eventtype::clock`.
    pub const EVENTTYPE_CLOCK: u8 = 0;
    /// `eventtype::fd_read`.
    pub const EVENTTYPE_FD_READ: u8 = 1;
    /// `eventtype::fd_write`.
    pub const EVENTTYPE_FD_WRITE: u8 = 2;
    /// `subclockflags::subscription_clock_abstime`.
    pub const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
    /// `eventrwflags::fd_readwrite_hangup`.
    pub const EVENTRWFLAGS_HANGUP: u16 = 1;
    /// `lookupflags::symlink_follow`.
    pub const LOOKUPFLAGS_SYMLINK_FOLLOW: u32 = 1;
    /// `preopentype::dir`.
    pub const PREOPENTYPE_DIR: u8 = 0;
    /// `sdflags::rd`.
    pub const SDFLAGS_RD: u8 = 1;
    /// `sdflags::wr`.
    pub const SDFLAGS_WR: u8 = 2;
    /// `riflags::recv_peek`.
    pub const RIFLAGS_RECV_PEEK: u16 = 1;
    /// `riflags::recv_waitall`.
    pub const RIFLAGS_RECV_WAITALL: u16 = 2;
    /// `roflags::recv_data_truncated`.
    pub const ROFLAGS_RECV_DATA_TRUNCATED: u16 = 1;
}
