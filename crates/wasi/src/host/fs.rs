//! Host files and directories. Every path lookup goes through cap-std,
//! which resolves it beneath the directory handle and refuses `..` past
//! it, absolute paths and symbolic links that lead out.

use std::fs::{File, FileTimes};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use cap_fs_ext::FollowSymlinks;
use cap_fs_ext::{DirExt, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, SystemTimeSpec};
use cap_std::fs::{Dir, OpenOptions as CapOpenOptions};

use super::{IoResultExt, system_time};
use crate::dir::{OpenOptions, Opened, WasiDir};
use crate::file::WasiFile;
use crate::types::{
    Advice, DirEntry, Errno, FdFlags, Filestat, Filetype, OFlags, SeekFrom, SetTime,
};

/// The WASI type of a host file type.
fn filetype_of(ft: cap_std::fs::FileType) -> Filetype {
    use cap_std::fs::FileTypeExt;
    if ft.is_dir() {
        Filetype::Directory
    } else if ft.is_file() {
        Filetype::RegularFile
    } else if ft.is_symlink() {
        Filetype::SymbolicLink
    } else if ft.is_block_device() {
        Filetype::BlockDevice
    } else if ft.is_char_device() {
        Filetype::CharacterDevice
    } else if ft.is_socket() {
        Filetype::SocketStream
    } else {
        Filetype::Unknown
    }
}

fn nanos(secs: i64, nsec: i64) -> u64 {
    u64::try_from(secs)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(nsec).unwrap_or(0))
}

fn filestat_of(meta: &cap_std::fs::Metadata) -> Filestat {
    use cap_std::fs::MetadataExt as _;
    Filestat {
        dev: meta.dev(),
        ino: meta.ino(),
        filetype: filetype_of(meta.file_type()),
        nlink: meta.nlink(),
        size: meta.size(),
        atim: nanos(meta.atime(), meta.atime_nsec()),
        mtim: nanos(meta.mtime(), meta.mtime_nsec()),
        ctim: nanos(meta.ctime(), meta.ctime_nsec()),
    }
}

fn time_spec(time: Option<SetTime>) -> Option<SystemTimeSpec> {
    time.map(|t| match t {
        SetTime::Now => SystemTimeSpec::SymbolicNow,
        SetTime::At(nanos) => {
            SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(system_time(nanos)))
        }
    })
}

/// A host file opened under a [`HostDir`].
#[derive(Debug)]
pub struct HostFile {
    file: File,
    filetype: Filetype,
}

impl HostFile {
    /// Wrap an open host file.
    pub fn new(file: File) -> HostFile {
        let filetype = cap_std::fs::Metadata::from_file(&file)
            .map_or(Filetype::Unknown, |m| filetype_of(m.file_type()));
        HostFile { file, filetype }
    }
}

impl WasiFile for HostFile {
    fn filetype(&self) -> Filetype {
        self.filetype
    }

    fn fdflags(&self) -> FdFlags {
        let Ok(flags) = rustix::fs::fcntl_getfl(&self.file) else {
            return FdFlags::empty();
        };
        let mut out = FdFlags::empty();
        for (os, wasi) in [
            (rustix::fs::OFlags::APPEND, FdFlags::APPEND),
            (rustix::fs::OFlags::DSYNC, FdFlags::DSYNC),
            (rustix::fs::OFlags::NONBLOCK, FdFlags::NONBLOCK),
            (rustix::fs::OFlags::SYNC, FdFlags::SYNC),
        ] {
            if flags.contains(os) {
                out |= wasi;
            }
        }
        // On Linux O_RSYNC is O_SYNC; report it only as SYNC.
        out
    }

    fn set_fdflags(&mut self, flags: FdFlags) -> Result<(), Errno> {
        // Like Linux's F_SETFL (and wasmtime-wasi): only append and
        // non-blocking can change on an open file.
        if flags.intersects(FdFlags::DSYNC | FdFlags::RSYNC | FdFlags::SYNC) {
            return Err(Errno::Inval);
        }
        let mut os = rustix::fs::fcntl_getfl(&self.file).map_err(|e| super::errno_of(&e.into()))?;
        os.set(rustix::fs::OFlags::APPEND, flags.contains(FdFlags::APPEND));
        os.set(
            rustix::fs::OFlags::NONBLOCK,
            flags.contains(FdFlags::NONBLOCK),
        );
        rustix::fs::fcntl_setfl(&self.file, os).map_err(|e| super::errno_of(&e.into()))
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.file.read(buf).errno()
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        self.file.write(buf).errno()
    }

    fn pread(&mut self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.file.read_at(buf, offset).errno()
    }

    fn pwrite(&mut self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        self.file.write_at(buf, offset).errno()
    }

