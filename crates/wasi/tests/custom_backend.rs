//! keel-wasi's core with a backend of our own instead of the host's, as a
//! kernel would plug in its VFS: an in-memory read-only directory, a
//! virtual clock that only moves when the guest looks at it or sleeps,
//! and a deterministic random source. Real C programs run on it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use keel::{Engine, Linker, Module, Store};
use keel_wasi::pipe::MemoryOutputPipe;
use keel_wasi::types::{ClockId, DirEntry, Errno, Filestat, Filetype, SeekFrom, SetTime};
use keel_wasi::{
    DirPerms, FilePerms, I32Exit, OpenOptions, Opened, PollFd, WasiClocks, WasiCtx, WasiCtxBuilder,
    WasiDir, WasiFile, WasiRandom, WasiSched,
};

/// A read-only directory of in-memory files, and how many times it was
/// listed.
struct MemDir(Arc<BTreeMap<String, Arc<Vec<u8>>>>, Arc<AtomicU64>);

/// An open in-memory file.
struct MemFile {
    data: Arc<Vec<u8>>,
    pos: u64,
}

impl WasiFile for MemFile {
    fn filetype(&self) -> Filetype {
        Filetype::RegularFile
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let start = (self.pos as usize).min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }

    fn seek(&mut self, pos: SeekFrom) -> Result<u64, Errno> {
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => (self.data.len() as u64).checked_add_signed(d),
        };
        self.pos = target.ok_or(Errno::Inval)?;
        Ok(self.pos)
    }

    fn filestat(&self) -> Result<Filestat, Errno> {
        Ok(Filestat {
            size: self.data.len() as u64,
            nlink: 1,
            ..Filestat::of_type(Filetype::RegularFile)
        })
    }
}

impl WasiDir for MemDir {
    fn open(&self, path: &str, options: OpenOptions) -> Result<Opened, Errno> {
        if options.write {
            return Err(Errno::Rofs);
        }
        let data = self.0.get(path).ok_or(Errno::Noent)?;
        Ok(Opened::File(Box::new(MemFile {
            data: data.clone(),
            pos: 0,
        })))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        self.1.fetch_add(1, Ordering::Relaxed);
        let dots = [".", ".."].map(|name| DirEntry {
            name: name.into(),
            ino: 1,
            filetype: Filetype::Directory,
        });
        let files = self.0.keys().enumerate().map(|(i, name)| DirEntry {
            name: name.clone(),
            ino: i as u64 + 2,
            filetype: Filetype::RegularFile,
        });
        Ok(dots.into_iter().chain(files).collect())
    }

    fn filestat(&self) -> Result<Filestat, Errno> {
        Ok(Filestat::of_type(Filetype::Directory))
    }

    fn set_times(&self, _: Option<SetTime>, _: Option<SetTime>) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn path_filestat(&self, path: &str, _follow: bool) -> Result<Filestat, Errno> {
        let data = self.0.get(path).ok_or(Errno::Noent)?;
        Ok(Filestat {
            size: data.len() as u64,
            ..Filestat::of_type(Filetype::RegularFile)
        })
    }

