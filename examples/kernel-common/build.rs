//! Build script of the kernels' common crate.
//!
//! * Assembles `guest.wat` and `sched.wat` (the scheduler demo's guests)
//!   into `$OUT_DIR/guest.wasm` and `$OUT_DIR/sched.wasm`, which the
//!   kernels embed with `include_bytes!`.
//! * Without the `compiler` feature, precompiles them with keel's API into
//!   `$OUT_DIR/guest.cwasm`, `$OUT_DIR/guest-control.cwasm` and
//!   `$OUT_DIR/sched.cwasm` (the last two with fuel and epoch interruption
//!   on), for the kernel's architecture with the settings its engines use
//!   (`src/target.rs`, shared with the library).

use std::env;
use std::fs;
use std::path::PathBuf;

include!("src/target.rs");

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src/target.rs");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("CARGO_CFG_TARGET_ARCH");

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
                    precompile(&arch, &wasm, metered).unwrap_or_else(|e| panic!("{name}: {e:#}"));
                fs::write(out_dir.join(name), artifact).expect("write the guest artifact");
            }
        }
    }
}

/// The guest's artifact for the kernel's engine on `arch`: the settings of
/// [`engine_target`] (plus fuel and epochs when `metered`), as the
/// library's `guest::config` sets them.
fn precompile(arch: &str, wasm: &[u8], metered: bool) -> keel::Result<Vec<u8>> {
    let (target, flags) = engine_target(arch)
        .ok_or_else(|| keel::Error::msg(format!("no kernel for the architecture {arch}")))?;
    let mut config = keel::Config::new();
    config.target(target)?;
    for flag in flags {
        config.cranelift_flag_enable(flag)?;
    }
    if metered {
        config.consume_fuel(true).epoch_interruption(true);
    }
    keel::Engine::new(&config)?.precompile_module(wasm)
}
