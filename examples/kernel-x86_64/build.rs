//! Build script of the keel example kernel.
//!
//! * Assembles `guest.wat` and `sched.wat` (the scheduler demo's guests)
//!   into `$OUT_DIR/guest.wasm` and `$OUT_DIR/sched.wasm`, which the kernel
//!   embeds with `include_bytes!`.
//! * For the kernel without the `compiler` feature, precompiles them with
//!   keel's API into `$OUT_DIR/guest.cwasm`, `$OUT_DIR/guest-control.cwasm`
//!   and `$OUT_DIR/sched.cwasm` (the last two with fuel and epoch
//!   interruption on), for `x86_64-unknown-none` with the settings the
//!   kernel's engines use (`src/guest.rs`, `config`).
//! * Makes the kernel binary freestanding: no C runtime start files, no
//!   libc or libgcc, static, linked with `linker.ld` at 1 MiB.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    for (source, outputs) in [
        (
            "guest",
            &[("guest.cwasm", false), ("guest-control.cwasm", true)][..],
        ),
        ("sched", &[("sched.cwasm", true)][..]),
    ] {
        let wat_path = manifest_dir.join(format!("{source}.wat"));
        println!("cargo:rerun-if-changed={}", wat_path.display());
        let wasm =
            wat::parse_file(&wat_path).unwrap_or_else(|e| panic!("{}: {e}", wat_path.display()));
        fs::write(out_dir.join(format!("{source}.wasm")), &wasm).expect("write the guest's wasm");
        if env::var_os("CARGO_FEATURE_COMPILER").is_none() {
            for &(name, metered) in outputs {
                let artifact =
                    precompile(&wasm, metered).unwrap_or_else(|e| panic!("{name}: {e:#}"));
                fs::write(out_dir.join(name), artifact).expect("write the guest artifact");
            }
        }
    }

    let script = manifest_dir.join("linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    // `-nostdlib`: no crt1.o/crti.o and no libc/libgcc; everything the
    // kernel needs it defines itself (src/rt.rs). `-static -no-pie`: one
    // fixed-address image without a dynamic loader.
    for arg in [
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
        "-Wl,-z,max-page-size=4096",
        "-Wl,-z,noexecstack",
        "-Wl,--no-dynamic-linker",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
}

/// The guest's artifact for the kernel's engine: the same settings as
/// `guest::config` (plus fuel and epochs when `metered`).
fn precompile(wasm: &[u8], metered: bool) -> keel::Result<Vec<u8>> {
    let mut config = keel::Config::new();
    config
        .target("x86_64-unknown-none")?
        .cranelift_flag_enable("has_sse3")?
        .cranelift_flag_enable("has_ssse3")?
        .cranelift_flag_enable("has_sse41")?
        .cranelift_flag_enable("has_sse42")?;
    if metered {
        config.consume_fuel(true).epoch_interruption(true);
    }
    keel::Engine::new(&config)?.precompile_module(wasm)
}