    fn path_set_times(
        &self,
        _: &str,
        _: bool,
        _: Option<SetTime>,
        _: Option<SetTime>,
    ) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn create_dir(&self, _: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn remove_dir(&self, _: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn unlink_file(&self, _: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn symlink(&self, _: &str, _: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn read_link(&self, _: &str) -> Result<String, Errno> {
        Err(Errno::Inval)
    }

    fn rename(&self, _: &str, _: &dyn WasiDir, _: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn hard_link(&self, _: &str, _: bool, _: &dyn WasiDir, _: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }
}

/// Virtual time: each reading advances it by 1 µs, sleeping by the
/// amount slept, so nothing waits for real.
#[derive(Clone, Default)]
struct VirtualTime(Arc<AtomicU64>);

impl WasiClocks for VirtualTime {
    fn now(&self, clock: ClockId) -> Result<u64, Errno> {
        let t = self.0.fetch_add(1_000, Ordering::Relaxed);
        match clock {
            // 2021-01-01 plus the virtual time.
            ClockId::Realtime => Ok(1_609_459_200_000_000_000 + t),
            ClockId::Monotonic => Ok(t),
            _ => Err(Errno::Inval),
        }
    }

    fn resolution(&self, _: ClockId) -> Result<u64, Errno> {
        Ok(1_000)
    }
}

impl WasiSched for VirtualTime {
    fn sleep(&self, nanos: u64) {
        self.0.fetch_add(nanos, Ordering::Relaxed);
    }

    fn yield_now(&self) {}

    fn poll(&self, _: &mut [PollFd], _: Option<u64>) -> Result<(), Errno> {
        Err(Errno::Notsup)
    }
}

/// A deterministic "random" source (xorshift): fine for a test, not for a
/// real kernel.
struct Xorshift(u64);

impl WasiRandom for Xorshift {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        Ok(())
    }
}

fn run(program: &str, args: &[&str]) -> (i32, String) {
    let files: BTreeMap<String, Arc<Vec<u8>>> = [
        (
            "hello.txt".to_string(),
            Arc::new(b"hello from memory\n".to_vec()),
        ),
        (
            "big.bin".to_string(),
            Arc::new((0..1_000_000u32).map(|i| (i * 7) as u8).collect()),
        ),
    ]
    .into_iter()
    .collect();
    let time = VirtualTime::default();
    let stdout = MemoryOutputPipe::new(1 << 20);
    let mut argv = vec![program];
    argv.extend(args);
    let wasi = WasiCtxBuilder::new()
        .args(&argv)
        .stdout(stdout.clone())
        .preopened(
            MemDir(Arc::new(files), Arc::default()),
            "/sandbox",
            DirPerms::READ,
            FilePerms::READ,
        )
        .clocks(time.clone())
        .sched(time)
        .random(Xorshift(7))
        .build();
    let engine = Engine::default();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/programs/{program}.wasm"));
    let module = Module::from_file(&engine, path).unwrap();
    let mut linker = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => {
            e.downcast_ref::<I32Exit>()
                .unwrap_or_else(|| panic!("{e:#}"))
                .0
        }
    };
    (status, String::from_utf8(stdout.contents()).unwrap())
}

#[test]
fn reads_files_from_an_in_memory_directory() {
    let (status, out) = run("cat", &[]);
    assert_eq!((status, out.as_str()), (0, ""));
    let (status, out) = run("big_read", &["/sandbox/big.bin"]);
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7) as u8).collect();
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("bytes: 1000000\n"), "{out}");
    assert!(out.contains(&format!("fnv1a64: {hash:016x}\n")), "{out}");
    // Writing is refused by this backend; the guest sees its errno.
    let (status, out) = run("big_write", &["10"]);
    assert_ne!(status, 0, "{out}");
}

#[test]
fn clocks_sleep_and_random_come_from_the_backend() {
    // `clocks` sleeps 20 ms and checks the monotonic clock moved by as
    // much: true in virtual time, without waiting.
    let start = std::time::Instant::now();
    let (status, out) = run("clocks", &[]);
    assert_eq!(status, 0, "{out}");
    assert!(out.ends_with("ok\n"), "{out}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    let (status, out) = run("random", &[]);
    assert_eq!(status, 0, "{out}");
}

/// A guest that lists a directory of 200 entries 40 bytes at a time,
/// continuing from each call's last cookie, makes the backend list it
/// once per scan (from cookie 0), not once per call.
#[test]
fn fd_readdir_lists_a_directory_once_per_scan() {
    let files: BTreeMap<String, Arc<Vec<u8>>> = (0..198)
        .map(|i| (format!("file{i:03}"), Arc::new(Vec::new())))
        .collect();
    let listings = Arc::new(AtomicU64::new(0));
    let wasi = WasiCtxBuilder::new()
        .preopened(
            MemDir(Arc::new(files), listings.clone()),
            "/d",
            DirPerms::READ,
            FilePerms::READ,
        )
        .build();
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "wasi_snapshot_preview1" "fd_readdir"
              (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
            (memory (export "memory") 1)
            ;; The bytes used, or -errno.
            (func (export "list") (param $cookie i64) (result i32) (local $errno i32)
              (local.set $errno
                (call $readdir (i32.const 3) (i32.const 0) (i32.const 40) (local.get $cookie)
                               (i32.const 100)))
              (if (result i32) (local.get $errno)
                (then (i32.sub (i32.const 0) (local.get $errno)))
                (else (i32.load (i32.const 100)))))
            (func (export "next") (result i64) (i64.load (i32.const 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let list = instance
        .get_typed_func::<i64, i32>(&mut store, "list")
        .unwrap();
    let next = instance
        .get_typed_func::<(), i64>(&mut store, "next")
        .unwrap();
    for scan in 1..=2 {
        // Each 40-byte buffer holds one entry (24-byte header, 7-byte
        // name) and the start of the next: continue from the first.
        let mut cookie = 0;
        let mut calls = 0;
        loop {
            let used = list.call(&mut store, cookie).unwrap();
            assert!(used >= 0, "errno {}", -used);
            calls += 1;
            if used < 40 {
                break;
            }
            cookie = next.call(&mut store, ()).unwrap();
        }
        assert_eq!(calls, 200, "one call per entry");
        assert_eq!(
            listings.load(Ordering::Relaxed),
            scan,
            "listings after scan {scan}"
        );
    }
}
