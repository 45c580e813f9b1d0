//! The WASI test programs (`crates/wasi/tests/programs`, C compiled with
//! wasi-libc) run through the `keel run` binary, as a user runs them:
//! stdout, exit status and the files they leave are checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn programs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/wasi/tests/programs")
}

/// A fresh directory `.../NAME/` holding an empty `sandbox/`; returns both.
fn fresh_dirs(name: &str) -> (PathBuf, PathBuf) {
    let parent = std::env::temp_dir().join(format!("keel-wasi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&parent);
    let sandbox = parent.join("sandbox");
    std::fs::create_dir_all(&sandbox).expect("creating the sandbox");
    (parent, sandbox)
}

/// `keel run [--env E]... --dir SANDBOX::/sandbox PROGRAM.wasm ARGS...` with
/// `stdin` (as bytes through a pipe), in the programs directory so that
/// `argv[0]` is `PROGRAM.wasm`.
fn run(program: &str, args: &[&str], env: &[&str], stdin: &[u8], sandbox: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.arg("run");
    for e in env {
        cmd.args(["--env", e]);
    }
    cmd.arg("--dir")
        .arg(format!("{}::/sandbox", sandbox.display()))
        .arg(format!("{program}.wasm"))
        .args(args)
        .current_dir(programs())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning keel");
    let mut child_stdin = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        // The guest may exit without reading it all.
        let _ = child_stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("waiting for keel");
    writer.join().expect("stdin writer");
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run `program` and check its exit status and that its stdout is
/// `expected` exactly.
fn expect(program: &str, args: &[&str], env: &[&str], status: i32, expected: &str) {
    let (parent, sandbox) = fresh_dirs(program);
    let out = run(program, args, env, b"", &sandbox);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(status), expected),
        "{program} {args:?}: stderr:\n{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(parent);
}

/// Run a self-checking program: exit status 0, last line `ok`, no `FAIL`.
fn self_check(program: &str, args: &[&str], stdin: &[u8], sandbox: &Path) -> String {
    let out = run(program, args, &[], stdin, sandbox);
    let stdout = text(&out.stdout);
    assert!(
        out.status.code() == Some(0) && stdout.ends_with("ok\n") && !stdout.contains("FAIL"),
        "{program}: status {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        text(&out.stderr)
    );
    stdout
}

#[test]
fn hello() {
    expect("hello", &[], &[], 0, "hello, world\n");
}

#[test]
fn args_are_argv_after_the_program() {
    expect(
        "args",
        &["a", "b c", "", "--dir", "-x"],
        &[],
        0,
        "argc: 6\nargv[0]: args.wasm\nargv[1]: a\nargv[2]: b c\nargv[3]: \nargv[4]: --dir\nargv[5]: -x\n",
    );
}

#[test]
fn env_is_what_env_options_give() {
    expect("env", &[], &[], 0, "count: 0\nKEEL_TEST is not set\n");
    expect(
        "env",
        &[],
        &["KEEL_TEST=hello", "A=1", "EMPTY="],
        0,
        "count: 3\nenv: A=1\nenv: EMPTY=\nenv: KEEL_TEST=hello\nKEEL_TEST is set: hello\n",
    );
}

#[test]
fn exit_status_is_the_proc_exit_code() {
    for code in [0, 3, 42, 125, 255] {
        let arg = code.to_string();
        expect(
            "exit_code",
            &[&arg],
            &[],
            code,
            &format!("exiting with {code}\n"),
        );
    }
    expect("proc_exit", &[], &[], 7, "before\n");
}

#[test]
fn cat_copies_stdin_to_stdout() {
    let (parent, sandbox) = fresh_dirs("cat");
    // Binary data, larger than a pipe's buffer and not a multiple of the
    // program's 4 KiB chunks.
    let input: Vec<u8> = (0..300_001u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let out = run("cat", &[], &[], &input, &sandbox);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout == input, "cat changed its input");
    let out = run("cat", &[], &[], b"", &sandbox);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    let _ = std::fs::remove_dir_all(parent);
}

#[test]
fn files() {
    let (parent, sandbox) = fresh_dirs("files");
    let stdout = self_check("files", &[], b"", &sandbox);
    assert!(
        stdout.contains(
            "entry: dir1 (dir)\nentry: f1 (file)\nentry: hl (file)\nentry: sl (symlink)\n"
        ),
        "{stdout}"
    );
    // The program's files are on the host, under the preopen only.
    assert!(sandbox.join("files.d").is_dir());
    let _ = std::fs::remove_dir_all(parent);
}

#[test]
fn clocks_random_poll_and_descriptors() {
    for program in ["clocks", "random", "poll", "fd_misc"] {
        let (parent, sandbox) = fresh_dirs(program);
        // `poll` waits for stdin to be readable: give it data.
        self_check(program, &[], b"input for poll\n", &sandbox);
        let _ = std::fs::remove_dir_all(parent);
    }
}

#[test]
fn bad_pointers_get_efault() {
    let (parent, sandbox) = fresh_dirs("bad_pointer");
    let stdout = self_check("bad_pointer", &[], b"", &sandbox);
    assert!(
        stdout.contains("fd_write(bad iovs): errno 21 (EFAULT)"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(parent);
}

/// Every escape attempt fails and nothing appears next to the sandbox.
#[test]
fn sandbox_escapes_fail() {
    let (parent, sandbox) = fresh_dirs("sandbox");
    std::fs::write(parent.join("outside.txt"), "secret").expect("writing the bait");
    let stdout = self_check("sandbox", &[], b"", &sandbox);
    for line in stdout
        .lines()
        .filter(|l| l.contains("..") || l.contains("link"))
    {
        if line.contains("errno") && !line.starts_with("path_symlink") && !line.contains("lstat") {
            assert!(
                line.contains("(EPERM)") || line.contains("(ENOTCAPABLE)"),
                "escape not refused with EPERM/ENOTCAPABLE: {line}"
            );
        }
    }
    let mut outside: Vec<String> = std::fs::read_dir(&parent)
        .expect("listing the parent")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    outside.sort();
    assert_eq!(
        outside,
        ["outside.txt", "sandbox"],
        "the guest wrote outside its preopen"
    );
    assert_eq!(
        std::fs::read_to_string(parent.join("outside.txt")).unwrap(),
        "secret"
    );
    let _ = std::fs::remove_dir_all(parent);
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// 100 MB through `fd_write` into the preopen, then read back: the file's
/// hash on the host equals the one the writer computed, and the reader
/// computes it too.
#[test]
fn hundred_megabytes_through_fd_write_and_fd_read() {
    let (parent, sandbox) = fresh_dirs("big");
    let wrote = self_check("big_write", &[], b"", &sandbox);
    let data = std::fs::read(sandbox.join("big.bin")).expect("reading big.bin");
    assert_eq!(data.len(), 100_000_000);
    let hash = format!("fnv1a64: {:016x}\n", fnv1a64(&data));
    assert!(wrote.contains(&hash), "writer: {wrote}, file: {hash}");
    let read = self_check("big_read", &[], b"", &sandbox);
    assert!(
        read.contains("bytes: 100000000\n") && read.contains(&hash),
        "{read}"
    );
    let _ = std::fs::remove_dir_all(parent);
}

/// A module importing WASI with `--invoke` still takes typed arguments, and
/// `--preload` makes another module's exports importable.
#[test]
fn invoke_and_preload() {
    let dir = std::env::temp_dir().join(format!("keel-wasi-{}-preload", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("lib.wat");
    std::fs::write(
        &lib,
        r#"(module (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))"#,
    )
    .unwrap();
    let main = dir.join("main.wat");
    std::fs::write(
        &main,
        r#"(module
          (import "lib" "double" (func $double (param i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "hi\n")
          (func (export "quad") (param i32) (result i32) local.get 0 call $double call $double)
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 3))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    )
    .unwrap();
    let keel = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(args)
            .output()
            .expect("running keel")
    };
    let preload = format!("lib={}", lib.display());
    let main = main.to_str().unwrap();
    let out = keel(&["run", "--preload", &preload, main]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "hi\n"),
        "{}",
        text(&out.stderr)
    );
    let out = keel(&["run", "--preload", &preload, "--invoke", "quad", main, "5"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "20\n"),
        "{}",
        text(&out.stderr)
    );
    // Without the preload, the import is reported by name.
    let out = keel(&["run", main]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("lib::double (func)"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A trap in a WASI program prints the message and backtrace and exits 1.
#[test]
fn trap_exits_one_with_a_backtrace() {
    let dir = std::env::temp_dir().join(format!("keel-wasi-{}-trap", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trap.wat");
    std::fs::write(
        &path,
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
          (memory (export "memory") 1)
          (func $crash unreachable)
          (func (export "_start") call $crash))"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["run", path.to_str().unwrap()])
        .output()
        .expect("running keel");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("unreachable")
            && stderr.contains("wasm backtrace:")
            && stderr.contains("crash"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
