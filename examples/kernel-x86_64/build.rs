//! Build script of the keel example kernel: makes the kernel binary
//! freestanding: no C runtime start files, no libc or libgcc, static,
//! linked with `linker.ld` at 1 MiB. (The guests and their artifacts are
//! built by `kernel-common`'s build script.)

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
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
