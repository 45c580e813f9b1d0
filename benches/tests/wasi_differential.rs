//! Differential test of keel-wasi against Wasmtime 48's own preview 1
//! (`wasmtime-wasi`): every C test program of `crates/wasi/tests/programs`
//! runs under both with the same arguments, environment, stdin and a
//! preopened `/sandbox` (a fresh host directory each), and must give the
//! same stdout, the same exit status and the same files.
//!
//! Run with `cargo test --release --manifest-path benches/Cargo.toml --test
//! wasi_differential`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

fn programs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/wasi/tests/programs")
}

/// What a run produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    /// `Ok(exit status)`, or `Err(message)` for a trap.
    status: Result<i32, String>,
}

/// One run's inputs.
struct Case<'a> {
    program: &'a str,
    args: &'a [&'a str],
    env: &'a [(&'a str, &'a str)],
    stdin: &'a [u8],
}

fn argv(case: &Case<'_>) -> Vec<String> {
    let mut argv = vec![format!("{}.wasm", case.program)];
    argv.extend(case.args.iter().map(|a| a.to_string()));
    argv
}

fn run_keel(case: &Case<'_>, sandbox: &Path) -> Result<Outcome> {
    use keel_wasi::pipe::{MemoryInputPipe, MemoryOutputPipe};
    let engine = keel::Engine::default();
    let module =
        keel::Module::from_file(&engine, programs().join(format!("{}.wasm", case.program)))?;
    let stdout = MemoryOutputPipe::new(usize::MAX);
    let mut builder = keel_wasi::WasiCtxBuilder::new();
    builder
        .args(&argv(case))
        .stdin(MemoryInputPipe::new(case.stdin.to_vec()))
        .stdout(stdout.clone())
        .preopened_dir(
            sandbox,
            "/sandbox",
            keel_wasi::DirPerms::all(),
            keel_wasi::FilePerms::all(),
        )?;
    for (name, value) in case.env {
        builder.env(name, value);
    }
    let wasi = builder.build();
    let mut linker = keel::Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |wasi: &mut keel_wasi::WasiCtx| wasi)?;
    let mut store = keel::Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let status = match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<keel_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(format!("{e:#}")),
        },
    };
    Ok(Outcome {
        stdout: String::from_utf8_lossy(&stdout.contents()).into_owned(),
        status,
    })
}

fn run_wasmtime(case: &Case<'_>, sandbox: &Path) -> wasmtime::Result<Outcome> {
    use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
    let engine = wasmtime::Engine::default();
    let module =
        wasmtime::Module::from_file(&engine, programs().join(format!("{}.wasm", case.program)))?;
    let stdout = MemoryOutputPipe::new(usize::MAX);
    let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
    builder
        .args(&argv(case))
        .stdin(MemoryInputPipe::new(case.stdin.to_vec()))
        .stdout(stdout.clone())
        .preopened_dir(sandbox, "/sandbox", wasmtime_wasi::FsPerms::ReadWrite)?;
    for (name, value) in case.env {
        builder.env(name, value);
    }
    let wasi = builder.build_p1();
    let mut linker = wasmtime::Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(
        &mut linker,
        |wasi: &mut wasmtime_wasi::p1::WasiP1Ctx| wasi,
    )?;
    let mut store = wasmtime::Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let status = match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(format!("{e:#}")),
        },
    };
    Ok(Outcome {
        stdout: String::from_utf8_lossy(&stdout.contents()).into_owned(),
        status,
    })
}

