//! keel-wasi through its embedding API: captured stdio, `I32Exit`, the
//! sandbox and permissions of preopens made on the host, preopened
//! sockets, every function under hostile arguments, and several threads
//! running guests at once.

use std::path::{Path, PathBuf};

use keel::{Engine, Instance, Linker, Module, Store};
use keel_wasi::pipe::{MemoryInputPipe, MemoryOutputPipe};
use keel_wasi::{DirPerms, Errno, FilePerms, I32Exit, WasiCtx, WasiCtxBuilder};

/// The wasm signature of each of the 46 functions: (name, params), all
/// returning `i32` except `proc_exit`.
const FUNCTIONS: &[(&str, &str)] = &[
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_advise", "iIIi"),
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_exit", "i"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

fn wat_type(c: char) -> &'static str {
    if c == 'I' { "i64" } else { "i32" }
}

/// A module that imports all 46 functions and exports, for each, a
/// wrapper `NAME` with the same signature (so the call comes from wasm,
/// with the module's memory), plus one page of `memory`.
fn all_functions_module() -> String {
    let mut imports = String::new();
    let mut wrappers = String::new();
    for (name, params) in FUNCTIONS {
        let ps: Vec<&str> = params.chars().map(wat_type).collect();
        let result = if *name == "proc_exit" {
            ""
        } else {
            "(result i32)"
        };
        imports.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) {result}))\n",
            ps.join(" ")
        ));
        let gets: String = (0..ps.len()).map(|i| format!("local.get {i} ")).collect();
        wrappers.push_str(&format!(
            "(func (export \"{name}\") (param {}) {result} {gets} call ${name})\n",
            ps.join(" ")
        ));
    }
    format!("(module {imports} (memory (export \"memory\") 1) {wrappers})")
}

struct Guest {
    store: Store<WasiCtx>,
    instance: Instance,
}