    fn seek(&mut self, pos: SeekFrom) -> Result<u64, Errno> {
        let pos = match pos {
            SeekFrom::Start(at) => std::io::SeekFrom::Start(at),
            SeekFrom::Current(delta) => std::io::SeekFrom::Current(delta),
            SeekFrom::End(delta) => std::io::SeekFrom::End(delta),
        };
        self.file.seek(pos).errno()
    }

    fn filestat(&self) -> Result<Filestat, Errno> {
        Ok(filestat_of(
            &cap_std::fs::Metadata::from_file(&self.file).errno()?,
        ))
    }

    fn set_size(&mut self, size: u64) -> Result<(), Errno> {
        self.file.set_len(size).errno()
    }

    fn set_times(&mut self, atim: Option<SetTime>, mtim: Option<SetTime>) -> Result<(), Errno> {
        let now = std::time::SystemTime::now();
        let resolve = |t: SetTime| match t {
            SetTime::Now => now,
            SetTime::At(nanos) => system_time(nanos),
        };
        let mut times = FileTimes::new();
        if let Some(t) = atim {
            times = times.set_accessed(resolve(t));
        }
        if let Some(t) = mtim {
            times = times.set_modified(resolve(t));
        }
        self.file.set_times(times).errno()
    }

    fn sync(&mut self) -> Result<(), Errno> {
        self.file.sync_all().errno()
    }

    fn datasync(&mut self) -> Result<(), Errno> {
        self.file.sync_data().errno()
    }

    fn advise(&mut self, offset: u64, len: u64, advice: Advice) -> Result<(), Errno> {
        use rustix::fs::Advice as A;
        let advice = match advice {
            Advice::Normal => A::Normal,
            Advice::Sequential => A::Sequential,
            Advice::Random => A::Random,
            Advice::WillNeed => A::WillNeed,
            Advice::DontNeed => A::DontNeed,
            Advice::NoReuse => A::NoReuse,
        };
        let len = core::num::NonZeroU64::new(len);
        rustix::fs::fadvise(&self.file, offset, len, advice).map_err(|e| super::errno_of(&e.into()))
    }

    fn bytes_ready(&self) -> Option<u64> {
        // A regular file never blocks; report at least 1 as wasmtime-wasi
        // does, so a reader polls and then reads end of file.
        let size = self.file.metadata().ok()?.len();
        let mut file = &self.file;
        let pos = file.stream_position().ok()?;
        Some(size.saturating_sub(pos).max(1))
    }

    fn pollable(&self) -> Option<i32> {
        match self.filetype {
            Filetype::RegularFile | Filetype::Directory => None,
            _ => Some(self.file.as_raw_fd()),
        }
    }
}

/// A host directory, reached through a cap-std [`Dir`] handle: every path
/// resolves beneath it.
#[derive(Debug)]
pub struct HostDir {
    dir: Dir,
}

impl HostDir {
    /// Wrap a cap-std directory handle.
    pub fn new(dir: Dir) -> HostDir {
        HostDir { dir }
    }

    fn other<'a>(&self, dir: &'a dyn WasiDir) -> Result<&'a HostDir, Errno> {
        (dir as &dyn core::any::Any)
            .downcast_ref::<HostDir>()
            .ok_or(Errno::Xdev)
    }
}