/// The tree under `dir`: relative path → kind and contents (file bytes'
/// FNV-1a hash and length, link target), without times or inode numbers.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("listing") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let ty = entry.file_type().expect("file type");
            if ty.is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                out.insert(rel, format!("symlink -> {}", target.display()));
            } else if ty.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).expect("reading");
                let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
                });
                out.insert(rel, format!("file {} bytes {hash:016x}", bytes.len()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn sandboxes(name: &str) -> (PathBuf, PathBuf) {
    let base = std::env::temp_dir().join(format!("keel-wasi-diff-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (k, w) = (base.join("keel"), base.join("wasmtime"));
    std::fs::create_dir_all(&k).unwrap();
    std::fs::create_dir_all(&w).unwrap();
    (k, w)
}

/// Run `cases` in order, each runtime in its own sandbox kept across the
/// cases (so a writer's file is there for the reader), comparing each
/// outcome and the sandboxes after each case. Returns keel's outcomes.
fn compare(name: &str, cases: &[Case<'_>]) -> Vec<Outcome> {
    let (keel_dir, wasmtime_dir) = sandboxes(name);
    let mut outcomes = Vec::new();
    for case in cases {
        let keel = run_keel(case, &keel_dir).expect("running under keel");
        let wasmtime = run_wasmtime(case, &wasmtime_dir).expect("running under wasmtime");
        assert_eq!(
            keel, wasmtime,
            "{} {:?}: keel (left) and Wasmtime (right) differ",
            case.program, case.args
        );
        assert_eq!(
            tree(&keel_dir),
            tree(&wasmtime_dir),
            "{} {:?}: the sandboxes differ",
            case.program,
            case.args
        );
        outcomes.push(keel);
    }
    let _ = std::fs::remove_dir_all(keel_dir.parent().unwrap());
    outcomes
}

fn case<'a>(program: &'a str, args: &'a [&'a str]) -> Case<'a> {
    Case {
        program,
        args,
        env: &[],
        stdin: b"",
    }
}

fn assert_ok(outcomes: &[Outcome]) {
    for outcome in outcomes {
        assert_eq!(outcome.status, Ok(0), "{}", outcome.stdout);
    }
}

#[test]
fn hello_args_env() {
    let outcomes = compare(
        "basic",
        &[
            case("hello", &[]),
            case("args", &["a", "b c", "", "--x"]),
            Case {
                env: &[("KEEL_TEST", "hello"), ("A", "1"), ("EMPTY", "")],
                ..case("env", &[])
            },
            case("env", &[]),
        ],
    );
    assert_ok(&outcomes);
    assert_eq!(outcomes[0].stdout, "hello, world\n");
}

#[test]
fn exit_codes() {
    let outcomes = compare(
        "exit",
        &[
            case("exit_code", &["0"]),
            case("exit_code", &["3"]),
            case("exit_code", &["42"]),
            case("exit_code", &["125"]),
            case("proc_exit", &[]),
        ],
    );
    let statuses: Vec<_> = outcomes.iter().map(|o| o.status.clone()).collect();
    assert_eq!(statuses, [Ok(0), Ok(3), Ok(42), Ok(125), Ok(7)]);
}

#[test]
fn cat() {
    let input: Vec<u8> = (0..100_001u32).map(|i| (i * 31 + i / 7) as u8).collect();
    let outcomes = compare(
        "cat",
        &[
            Case {
                stdin: &input,
                ..case("cat", &[])
            },
            case("cat", &[]),
        ],
    );
    assert_ok(&outcomes);
}

#[test]
fn self_checking_programs() {
    for program in ["files", "clocks", "random", "poll", "fd_misc", "sandbox"] {
        let outcomes = compare(
            program,
            &[Case {
                stdin: b"input for poll\n",
                ..case(program, &[])
            }],
        );
        assert_ok(&outcomes);
        assert!(
            outcomes[0].stdout.ends_with("ok\n"),
            "{}",
            outcomes[0].stdout
        );
    }
}

#[test]
fn hundred_megabytes() {
    let outcomes = compare("big", &[case("big_write", &[]), case("big_read", &[])]);
    assert_ok(&outcomes);
    assert!(
        outcomes[1].stdout.contains("fnv1a64: ca78d2b466552ea2"),
        "{}",
        outcomes[1].stdout
    );
}

/// The one known difference: a guest pointer out of bounds is `EFAULT`
/// under keel-wasi (the witx `fault` errno) but a trap under Wasmtime.
#[test]
fn out_of_bounds_pointer_is_efault_not_a_trap() {
    let (keel_dir, wasmtime_dir) = sandboxes("bad_pointer");
    let case = case("bad_pointer", &[]);
    let keel = run_keel(&case, &keel_dir).unwrap();
    let wasmtime = run_wasmtime(&case, &wasmtime_dir).unwrap();
    assert_eq!(keel.status, Ok(0), "{}", keel.stdout);
    assert!(
        keel.stdout
            .contains("fd_write(bad iovs): errno 21 (EFAULT)"),
        "{}",
        keel.stdout
    );
    assert!(
        wasmtime.status.is_err(),
        "Wasmtime no longer traps: {wasmtime:?}"
    );
    let first_line = "calling fd_write with iovs = 0xFFFFFFF0\n";
    assert!(keel.stdout.starts_with(first_line) && wasmtime.stdout == first_line);
    let _ = std::fs::remove_dir_all(keel_dir.parent().unwrap());
}