impl Guest {
    fn new(wasi: WasiCtx) -> Guest {
        let engine = Engine::default();
        let module = Module::new(&engine, all_functions_module()).expect("compiling");
        let mut linker = Linker::new(&engine);
        keel_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut WasiCtx| cx)
            .expect("defining WASI");
        let mut store = Store::new(&engine, wasi);
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("instantiating");
        Guest { store, instance }
    }

    fn write(&mut self, at: usize, bytes: &[u8]) {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        memory.write(&mut self.store, at, bytes).unwrap();
    }

    fn read(&mut self, at: usize, len: usize) -> Vec<u8> {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        let mut out = vec![0; len];
        memory.read(&self.store, at, &mut out).unwrap();
        out
    }

    fn u32_at(&mut self, at: usize) -> u32 {
        u32::from_le_bytes(self.read(at, 4).try_into().unwrap())
    }

    /// Call `name` with `args`; the errno it returned.
    fn call(&mut self, name: &str, args: &[keel::Val]) -> keel::Result<Errno> {
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        // `proc_exit` has no result (and never returns normally).
        let results = func.ty(&self.store).results().len();
        let mut result = [keel::Val::I32(0)];
        func.call(&mut self.store, args, &mut result[..results])?;
        let keel::Val::I32(raw) = result[0] else {
            panic!("{name} returned {:?}", result[0])
        };
        Ok(Errno::from_raw(raw as u16).unwrap_or_else(|| panic!("{name}: errno {raw}")))
    }

    /// `path_open(dirfd, follow, path, oflags, rights)`; the new fd.
    fn open(&mut self, dirfd: i32, path: &str, oflags: i32, rights: i64) -> Result<u32, Errno> {
        self.write(1024, path.as_bytes());
        use keel::Val::{I32, I64};
        let errno = self
            .call(
                "path_open",
                &[
                    I32(dirfd),
                    I32(1),
                    I32(1024),
                    I32(path.len() as i32),
                    I32(oflags),
                    I64(rights),
                    I64(0),
                    I32(0),
                    I32(512),
                ],
            )
            .unwrap();
        match errno {
            Errno::Success => Ok(self.u32_at(512)),
            e => Err(e),
        }
    }

    /// `fd_write(fd, bytes)`; bytes written.
    fn fd_write(&mut self, fd: i32, bytes: &[u8]) -> Result<u32, Errno> {
        self.write(2048, bytes);
        self.write(256, &2048u32.to_le_bytes());
        self.write(260, &(bytes.len() as u32).to_le_bytes());
        use keel::Val::I32;
        match self
            .call("fd_write", &[I32(fd), I32(256), I32(1), I32(300)])
            .unwrap()
        {
            Errno::Success => Ok(self.u32_at(300)),
            e => Err(e),
        }
    }

    /// `fd_read(fd, len)`; the bytes read.
    fn fd_read(&mut self, fd: i32, len: u32) -> Result<Vec<u8>, Errno> {
        self.write(256, &4096u32.to_le_bytes());
        self.write(260, &len.to_le_bytes());
        use keel::Val::I32;
        match self
            .call("fd_read", &[I32(fd), I32(256), I32(1), I32(300)])
            .unwrap()
        {
            Errno::Success => {
                let n = self.u32_at(300) as usize;
                Ok(self.read(4096, n))
            }
            e => Err(e),
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keel-wasi-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sandbox")).unwrap();
    dir
}

const RIGHTS_READ: i64 = 1 << 1;
const RIGHTS_WRITE: i64 = 1 << 6;
const O_CREAT: i32 = 1;
const O_DIRECTORY: i32 = 2;

#[test]
fn stdio_from_memory_pipes() {
    let stdout = MemoryOutputPipe::new(1 << 20);
    let stderr = MemoryOutputPipe::new(4);
    let wasi = WasiCtxBuilder::new()
        .stdin(MemoryInputPipe::new("from the host"))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build();
    let mut guest = Guest::new(wasi);
    assert_eq!(guest.fd_read(0, 4).unwrap(), b"from");
    assert_eq!(guest.fd_read(0, 100).unwrap(), b" the host");
    assert_eq!(guest.fd_read(0, 100).unwrap(), b"", "end of file");
    assert_eq!(guest.fd_write(1, b"to the host").unwrap(), 11);
    assert_eq!(stdout.contents(), b"to the host");
    // A capacity of 4 bytes: the fifth fails.
    assert_eq!(guest.fd_write(2, b"1234").unwrap(), 4);
    assert_eq!(guest.fd_write(2, b"5"), Err(Errno::Nospc));
    assert_eq!(stderr.contents(), b"1234");
    // Wrong direction.
    assert_eq!(guest.fd_write(0, b"x"), Err(Errno::Badf));
    assert_eq!(guest.fd_read(1, 1), Err(Errno::Badf));
}

#[test]
fn proc_exit_is_an_i32_exit_error() {
    for code in [0, 1, 42, 255, -1, i32::MAX] {
        let mut guest = Guest::new(WasiCtxBuilder::new().build());
        let err = guest
            .call("proc_exit", &[keel::Val::I32(code)])
            .expect_err("proc_exit returned");
        assert_eq!(
            err.downcast_ref::<I32Exit>(),
            Some(&I32Exit(code)),
            "{err:#}"
        );
    }
}

#[test]
fn args_and_env_layout() {
    let wasi = WasiCtxBuilder::new()
        .args(&["prog", "a b"])
        .env("K", "v")
        .env("K", "w")
        .envs(&[("X", "")])
        .build();
    let mut guest = Guest::new(wasi);
    use keel::Val::I32;
    assert_eq!(
        guest.call("args_sizes_get", &[I32(0), I32(4)]).unwrap(),
        Errno::Success
    );
    assert_eq!((guest.u32_at(0), guest.u32_at(4)), (2, 9));
    assert_eq!(
        guest.call("args_get", &[I32(100), I32(200)]).unwrap(),
        Errno::Success
    );
    assert_eq!((guest.u32_at(100), guest.u32_at(104)), (200, 205));
    assert_eq!(guest.read(200, 9), b"prog\0a b\0");
    assert_eq!(
        guest.call("environ_sizes_get", &[I32(0), I32(4)]).unwrap(),
        Errno::Success
    );
    assert_eq!((guest.u32_at(0), guest.u32_at(4)), (2, 7));
    assert_eq!(
        guest.call("environ_get", &[I32(100), I32(200)]).unwrap(),
        Errno::Success
    );
    assert_eq!(guest.read(200, 7), b"K=w\0X=\0");
    // The string area past the end of memory: EFAULT, nothing written.
    assert_eq!(
        guest.call("args_get", &[I32(100), I32(65536 - 4)]).unwrap(),
        Errno::Fault
    );
    assert_eq!(
        guest.call("args_sizes_get", &[I32(65534), I32(4)]).unwrap(),
        Errno::Fault
    );
    assert_eq!(
        guest.call("args_sizes_get", &[I32(2), I32(4)]).unwrap(),
        Errno::Inval,
        "misaligned"
    );
}

/// Symbolic links made on the host that lead out of the preopen, `..` and
/// absolute paths: refused with EPERM; read-only permissions refuse
/// writing and creating.
#[test]
fn sandbox_and_permissions_of_host_preopens() {
    let dir = temp_dir("sandbox");
    let sandbox = dir.join("sandbox");
    std::fs::write(dir.join("outside.txt"), "secret").unwrap();
    std::fs::write(sandbox.join("inside.txt"), "public").unwrap();
    std::os::unix::fs::symlink(dir.join("outside.txt"), sandbox.join("abs")).unwrap();
    std::os::unix::fs::symlink("../outside.txt", sandbox.join("rel")).unwrap();
    std::os::unix::fs::symlink("inside.txt", sandbox.join("ok")).unwrap();
    std::os::unix::fs::symlink("/", sandbox.join("root")).unwrap();
    std::fs::create_dir(sandbox.join("sub")).unwrap();

    let wasi = WasiCtxBuilder::new()
        .preopened_dir(&sandbox, "/rw", DirPerms::all(), FilePerms::all())
        .unwrap()
        .preopened_dir(&sandbox, "/ro", DirPerms::READ, FilePerms::READ)
        .unwrap()
        .build();
    let mut guest = Guest::new(wasi);
    for path in [
        "abs",
        "rel",
        "root/etc/passwd",
        "../outside.txt",
        "sub/../../outside.txt",
        "/etc/passwd",
        "sub/../../sandbox/inside.txt",
    ] {
        assert_eq!(
            guest.open(3, path, 0, RIGHTS_READ),
            Err(Errno::Perm),
            "{path}"
        );
        assert_eq!(
            guest.open(3, path, O_CREAT, RIGHTS_WRITE),
            Err(Errno::Perm),
            "{path}"
        );
    }
    assert_eq!(
        guest.open(3, "root", O_DIRECTORY, RIGHTS_READ),
        Err(Errno::Perm)
    );
    let fd = guest
        .open(3, "ok", 0, RIGHTS_READ)
        .expect("a link inside is fine") as i32;
    assert_eq!(guest.fd_read(fd, 100).unwrap(), b"public");
    let fd = guest.open(3, "sub/../inside.txt", 0, RIGHTS_READ).unwrap() as i32;
    assert_eq!(guest.fd_read(fd, 100).unwrap(), b"public");

    // Read-only preopen (fd 4): reading works, writing and creating do not.
    let fd = guest.open(4, "inside.txt", 0, RIGHTS_READ).unwrap() as i32;
    assert_eq!(guest.fd_read(fd, 100).unwrap(), b"public");
    assert_eq!(guest.fd_write(fd, b"x"), Err(Errno::Badf));
    assert_eq!(
        guest.open(4, "inside.txt", 0, RIGHTS_WRITE),
        Err(Errno::Perm)
    );
    assert_eq!(
        guest.open(4, "new.txt", O_CREAT, RIGHTS_WRITE),
        Err(Errno::Perm)
    );
    guest.write(1024, b"newdir");
    use keel::Val::I32;
    assert_eq!(
        guest
            .call("path_create_directory", &[I32(4), I32(1024), I32(6)])
            .unwrap(),
        Errno::Perm
    );
    assert_eq!(
        guest
            .call("path_create_directory", &[I32(3), I32(1024), I32(6)])
            .unwrap(),
        Errno::Success
    );
    assert!(sandbox.join("newdir").is_dir());
    assert_eq!(
        std::fs::read_to_string(dir.join("outside.txt")).unwrap(),
        "secret"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A preopened TCP listener: the guest accepts a connection, receives,
/// sends and shuts down.
#[test]
fn preopened_socket() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(b"ping").unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        reply
    });
    let wasi = WasiCtxBuilder::new().preopened_socket(listener).build();
    let mut guest = Guest::new(wasi);
    use keel::Val::I32;
    assert_eq!(
        guest
            .call("sock_accept", &[I32(3), I32(0), I32(0)])
            .unwrap(),
        Errno::Success
    );
    let conn = guest.u32_at(0) as i32;
    // One iovec of 4 bytes at 4096.
    guest.write(256, &4096u32.to_le_bytes());
    guest.write(260, &4u32.to_le_bytes());
    assert_eq!(
        guest
            .call(
                "sock_recv",
                &[I32(conn), I32(256), I32(1), I32(0), I32(300), I32(304)]
            )
            .unwrap(),
        Errno::Success
    );
    assert_eq!(guest.u32_at(300), 4);
    assert_eq!(guest.read(4096, 4), b"ping");
    guest.write(4096, b"pong");
    assert_eq!(
        guest
            .call(
                "sock_send",
                &[I32(conn), I32(256), I32(1), I32(0), I32(300)]
            )
            .unwrap(),
        Errno::Success
    );
    assert_eq!(
        guest.call("sock_shutdown", &[I32(conn), I32(2)]).unwrap(),
        Errno::Success
    );
    assert_eq!(client.join().unwrap(), b"pong");
    // Not sockets: a directory-less table entry and stdio.
    assert_eq!(
        guest.call("sock_shutdown", &[I32(1), I32(3)]).unwrap(),
        Errno::Notsock
    );
    assert_eq!(
        guest.call("sock_shutdown", &[I32(99), I32(3)]).unwrap(),
        Errno::Badf
    );
}