impl WasiDir for HostDir {
    fn open(&self, path: &str, options: OpenOptions) -> Result<Opened, Errno> {
        let oflags = options.oflags;
        let follow = if options.follow {
            FollowSymlinks::Yes
        } else {
            FollowSymlinks::No
        };
        let mut open = CapOpenOptions::new();
        open.read(options.read)
            .write(options.write)
            .truncate(oflags.contains(OFlags::TRUNC))
            .maybe_dir(!options.write)
            .follow(follow);
        if oflags.contains(OFlags::CREAT | OFlags::EXCL) {
            open.create_new(true);
        } else if oflags.contains(OFlags::CREAT) {
            open.create(true);
        }
        {
            use cap_std::fs::OpenOptionsExt;
            let mut custom = 0;
            // O_APPEND goes to open(2) as a custom flag, not through
            // `append(true)`: cap-std, like std, refuses `append` with
            // `truncate` (EINVAL, a rule made for Windows), and POSIX
            // takes O_TRUNC | O_APPEND. Writes then go to the end, and so
            // does `pwrite` on Linux (see `WasiFile::pwrite`).
            if options.fdflags.contains(FdFlags::APPEND) {
                custom |= rustix::fs::OFlags::APPEND.bits();
            }
            if options.fdflags.contains(FdFlags::NONBLOCK) {
                custom |= rustix::fs::OFlags::NONBLOCK.bits();
            }
            if options.fdflags.intersects(FdFlags::SYNC | FdFlags::RSYNC) {
                custom |= rustix::fs::OFlags::SYNC.bits();
            }
            if options.fdflags.contains(FdFlags::DSYNC) {
                custom |= rustix::fs::OFlags::DSYNC.bits();
            }
            open.custom_flags(custom as i32);
        }
        let file = self.dir.open_with(path, &open).errno()?;
        let std_file = file.into_std();
        let meta = std_file.metadata().errno()?;
        if meta.is_dir() {
            // Opening a directory for writing fails in the OS (EISDIR).
            return Ok(Opened::Dir(Box::new(HostDir::new(Dir::from_std_file(
                std_file,
            )))));
        }
        if oflags.contains(OFlags::DIRECTORY) {
            return Err(Errno::Notdir);
        }
        Ok(Opened::File(Box::new(HostFile::new(std_file))))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        use std::os::unix::fs::DirEntryExt as _;
        let own = self.dir.dir_metadata().errno()?;
        let own_ino = {
            use cap_std::fs::MetadataExt as _;
            own.ino()
        };
        let mut entries = vec![
            DirEntry {
                name: ".".into(),
                ino: own_ino,
                filetype: Filetype::Directory,
            },
            DirEntry {
                name: "..".into(),
                ino: own_ino,
                filetype: Filetype::Directory,
            },
        ];
        let mut rest = Vec::new();
        for entry in self.dir.entries().errno()? {
            let entry = entry.errno()?;
            let name = entry.file_name().into_string().map_err(|_| Errno::Ilseq)?;
            let filetype = entry.file_type().map_or(Filetype::Unknown, filetype_of);
            rest.push(DirEntry {
                name,
                ino: entry.ino(),
                filetype,
            });
        }
        // A stable order, so that cookies mean the same entry from one
        // call to the next while the directory does not change.
        rest.sort_by(|a, b| a.name.cmp(&b.name));
        entries.extend(rest);
        Ok(entries)
    }

    fn filestat(&self) -> Result<Filestat, Errno> {
        Ok(filestat_of(&self.dir.dir_metadata().errno()?))
    }

    fn set_times(&self, atim: Option<SetTime>, mtim: Option<SetTime>) -> Result<(), Errno> {
        self.dir
            .set_times(".", time_spec(atim), time_spec(mtim))
            .errno()
    }

    fn path_filestat(&self, path: &str, follow: bool) -> Result<Filestat, Errno> {
        let meta = if follow {
            self.dir.metadata(path)
        } else {
            self.dir.symlink_metadata(path)
        };
        Ok(filestat_of(&meta.errno()?))
    }

    fn path_set_times(
        &self,
        path: &str,
        follow: bool,
        atim: Option<SetTime>,
        mtim: Option<SetTime>,
    ) -> Result<(), Errno> {
        if follow {
            self.dir.set_times(path, time_spec(atim), time_spec(mtim))
        } else {
            self.dir
                .set_symlink_times(path, time_spec(atim), time_spec(mtim))
        }
        .errno()
    }

    fn create_dir(&self, path: &str) -> Result<(), Errno> {
        self.dir.create_dir(path).errno()
    }

    fn remove_dir(&self, path: &str) -> Result<(), Errno> {
        self.dir.remove_dir(path).errno()
    }

    fn unlink_file(&self, path: &str) -> Result<(), Errno> {
        self.dir.remove_file_or_symlink(path).errno()
    }

    fn symlink(&self, target: &str, link: &str) -> Result<(), Errno> {
        // cap-std refuses an absolute target (EPERM, as wasmtime-wasi);
        // a relative one is stored as given, and following it later is
        // what cap-std confines.
        self.dir.symlink(target, link).errno()
    }

    fn read_link(&self, path: &str) -> Result<String, Errno> {
        // An absolute target (made on the host) is refused, as cap-std
        // does: the guest cannot learn host paths through it.
        let target = self.dir.read_link(path).errno()?;
        target
            .into_os_string()
            .into_string()
            .map_err(|_| Errno::Ilseq)
    }

    fn rename(&self, from: &str, to_dir: &dyn WasiDir, to: &str) -> Result<(), Errno> {
        let to_dir = self.other(to_dir)?;
        self.dir.rename(from, &to_dir.dir, to).errno()
    }

    fn hard_link(
        &self,
        from: &str,
        follow: bool,
        to_dir: &dyn WasiDir,
        to: &str,
    ) -> Result<(), Errno> {
        // cap-std links a final symbolic link itself (linkat without
        // AT_SYMLINK_FOLLOW); it cannot link what one points to.
        if follow {
            return Err(Errno::Inval);
        }
        let to_dir = self.other(to_dir)?;
        self.dir.hard_link(from, &to_dir.dir, to).errno()
    }
}
