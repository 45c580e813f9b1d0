//! The `keel` binary's compilation cache: `keel run`, `keel compile` and
//! `keel wast` cache by default in `$XDG_CACHE_HOME/keel`; `-C cache=n`
//! and `-C cache-config=FILE`; processes racing on one module; a cache
//! directory that cannot be made.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A module that takes a moment to compile (2000 functions), so that
/// racing processes overlap, and prints nothing: `--invoke main` prints
/// its result.
fn module_text() -> String {
    let funcs: String = (0..2000)
        .map(|i| {
            format!(
                "(func $f{i} (param i32) (result i32) local.get 0 i32.const {i} i32.add \
                 i32.const 3 i32.mul)"
            )
        })
        .collect();
    format!(
        "(module {funcs} (func (export \"main\") (result i32) i32.const 1 call $f1999 call $f7))"
    )
}

/// The result `main` prints: f7(f1999(1)).
const MAIN: &str = "18021\n";

/// `keel ARGS` with `XDG_CACHE_HOME=cache_home` (and `HOME` beside it),
/// logging keel's info events.
fn keel(cache_home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.args(args)
        .env("XDG_CACHE_HOME", cache_home)
        .env("HOME", cache_home.join("home"))
        .env("KEEL_LOG", "keel=info")
        .env_remove("RUST_LOG");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("running keel");
    assert!(
        out.status.success(),
        "keel failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const COMPILED: &str = "compiled a module";
const LOADED: &str = "loaded a module from the compilation cache";

/// The entries under `dir` (recursively: `keel/modules/*.cwasm`).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(read) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in read.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(entries(&path));
        } else if path.extension().is_some_and(|e| e == "cwasm") {
            out.push(path);
        }
    }
    out
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("m.wat");
    std::fs::write(&wat, module_text()).unwrap();
    (dir, wat)
}

#[test]
fn a_second_run_loads_the_cached_module() {
    let (dir, wat) = setup();
    let home = dir.path().join("cache-home");
    let wat = wat.to_str().unwrap();
    let first = run(keel(&home, &["run", "--invoke", "main", wat]).arg("--"));
    assert_eq!(String::from_utf8_lossy(&first.stdout), MAIN);
    assert!(stderr(&first).contains(COMPILED), "{}", stderr(&first));
    let [entry] = &entries(&home)[..] else {
        panic!("one entry expected: {:?}", entries(&home));
    };
    assert!(
        entry.starts_with(home.join("keel").join("modules")),
        "{entry:?}"
    );
    let second = run(&mut keel(&home, &["run", "--invoke", "main", wat]));
    assert_eq!(String::from_utf8_lossy(&second.stdout), MAIN);
    assert!(stderr(&second).contains(LOADED), "{}", stderr(&second));
    assert!(!stderr(&second).contains(COMPILED), "{}", stderr(&second));

    // `-C cache=n` neither reads nor writes.
    let off = run(&mut keel(
        &home,
        &["run", "-C", "cache=n", "--invoke", "main", wat],
    ));
    assert!(stderr(&off).contains(COMPILED), "{}", stderr(&off));
    let other_home = dir.path().join("other");
    run(&mut keel(
        &other_home,
        &["run", "-C", "cache=n", "--invoke", "main", wat],
    ));
    assert!(!other_home.exists());

    // A setting that changes code is another entry.
    let fuel = run(&mut keel(
        &home,
        &["run", "-W", "fuel=1000000", "--invoke", "main", wat],
    ));
    assert!(stderr(&fuel).contains(COMPILED), "{}", stderr(&fuel));
    assert_eq!(entries(&home).len(), 2);
}

#[test]
fn compile_and_wast_use_the_cache() {
    let (dir, wat) = setup();
    let home = dir.path().join("cache-home");
    let out1 = dir.path().join("a.cwasm");
    let out2 = dir.path().join("b.cwasm");
    let wat_s = wat.to_str().unwrap();
    run(&mut keel(
        &home,
        &["compile", wat_s, "-o", out1.to_str().unwrap()],
    ));
    assert_eq!(entries(&home).len(), 1);
    let second = run(&mut keel(
        &home,
        &["compile", wat_s, "-o", out2.to_str().unwrap()],
    ));
    assert!(
        stderr(&second).contains("artifact from the compilation cache"),
        "{}",
        stderr(&second)
    );
    assert_eq!(std::fs::read(&out1).unwrap(), std::fs::read(&out2).unwrap());
    // The artifact runs.
    let out = run(&mut keel(
        &home,
        &[
            "run",
            "--allow-precompiled",
            "--invoke",
            "main",
            out2.to_str().unwrap(),
        ],
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout), MAIN);

    let wast = dir.path().join("t.wast");
    std::fs::write(
        &wast,
        format!(
            "{}\n(assert_return (invoke \"main\") (i32.const 18021))\n",
            module_text()
        ),
    )
    .unwrap();
    let wast = wast.to_str().unwrap();
    let first = run(&mut keel(&home, &["wast", wast]));
    assert!(String::from_utf8_lossy(&first.stdout).ends_with(" passed, 0 failed\n"));
    let second = run(&mut keel(&home, &["wast", wast]));
    assert!(String::from_utf8_lossy(&second.stdout).ends_with(" passed, 0 failed\n"));
    assert!(stderr(&second).contains(LOADED), "{}", stderr(&second));
}

