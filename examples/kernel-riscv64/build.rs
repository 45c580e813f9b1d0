//! Build script of the riscv64 kernel: links the binary with `linker.ld`
//! (image at 0x8020_0000, where OpenSBI jumps). The guests and their
//! artifacts are built by `kernel-common`'s build script.

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let script = manifest_dir.join("linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rustc-link-arg-bins=--no-relax");
}
