//! `keel compile` and `keel run --allow-precompiled`, through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn keel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("spawning keel")
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("keel-compile-{}-{name}", std::process::id()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn compiled_fib_runs_with_allow_precompiled_only() {
    let out = scratch("fib.cwasm");
    let o = out.to_str().unwrap();
    let r = keel(&["compile", "examples/fib.wat", "-o", o]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");

    let r = keel(&["run", "--allow-precompiled", o, "--invoke", "fib", "25"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(text(&r.stdout), "75025\n");

    let r = keel(&["run", o, "--invoke", "fib", "25"]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("--allow-precompiled"),
        "{}",
        text(&r.stderr)
    );

    // Settings that change code must match between compile and run.
    let r = keel(&[
        "run",
        "-W",
        "fuel=1000000",
        "--allow-precompiled",
        o,
        "--invoke",
        "fib",
        "5",
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("consume_fuel: artifact false, engine true"),
        "{}",
        text(&r.stderr)
    );
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn compiled_wasi_command_runs_with_its_arguments() {
    let out = scratch("args.cwasm");
    let o = out.to_str().unwrap();
    let program = Path::new("crates/wasi/tests/programs/args.wasm");
    let r = keel(&["compile", program.to_str().unwrap(), "-o", o]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let direct = keel(&["run", program.to_str().unwrap(), "x", "y z"]);
    let loaded = keel(&["run", "--allow-precompiled", o, "x", "y z"]);
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    // argv[0] is the file name; everything else is the same.
    assert_eq!(
        text(&loaded.stdout).replace(o, "PROGRAM"),
        text(&direct.stdout).replace(program.to_str().unwrap(), "PROGRAM")
    );
    assert!(text(&loaded.stdout).contains("argv[2]: y z"));
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn compile_for_riscv64_writes_a_riscv64_elf() {
    let out = scratch("fib-riscv64.cwasm");
    let o = out.to_str().unwrap();
    let r = keel(&[
        "compile",
        "--target",
        "riscv64gc-unknown-none-elf",
        "examples/fib.wat",
        "-o",
        o,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let bytes = std::fs::read(&out).unwrap();
    // ELF64, little-endian, e_machine = EM_RISCV (243).
    assert_eq!(&bytes[..6], b"\x7fELF\x02\x01");
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 243);
    let r = keel(&["run", "--allow-precompiled", o, "--invoke", "fib", "5"]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("target: artifact riscv64gc-unknown-none-elf"),
        "{}",
        text(&r.stderr)
    );
    std::fs::remove_file(&out).unwrap();
}

/// `--target x86_64-unknown-none` names the target (not the host) when
/// SIMD's features are missing, and `-C target-feature=` supplies them;
/// unknown features and `-C` without `--target` are refused by name.
#[test]
fn compile_for_a_bare_target_takes_its_cpu_features() {
    let out = scratch("fib-x86_64-none.cwasm");
    let o = out.to_str().unwrap();
    let base = ["compile", "--target", "x86_64-unknown-none"];
    let r = keel(&[&base[..], &["examples/fib.wat", "-o", o]].concat());
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("target `x86_64-unknown-none`") && !err.contains("host"),
        "{err}"
    );
    let features = "target-feature=+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt";
    let r = keel(&[&base[..], &["-C", features, "examples/fib.wat", "-o", o]].concat());
    assert!(r.status.success(), "{}", text(&r.stderr));
    let bytes = std::fs::read(&out).unwrap();
    // ELF64, e_machine = EM_X86_64 (62).
    assert_eq!(&bytes[..6], b"\x7fELF\x02\x01");
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 62);
    let r = keel(
        &[
            &base[..],
            &[
                "-C",
                "target-feature=+sse3,+nosuch",
                "examples/fib.wat",
                "-o",
                o,
            ],
        ]
        .concat(),
    );
    assert!(
        text(&r.stderr).contains("has_nosuch"),
        "{}",
        text(&r.stderr)
    );
    let r = keel(&[
        "compile",
        "-C",
        "target-feature=+avx",
        "examples/fib.wat",
        "-o",
        o,
    ]);
    assert!(
        text(&r.stderr).contains("needs `--target`"),
        "{}",
        text(&r.stderr)
    );
    let r = keel(&["compile", "-C", "opt-level=3", "examples/fib.wat", "-o", o]);
    assert!(
        text(&r.stderr).contains("unknown option `opt-level`"),
        "{}",
        text(&r.stderr)
    );
    std::fs::remove_file(&out).unwrap();
}