/// Every function, called many times with arguments drawn from edge
/// values (0, -1, the last bytes of memory, past it, huge lengths, random
/// bits): each call returns an errno or, for `proc_exit`, `I32Exit`; none
/// panics, traps or hangs.
#[test]
fn every_function_under_hostile_arguments() {
    let dir = temp_dir("hostile");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, params) in FUNCTIONS {
        // `poll_oneoff` would sleep for clock timeouts read from random
        // memory; it gets its own test below.
        if *name == "poll_oneoff" {
            continue;
        }
        let wasi = WasiCtxBuilder::new()
            .args(&["a", "b"])
            .env("E", "v")
            .stdin(MemoryInputPipe::new("stdin"))
            .stdout(MemoryOutputPipe::new(1 << 20))
            .preopened_dir(dir.join("sandbox"), "/s", DirPerms::all(), FilePerms::all())
            .unwrap()
            .build();
        let mut guest = Guest::new(wasi);
        for _ in 0..300 {
            let args: Vec<keel::Val> = params
                .chars()
                .map(|c| {
                    let r = next();
                    let v: i64 = match r % 8 {
                        0 => 0,
                        1 => -1,
                        2 => 65536 - (r >> 8) as i64 % 16,
                        3 => 65536 + (r >> 8) as i64 % 16,
                        4 => (r >> 8) as i64 % 8,
                        5 => i64::from(u32::MAX - 7),
                        6 => (r >> 8) as i64 % 65536,
                        _ => r as i64,
                    };
                    if c == 'I' {
                        keel::Val::I64(v)
                    } else {
                        keel::Val::I32(v as i32)
                    }
                })
                .collect();
            match guest.call(name, &args) {
                Ok(_) => {}
                Err(e) if *name == "proc_exit" && e.downcast_ref::<I32Exit>().is_some() => {}
                Err(e) => panic!("{name}{args:?} ended with {e:#}"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn poll_oneoff_hostile_and_clock() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    use keel::Val::I32;
    // Out of range arrays, zero subscriptions, a huge count (past
    // `MAX_POLL_SUBSCRIPTIONS`: refused before anything is read or
    // allocated).
    assert_eq!(
        guest
            .call("poll_oneoff", &[I32(65530), I32(0), I32(1), I32(8)])
            .unwrap(),
        Errno::Fault
    );
    assert_eq!(
        guest
            .call("poll_oneoff", &[I32(0), I32(4096), I32(0), I32(8)])
            .unwrap(),
        Errno::Inval
    );
    assert_eq!(
        guest
            .call("poll_oneoff", &[I32(0), I32(4096), I32(-1), I32(8)])
            .unwrap(),
        Errno::Inval
    );
    let past = keel_wasi::MAX_POLL_SUBSCRIPTIONS as i32 + 1;
    assert_eq!(
        guest
            .call("poll_oneoff", &[I32(0), I32(4096), I32(past), I32(8)])
            .unwrap(),
        Errno::Inval
    );
    // An unknown event type in the subscription: EINVAL.
    let mut sub = [0u8; 48];
    sub[8] = 9;
    guest.write(0, &sub);
    assert_eq!(
        guest
            .call("poll_oneoff", &[I32(0), I32(4096), I32(1), I32(8)])
            .unwrap(),
        Errno::Inval
    );
    // A relative monotonic clock of 5 ms, userdata 0x1234.
    let mut sub = [0u8; 48];
    sub[0..8].copy_from_slice(&0x1234u64.to_le_bytes());
    sub[8] = 0;
    sub[16..20].copy_from_slice(&1u32.to_le_bytes());
    sub[24..32].copy_from_slice(&5_000_000u64.to_le_bytes());
    guest.write(0, &sub);
    let start = std::time::Instant::now();
    assert_eq!(
        guest
            .call("poll_oneoff", &[I32(0), I32(4096), I32(1), I32(8)])
            .unwrap(),
        Errno::Success
    );
    assert!(start.elapsed() >= std::time::Duration::from_millis(5));
    assert_eq!(guest.u32_at(8), 1);
    let event = guest.read(4096, 32);
    assert_eq!(&event[0..8], &0x1234u64.to_le_bytes());
    assert_eq!((event[8], event[10]), (0, 0), "no error, clock event");
}

/// Guests on several threads at once, each with its own store and pipes
/// (the code registry, type registry and WASI state under concurrency).
#[test]
fn guests_on_several_threads() {
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/cat.wasm");
    let engine = Engine::default();
    let module = Module::from_file(&engine, &program).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || {
                for i in 0..10 {
                    let input = format!("thread {t} round {i}\n").repeat(100 + i);
                    let stdout = MemoryOutputPipe::new(1 << 20);
                    let wasi = WasiCtxBuilder::new()
                        .arg("cat")
                        .stdin(MemoryInputPipe::new(input.clone()))
                        .stdout(stdout.clone())
                        .build();
                    let mut linker = Linker::new(&engine);
                    keel_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
                    let mut store = Store::new(&engine, wasi);
                    let instance = linker.instantiate(&mut store, &module).unwrap();
                    let start = instance
                        .get_typed_func::<(), ()>(&mut store, "_start")
                        .unwrap();
                    match start.call(&mut store, ()) {
                        Ok(()) => {}
                        Err(e) => {
                            assert_eq!(e.downcast_ref::<I32Exit>(), Some(&I32Exit(0)), "{e:#}")
                        }
                    }
                    assert_eq!(stdout.contents(), input.as_bytes());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

/// A module without a `memory` export gets a clear error, not a crash.
#[test]
fn no_memory_export_is_an_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
           (func (export "f") (result i32) call $y))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    let err = f.call(&mut store, ()).unwrap_err();
    assert!(
        format!("{err:#}").contains("exports no memory named `memory`"),
        "{err:#}"
    );
}

/// Run `tests/programs/NAME.wasm` with `sandbox` preopened as `/sandbox`
/// (every permission); its exit status and stdout.
fn run_program(name: &str, sandbox: &Path) -> (i32, String) {
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/programs/{name}.wasm"));
    let engine = Engine::default();
    let module = Module::from_file(&engine, &program).unwrap();
    let stdout = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new()
        .arg(format!("{name}.wasm"))
        .stdout(stdout.clone())
        .preopened_dir(sandbox, "/sandbox", DirPerms::all(), FilePerms::all())
        .unwrap()
        .build();
    let mut linker = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => panic!("{name}: {e:#}"),
        },
    };
    (
        status,
        String::from_utf8_lossy(&stdout.contents()).into_owned(),
    )
}

/// The checks of WebAssembly/wasi-testsuite's `truncation_rights`,
/// `fd_fdstat_set_rights`, `path_link` and `pwrite-with-append`, as the
/// `testsuite` program makes them: rights are dropped and stay dropped,
/// `path_link` does not follow symbolic links (EINVAL, as Wasmtime),
/// O_TRUNC|O_APPEND opens and `pwrite` there appends (Linux, as Wasmtime).
#[test]
fn wasi_testsuite_checks() {
    let dir = temp_dir("testsuite");
    let sandbox = dir.join("sandbox");
    let (status, stdout) = run_program("testsuite", &sandbox);
    let expected = "\
directory has fd_filestat_set_size: no
directory has path_filestat_set_size: yes
path_open(TRUNC): errno 0 (ESUCCESS)
directory passes on fd_filestat_set_size: yes
drop inheriting fd_filestat_set_size: errno 0 (ESUCCESS)
path_open(TRUNC) without inheriting fd_filestat_set_size: errno 0 (ESUCCESS)
file has fd_filestat_set_size: no
fd_filestat_set_size without the right: errno 76 (ENOTCAPABLE)
drop path_filestat_set_size: errno 0 (ESUCCESS)
directory has path_filestat_set_size: no
path_open(TRUNC) without path_filestat_set_size: errno 76 (ENOTCAPABLE)
path_open without TRUNC: errno 0 (ESUCCESS)
add path_filestat_set_size back: errno 76 (ENOTCAPABLE)
truncation rights: ok
fd_fdstat_set_rights(file, same rights): errno 0 (ESUCCESS)
drop fd_read and fd_write: errno 0 (ESUCCESS)
read without fd_read: errno 8 (EBADF)
write without fd_write: errno 8 (EBADF)
add fd_read and fd_write back: errno 76 (ENOTCAPABLE)
file rights: ok
path_link(SYMLINK_FOLLOW, dangling symlink): errno 28 (EINVAL)
path_link(SYMLINK_FOLLOW, symlink to a file): errno 28 (EINVAL)
path_link(SYMLINK_FOLLOW, regular file): errno 28 (EINVAL)
linkat(AT_SYMLINK_FOLLOW): errno 28 (EINVAL)
link1 exists: no
link2 exists: no
link3 exists: no
link4 exists: no
path_link(0, dangling symlink): errno 0 (ESUCCESS)
path_link(0, regular file): errno 0 (ESUCCESS)
path_link: ok
open O_CREAT|O_TRUNC|O_WRONLY|O_APPEND: ok
position after appending write: 4
fd_pwrite(\"XYZ\", offset 0): errno 0 (ESUCCESS), wrote 3
position after pwrite: 4
size after pwrite: 7
contents: \"abcdXYZ\"
pwrite with O_APPEND: ok
ok
";
    assert_eq!((status, stdout.as_str()), (0, expected));
    // On the host: the pwrite went to the end, only the links asked for
    // without following were made, and the scratch files are gone.
    assert_eq!(
        std::fs::read(sandbox.join("append.txt")).unwrap(),
        b"abcdXYZ"
    );
    let link_d = sandbox.join("link.d");
    let mut names: Vec<_> = std::fs::read_dir(&link_d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["dangling", "file", "hard_dangling", "hard_file", "to_file"]
    );
    assert_eq!(
        std::fs::read_link(link_d.join("hard_dangling")).unwrap(),
        Path::new("target")
    );
    assert!(!sandbox.join("trunc.d").exists() && !sandbox.join("rights.txt").exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// `fd_fdstat_set_rights` through the raw calls: rights can be dropped
/// from a preopen but not added (ENOTCAPABLE, nothing changed); what a
/// directory no longer passes on is missing from every descriptor opened
/// through it, directories included; a dropped directory right refuses
/// its operation with ENOTCAPABLE.
#[test]
fn dropped_rights_stay_dropped() {
    use keel::Val::{I32, I64};
    const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    const PATH_OPEN: u64 = 1 << 13;
    const FD_SEEK: u64 = 1 << 2;
    const FD_TELL: u64 = 1 << 5;
    let dir = temp_dir("rights");
    let sandbox = dir.join("sandbox");
    std::fs::create_dir(sandbox.join("sub")).unwrap();
    std::fs::write(sandbox.join("sub/f"), "data").unwrap();
    let wasi = WasiCtxBuilder::new()
        .preopened_dir(&sandbox, "/s", DirPerms::all(), FilePerms::all())
        .unwrap()
        .build();
    let mut guest = Guest::new(wasi);
    // fdstat at 0: (base, inheriting) of `fd`.
    let rights = |guest: &mut Guest, fd: i32| -> (u64, u64) {
        assert_eq!(
            guest.call("fd_fdstat_get", &[I32(fd), I32(0)]).unwrap(),
            Errno::Success
        );
        let stat = guest.read(0, 24);
        (
            u64::from_le_bytes(stat[8..16].try_into().unwrap()),
            u64::from_le_bytes(stat[16..24].try_into().unwrap()),
        )
    };
    let set = |guest: &mut Guest, fd: i32, base: u64, inheriting: u64| {
        guest
            .call(
                "fd_fdstat_set_rights",
                &[I32(fd), I64(base as i64), I64(inheriting as i64)],
            )
            .unwrap()
    };
    let (base, inheriting) = rights(&mut guest, 3);
    assert_ne!(base & PATH_CREATE_DIRECTORY, 0);
    assert_ne!(inheriting & FD_SEEK, 0);
    // Nothing can be added, not even an undefined bit.
    assert_eq!(
        set(&mut guest, 3, base | 1 << 40, inheriting),
        Errno::Notcapable
    );
    assert_eq!(
        set(&mut guest, 3, base, inheriting | 1 << 40),
        Errno::Notcapable
    );
    assert_eq!(set(&mut guest, 3, base, inheriting), Errno::Success);
    // Drop path_create_directory from the preopen, and fd_seek from what
    // it passes on.
    let (base, inheriting) = (base & !PATH_CREATE_DIRECTORY, inheriting & !FD_SEEK);
    assert_eq!(set(&mut guest, 3, base, inheriting), Errno::Success);
    assert_eq!(rights(&mut guest, 3), (base, inheriting));
    assert_eq!(
        set(&mut guest, 3, base | PATH_CREATE_DIRECTORY, inheriting),
        Errno::Notcapable
    );
    guest.write(1024, b"newdir");
    assert_eq!(
        guest
            .call("path_create_directory", &[I32(3), I32(1024), I32(6)])
            .unwrap(),
        Errno::Notcapable
    );
    assert!(!sandbox.join("newdir").exists());
    // A directory opened through it lacks fd_seek in both sets, and so do
    // the files opened through that.
    let sub = guest.open(3, "sub", O_DIRECTORY, 0).unwrap() as i32;
    let (sub_base, sub_inheriting) = rights(&mut guest, sub);
    assert_eq!((sub_base & FD_SEEK, sub_inheriting & FD_SEEK), (0, 0));
    assert_ne!(sub_base & PATH_OPEN, 0);
    let f = guest.open(sub, "f", 0, RIGHTS_READ).unwrap() as i32;
    let (f_base, _) = rights(&mut guest, f);
    assert_eq!((f_base & FD_SEEK, f_base & FD_TELL), (0, FD_TELL));
    assert_eq!(guest.fd_read(f, 2).unwrap(), b"da");
    // fd_seek needs fd_seek; asking for the position only needs fd_tell.
    let seek = |guest: &mut Guest, offset: i64, whence: i32| {
        guest
            .call("fd_seek", &[I32(f), I64(offset), I32(whence), I32(64)])
            .unwrap()
    };
    assert_eq!(seek(&mut guest, 0, 0), Errno::Notcapable);
    assert_eq!(seek(&mut guest, 0, 1), Errno::Success);
    assert_eq!(guest.read(64, 8), 2u64.to_le_bytes());
    // Dropping fd_read makes the descriptor unreadable, as one opened
    // write-only: EBADF.
    assert_eq!(
        set(&mut guest, f, f_base & !(RIGHTS_READ as u64), 0),
        Errno::Success
    );
    assert_eq!(guest.fd_read(f, 2), Err(Errno::Badf));
    // A file passes nothing on.
    assert_eq!(set(&mut guest, f, 0, FD_TELL), Errno::Notcapable);
    assert_eq!(set(&mut guest, f, 0, 0), Errno::Success);
    assert_eq!(rights(&mut guest, f), (0, 0));
    let _ = std::fs::remove_dir_all(dir);
}

/// A path past `MAX_PATH_LEN` is `ENAMETOOLONG` (one at it reaches the
/// directory); a path length past memory is `EFAULT`.
#[test]
fn paths_past_the_maximum_are_refused() {
    use keel::Val::I32;
    let dir = temp_dir("long_paths");
    let wasi = WasiCtxBuilder::new()
        .preopened_dir(&dir, "/d", DirPerms::all(), FilePerms::all())
        .unwrap()
        .build();
    let mut guest = Guest::new(wasi);
    let max = keel_wasi::MAX_PATH_LEN as usize;
    guest.write(0, &vec![b'a'; max + 1]);
    let long = guest
        .call(
            "path_create_directory",
            &[I32(3), I32(0), I32(max as i32 + 1)],
        )
        .unwrap();
    assert_eq!(long, Errno::Nametoolong);
    // At the maximum the path reaches the host, which finds its
    // component too long.
    let at = guest
        .call("path_create_directory", &[I32(3), I32(0), I32(max as i32)])
        .unwrap();
    assert_ne!(at, Errno::Fault);
    let huge = guest
        .call("path_create_directory", &[I32(3), I32(0), I32(-1)])
        .unwrap();
    assert_eq!(huge, Errno::Fault);
    let _ = std::fs::remove_dir_all(dir);
}

/// A limiter that records the host memory asked of it and allows up to
/// `allow` bytes, or fails when `fail`.
struct HostMemoryLimiter {
    asked: Vec<usize>,
    allow: usize,
    fail: bool,
}

impl keel::ResourceLimiter for HostMemoryLimiter {
    fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> keel::Result<bool> {
        Ok(true)
    }
    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> keel::Result<bool> {
        Ok(true)
    }
    fn host_memory_allocating(&mut self, bytes: usize) -> keel::Result<bool> {
        self.asked.push(bytes);
        keel::ensure!(!self.fail, "no host memory for you");
        Ok(bytes <= self.allow)
    }
}

/// `poll_oneoff` asks the store's limiter before it copies a large
/// request (more than 64 KiB of host memory), and a refusal is `ENOMEM`
/// with nothing written; small requests are not asked about.
#[test]
fn poll_oneoff_host_memory_is_asked_of_the_limiter() {
    struct State {
        wasi: WasiCtx,
        limits: HostMemoryLimiter,
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "wasi_snapshot_preview1" "poll_oneoff"
              (func $poll (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 4)
            ;; n clock subscriptions of 0 ns at 0, events at 131072.
            (func (export "poll") (param $n i32) (result i32) (local $i i32)
              (loop $fill
                (i32.store8 (i32.add (i32.mul (local.get $i) (i32.const 48)) (i32.const 8))
                  (i32.const 0))
                (i32.store (i32.add (i32.mul (local.get $i) (i32.const 48)) (i32.const 16))
                  (i32.const 1))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $fill (i32.lt_u (local.get $i) (local.get $n))))
              (i32.store (i32.const 262140) (i32.const -1))
              (call $poll (i32.const 0) (i32.const 131072) (local.get $n) (i32.const 262140)))
            (func (export "nevents") (result i32) (i32.load (i32.const 262140))))"#,
    )
    .unwrap();
    let mut linker: Linker<State> = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let run = |allow: usize, fail: bool, n: i32| {
        let limits = HostMemoryLimiter {
            asked: Vec::new(),
            allow,
            fail,
        };
        let wasi = WasiCtxBuilder::new().build();
        let mut store = Store::new(&engine, State { wasi, limits });
        store.limiter(|s| &mut s.limits);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let poll = instance.get_typed_func::<i32, i32>(&mut store, "poll");
        let result = poll.unwrap().call(&mut store, n);
        let nevents = instance
            .get_typed_func::<(), i32>(&mut store, "nevents")
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        (result, nevents, store.into_data().limits.asked)
    };
    // 100 subscriptions: a few kilobytes, not asked.
    let (result, nevents, asked) = run(0, false, 100);
    assert_eq!((result.unwrap(), nevents, asked.len()), (0, 100, 0));
    // 2,000: asked once, allowed, all fire.
    let (result, nevents, asked) = run(usize::MAX, false, 2000);
    assert_eq!((result.unwrap(), nevents), (0, 2000));
    assert_eq!(asked.len(), 1);
    assert!(asked[0] >= 2000 * 80, "{asked:?}");
    // Refused: ENOMEM, no events written.
    let (result, nevents, asked) = run(64 * 1024, false, 2000);
    assert_eq!((result.unwrap(), nevents), (Errno::Nomem as i32, -1));
    assert_eq!(asked.len(), 1);
    // The limiter's error ends the call.
    let (result, nevents, _) = run(usize::MAX, true, 2000);
    let err = result.unwrap_err();
    assert!(
        format!("{err:#}").contains("no host memory for you"),
        "{err:#}"
    );
    assert_eq!(nevents, -1);
    // StoreLimits: `host_memory` bounds it.
    let limits = keel::StoreLimitsBuilder::new()
        .host_memory(64 * 1024)
        .build();
    let mut limits = limits;
    use keel::ResourceLimiter as _;
    assert!(limits.host_memory_allocating(64 * 1024).unwrap());
    assert!(!limits.host_memory_allocating(64 * 1024 + 1).unwrap());
}
