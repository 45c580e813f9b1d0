//! Build script of the keel example kernel.
//!
//! * Assembles `guest.wat` into `$OUT_DIR/guest.wasm`, which the kernel
//!   embeds with `include_bytes!`.
//! * Makes the kernel binary freestanding: no C runtime start files, no
//!   libc or libgcc, static, linked with `linker.ld` at 1 MiB.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    let wat_path = manifest_dir.join("guest.wat");
    println!("cargo:rerun-if-changed={}", wat_path.display());
    let wasm = wat::parse_file(&wat_path).unwrap_or_else(|e| panic!("{}: {e}", wat_path.display()));
    fs::write(out_dir.join("guest.wasm"), wasm).expect("write guest.wasm");

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
