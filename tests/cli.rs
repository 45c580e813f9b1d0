//! End-to-end tests of the `keel` binary: `keel run` and `keel wast`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `keel` binary built for this test with `args`.
fn keel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running keel")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `text` to a file named `name` in a directory private to this test
/// process and returns its path.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keel-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing temp file");
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp path is UTF-8")
}

const MATH: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "neg64") (param i64) (result i64) i64.const 0 local.get 0 i64.sub)
  (func (export "half") (param f64) (result f64) local.get 0 f64.const 0.5 f64.mul)
  (func (export "pair") (result i32 f32) i32.const 7 f32.const 1.5)
  (func (export "boom") unreachable)
  (global (export "g") i32 (i32.const 1)))"#;

#[test]
fn run_fib_example() {
    let out = keel(&["run", "examples/fib.wat", "--invoke", "fib", "25"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "75025\n");
}

#[test]
fn run_parses_args_by_type_and_prints_results() {
    let file = temp_file("math.wat", MATH);
    let file = path_str(&file);

    let out = keel(&["run", file, "--invoke", "add", "-3", "0x10"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "13\n");

    let out = keel(&["run", file, "--invoke", "neg64", "-9000000000"]);
    assert_eq!(stdout(&out), "9000000000\n", "{}", stderr(&out));

    let out = keel(&["run", file, "--invoke", "half", "3"]);
    assert_eq!(stdout(&out), "1.5\n", "{}", stderr(&out));

    let out = keel(&["run", file, "--invoke", "pair"]);
    assert_eq!(stdout(&out), "7\n1.5\n", "{}", stderr(&out));
}

#[test]
fn run_reports_errors_with_exit_code_1() {
    let file = temp_file("errors.wat", MATH);
    let file = path_str(&file);

    let out = keel(&["run", file]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("`_start`") && err.contains("add, neg64, half, pair, boom"),
        "{err}"
    );

    let out = keel(&["run", file, "--invoke", "add", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("expected 2 argument(s)"),
        "{}",
        stderr(&out)
    );

    let out = keel(&["run", file, "--invoke", "add", "1", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("argument 2"), "{}", stderr(&out));

    let out = keel(&["run", file, "--invoke", "boom"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unreachable"), "{}", stderr(&out));

    let imports = temp_file("imports.wat", r#"(module (import "env" "f" (func)))"#);
    let out = keel(&["run", path_str(&imports)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("env::f"), "{}", stderr(&out));
}

#[test]
fn wast_prints_counts_and_totals() {
    let good = temp_file(
        "good.wast",
        r#"(module (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 1))"#,
    );
    let bad = temp_file(
        "bad.wast",
        r#"(module (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 2))
(assert_return (invoke "one") (i32.const 1))"#,
    );

    let out = keel(&["wast", path_str(&good)]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out).lines().last(), Some("2 passed, 0 failed"));

    let out = keel(&["wast", path_str(&good), path_str(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&format!("{}: 2 passed, 1 failed", path_str(&bad)).as_str()),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("    ") && l.contains("bad.wast:2:")),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"4 passed, 1 failed"));
}

#[test]
fn run_prints_traps_with_their_backtrace() {
    let file = temp_file(
        "traps.wat",
        r#"(module $demo (memory 1)
            (func $store (param i32) local.get 0 i32.const 42 i32.store)
            (func (export "oob") i32.const 70000 call $store)
            (func $recurse (export "rec") call $recurse)
            (func $stop (export "stop") unreachable))"#,
    );
    for (export, message, frames) in [
        (
            "oob",
            "wasm trap: out of bounds memory access",
            &["demo!store", "demo!<wasm function 1>"][..],
        ),
        (
            "rec",
            "wasm trap: call stack exhausted",
            &["demo!recurse", "repeats"][..],
        ),
        ("stop", "wasm trap: unreachable", &["demo!stop"][..]),
    ] {
        let output = keel(&["run", path_str(&file), "--invoke", export]);
        // Exit code 1, not death by a signal.
        assert_eq!(output.status.code(), Some(1), "{export}: {output:?}");
        let err = stderr(&output);
        assert!(
            err.starts_with("error: ") && err.contains(message),
            "{export}: {err}"
        );
        assert!(err.contains("wasm backtrace:"), "{export}: {err}");
        for frame in frames {
            assert!(err.contains(frame), "{export}: missing {frame} in {err}");
        }
    }
}

const SPIN_WAT: &str = r#"(module
  (func $spin (loop $l (br $l)))
  (func (export "_start") (call $spin)))"#;

#[test]
fn run_stops_an_endless_loop_with_fuel() {
    let file = temp_file("spin_fuel.wat", SPIN_WAT);
    let start = std::time::Instant::now();
    let out = keel(&["run", "-W", "fuel=1000", path_str(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("all fuel consumed by WebAssembly"), "{err}");
    assert!(
        err.contains("wasm backtrace:") && err.contains("spin"),
        "{err}"
    );
    // Not a speed target: a bound that catches a guest left running.
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn run_stops_an_endless_loop_with_a_timeout() {
    let file = temp_file("spin_timeout.wat", SPIN_WAT);
    let start = std::time::Instant::now();
    let out = keel(&["run", "-W", "timeout=200ms", path_str(&file)]);
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("wasm trap: interrupt"), "{err}");
    assert!(err.contains("spin"), "{err}");
    assert!(elapsed >= std::time::Duration::from_millis(200));
    // Not a speed target: a bound that catches a guest left running.
    assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn run_applies_memory_limits() {
    let file = temp_file(
        "grow4.wat",
        r#"(module (memory 1)
             (func (export "_start") (result i32) (memory.grow (i32.const 4))))"#,
    );
    let out = keel(&["run", "-W", "max-memory-size=131072", path_str(&file)]);
    assert_eq!(stdout(&out), "-1\n");
    let out = keel(&["run", "-W", "max-memory-size=327680", path_str(&file)]);
    assert_eq!(stdout(&out), "1\n");
    let out = keel(&[
        "run",
        "-W",
        "max-memory-size=131072,trap-on-grow-failure",
        path_str(&file),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("forcing trap when growing memory to 327680 bytes"),
        "{}",
        stderr(&out)
    );
    let out = keel(&["run", "-W", "max-memories=0", path_str(&file)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("memory count too high"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_rejects_unknown_or_malformed_w_options_as_usage_errors() {
    let file = temp_file("spin_usage.wat", SPIN_WAT);
    for (arg, expect) in [
        ("fuels=1", "unknown `-W` option `fuels`"),
        ("fuel=lots", "`-W fuel`"),
        ("timeout=3h", "`-W timeout`"),
        ("max-memory-size", "needs a value"),
        ("trap-on-grow-failure=maybe", "`-W trap-on-grow-failure`"),
    ] {
        let out = keel(&["run", "-W", arg, path_str(&file)]);
        assert_eq!(out.status.code(), Some(2), "{arg}");
        assert!(stderr(&out).contains(expect), "{arg}: {}", stderr(&out));
    }
}

#[test]
fn run_limits_the_wasm_stack() {
    let file = temp_file(
        "recurse.wat",
        r#"(module (func $r (export "_start") (call $r)))"#,
    );
    let out = keel(&["run", "-W", "max-wasm-stack=65536", path_str(&file)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("call stack exhausted"),
        "{}",
        stderr(&out)
    );
}

/// `keel run --profile=perfmap` writes `/tmp/perf-PID.map` naming every
/// function of the module from its name section.
#[test]
fn run_profile_perfmap_names_every_function() {
    let module = temp_file(
        "perfmap.wat",
        r#"(module $prog
            (func $helper (result i32) i32.const 20)
            (func (result i32) i32.const 1)
            (func $main (export "main") (result i32) call $helper call 1 i32.add))"#,
    );
    let child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args([
            "run",
            "--profile=perfmap",
            "--invoke",
            "main",
            path_str(&module),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running keel");
    let map = PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "21");
    let text = std::fs::read_to_string(&map).expect("the perf map");
    std::fs::remove_file(&map).unwrap();
    for name in ["prog::helper", "prog::function[1]", "prog::main"] {
        let line = text
            .lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("{name} missing from the perf map:\n{text}"));
        let mut fields = line.split(' ');
        let start = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
        let size = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
        assert!(start > 0 && size > 0, "{line}");
    }
}

/// `KEEL_LOG=debug` prints the compilation and instantiation spans with
/// their durations on stderr; without it, nothing.
#[test]
fn keel_log_prints_spans() {
    let module = temp_file(
        "log.wat",
        r#"(module (func (export "f") (result i32) i32.const 5))"#,
    );
    let run = |log: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
        cmd.args(["run", "--invoke", "f", path_str(&module)])
            .env_remove("KEEL_LOG")
            .env_remove("RUST_LOG");
        if let Some(filter) = log {
            cmd.env("KEEL_LOG", filter);
        }
        cmd.output().unwrap()
    };
    let logged = run(Some("debug"));
    assert!(logged.status.success());
    assert_eq!(stdout(&logged).trim(), "5");
    let err = stderr(&logged);
    for span in [
        "Module::new",
        "translate",
        "compile module",
        "link",
        "instantiate",
    ] {
        assert!(err.contains(span), "no `{span}` span in:\n{err}");
    }
    assert!(err.contains("time.busy"), "{err}");
    let quiet = run(None);
    assert!(quiet.status.success());
    assert_eq!(stderr(&quiet), "");
}

/// The trap corpus (`tests/traps/*.wat`, also run on riscv64 by
/// `scripts/riscv64-cli.sh`): every trap code `keel run` can meet, each
/// raised three functions deep. The run fails with `wasm trap: <the
/// message its `;; expect:` line gives>` and a backtrace naming the
/// functions innermost first; the same module compiled to an artifact
/// first prints the same thing.
#[test]
fn trap_corpus_names_each_trap_and_its_functions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traps");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/traps")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "{} corpus files", files.len());
    for file in &files {
        let text = std::fs::read_to_string(file).expect("reading a corpus file");
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!(";; {key}: ")))
                .map(str::to_string)
        };
        let expect =
            header("expect").unwrap_or_else(|| panic!("{}: no expect line", file.display()));
        let flags = header("flags").unwrap_or_default();
        let flags: Vec<&str> = flags.split_whitespace().collect();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();

        let mut args = vec!["run"];
        args.extend(&flags);
        args.extend([path_str(file), "--invoke", "main"]);
        let jit = keel(&args);
        let message = stderr(&jit);
        assert_eq!(jit.status.code(), Some(1), "{name}: {message}");
        assert!(
            message.contains(&format!("error: calling `main`: wasm trap: {expect}\n")),
            "{name}: {message}"
        );
        let frames: Vec<&str> = message
            .lines()
            .filter_map(|l| l.split(" - ").nth(1))
            .collect();
        assert_eq!(frames.first(), Some(&"traps!inner"), "{name}: {message}");
        if name != "stack_overflow.wat" {
            assert_eq!(
                frames,
                ["traps!inner", "traps!middle", "traps!main"],
                "{name}: {message}"
            );
        }

        let artifact = temp_file(&name.replace(".wat", ".cwasm"), "");
        // `compile` takes the same code-changing `-W` settings as `run`.
        let mut compile = vec!["compile"];
        compile.extend(&flags);
        compile.extend([path_str(file), "-o", path_str(&artifact)]);
        let compiled = keel(&compile);
        assert!(compiled.status.success(), "{name}: {}", stderr(&compiled));
        let mut args = vec!["run", "--allow-precompiled"];
        args.extend(&flags);
        args.extend([path_str(&artifact), "--invoke", "main"]);
        let loaded = keel(&args);
        assert_eq!(stderr(&loaded), message, "{name} from an artifact");
        assert_eq!(loaded.status.code(), Some(1), "{name} from an artifact");
    }
}
