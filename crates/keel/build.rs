//! Computes keel's build identity, `KEEL_BUILD_ID`: a hash of the sources
//! of the crates that decide what an artifact contains and how it is
//! read (keel-translate, keel-compile, keel-vm, keel-trap and keel) and of
//! the workspace's `Cargo.lock` (Cranelift's version). Artifacts and cache
//! entries record it, so that one written by another build of the same
//! version is reported as stale rather than as corrupted, and the
//! compilation cache never serves it.
//!
//! Outside the workspace (keel built from a registry, where a version's
//! sources never change) the identity is the version alone.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

/// The crates, as directories next to this one, whose sources are hashed.
const CRATES: &[&str] = &["translate", "compile", "vm", "trap", "keel"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let crates = manifest.parent().expect("crates/keel has a parent");
    let mut hasher = DefaultHasher::new();
    let mut files = Vec::new();
    let in_workspace = CRATES.iter().all(|c| crates.join(c).join("src").is_dir());
    if in_workspace {
        for name in CRATES {
            let dir = crates.join(name);
            println!("cargo:rerun-if-changed={}", dir.join("src").display());
            println!(
                "cargo:rerun-if-changed={}",
                dir.join("Cargo.toml").display()
            );
            collect(&dir.join("src"), &mut files);
            files.push(dir.join("Cargo.toml"));
        }
        let lock = crates.parent().map(|root| root.join("Cargo.lock"));
        if let Some(lock) = lock.filter(|l| l.is_file()) {
            println!("cargo:rerun-if-changed={}", lock.display());
            files.push(lock);
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    files.sort();
    for file in &files {
        let relative = file.strip_prefix(crates).unwrap_or(file);
        hasher.write(relative.to_string_lossy().as_bytes());
        let bytes = std::fs::read(file).unwrap_or_default();
        hasher.write_usize(bytes.len());
        hasher.write(&bytes);
    }
    let id = if in_workspace {
        format!("{:016x}", hasher.finish())
    } else {
        String::from("release")
    };
    println!("cargo:rustc-env=KEEL_BUILD_ID={id}");
}

/// Every file under `dir`, recursively.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