/// Processes started together on one uncached module all succeed; one
/// entry results, and it is a hit afterwards.
#[test]
fn racing_processes_all_succeed() {
    let (dir, wat) = setup();
    let home = dir.path().join("cache-home");
    let wat = wat.to_str().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            keel(&home, &["run", "--invoke", "main", wat])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), MAIN);
    }
    assert_eq!(entries(&home).len(), 1);
    // No temporary file is left behind.
    let modules = home.join("keel").join("modules");
    let names: Vec<_> = std::fs::read_dir(&modules)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let after = run(&mut keel(&home, &["run", "--invoke", "main", wat]));
    assert!(stderr(&after).contains(LOADED), "{}", stderr(&after));
}

#[test]
fn a_configuration_file_chooses_the_directory() {
    let (dir, wat) = setup();
    let home = dir.path().join("cache-home");
    let chosen = dir.path().join("chosen");
    let config = dir.path().join("cache.toml");
    std::fs::write(
        &config,
        format!("[cache]\ndirectory = {:?}\n", chosen.to_str().unwrap()),
    )
    .unwrap();
    let arg = format!("cache-config={}", config.display());
    let wat = wat.to_str().unwrap();
    run(&mut keel(
        &home,
        &["run", "-C", &arg, "--invoke", "main", wat],
    ));
    assert_eq!(entries(&chosen).len(), 1);
    assert!(entries(&home).is_empty());

    // A configuration file that does not load is an error that names it.
    std::fs::write(&config, "[cache]\nsize = 1\n").unwrap();
    let out = keel(&home, &["run", "-C", &arg, "--invoke", "main", wat])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cache.toml") && err.contains("size"), "{err}");
}

/// Without a usable cache directory keel runs, compiling every time.
#[test]
fn no_cache_directory_still_runs() {
    let (dir, wat) = setup();
    let wat = wat.to_str().unwrap();
    // A cache home that is a regular file.
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    for _ in 0..2 {
        let out = run(&mut keel(&file, &["run", "--invoke", "main", wat]));
        assert_eq!(String::from_utf8_lossy(&out.stdout), MAIN);
        assert!(stderr(&out).contains(COMPILED));
    }
    // Neither XDG_CACHE_HOME nor HOME.
    let out = run(keel(&file, &["run", "--invoke", "main", wat])
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), MAIN);
}

/// `-C lazy=y` compiles functions at their first call; a small module is
/// compiled whole by default.
#[test]
fn lazy_compilation_on_request() {
    let (dir, wat) = setup();
    let home = dir.path().join("cache-home");
    let wat = wat.to_str().unwrap();
    let lazy = run(&mut keel(
        &home,
        &[
            "run", "-C", "cache=n", "-C", "lazy=y", "--invoke", "main", wat,
        ],
    ));
    assert_eq!(String::from_utf8_lossy(&lazy.stdout), MAIN);
    let log = stderr(&lazy);
    assert!(
        log.contains("validated a module for lazy compilation"),
        "{log}"
    );
    // main, f1999 and f7: three functions of 2001.
    assert_eq!(
        log.matches("compiled a function lazily").count(),
        3,
        "{log}"
    );
    let eager = run(&mut keel(
        &home,
        &["run", "-C", "cache=n", "--invoke", "main", wat],
    ));
    assert!(stderr(&eager).contains(COMPILED), "{}", stderr(&eager));
    assert!(!stderr(&eager).contains("lazily"), "{}", stderr(&eager));
}

/// `-C lazy-baseline=y` compiles first calls without optimizations
/// (and the program still runs to its end).
#[test]
fn lazy_baseline_on_request() {
    let (dir, wat) = setup();
    let home = dir.path().join("cache-home");
    let wat = wat.to_str().unwrap();
    let out = run(&mut keel(
        &home,
        &[
            "run",
            "-C",
            "cache=n,lazy=y",
            "-C",
            "lazy-baseline=y",
            "--invoke",
            "main",
            wat,
        ],
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout), MAIN);
    let log = stderr(&out);
    assert!(log.contains("optimized=false"), "{log}");
    let out = run(&mut keel(
        &home,
        &["run", "-C", "cache=n,lazy=y", "--invoke", "main", wat],
    ));
    let log = stderr(&out);
    assert!(log.contains("optimized=true"), "{log}");
    assert!(!log.contains("optimized=false"), "{log}");
}

/// A lazy run with the cache on compiles the whole module for the cache
/// in the background and waits for it before exiting, so the next run,
/// lazy or not, loads it.
#[test]
fn lazy_runs_fill_the_cache() {
    let (dir, wat) = setup();
    let home = dir.path().join("cache-home");
    let wat = wat.to_str().unwrap();
    let first = run(&mut keel(
        &home,
        &["run", "-C", "lazy=y", "--invoke", "main", wat],
    ));
    assert_eq!(String::from_utf8_lossy(&first.stdout), MAIN);
    assert!(
        stderr(&first).contains("compiled a function lazily"),
        "{}",
        stderr(&first)
    );
    assert_eq!(entries(&home).len(), 1);
    for lazy in ["lazy=y", "lazy=n"] {
        let again = run(&mut keel(
            &home,
            &["run", "-C", lazy, "--invoke", "main", wat],
        ));
        assert_eq!(String::from_utf8_lossy(&again.stdout), MAIN);
        let log = stderr(&again);
        assert!(log.contains(LOADED), "{log}");
        assert!(!log.contains("lazily"), "{log}");
    }
}
