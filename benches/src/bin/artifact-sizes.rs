//! Artifact sizes (issue 33): the bytes of each real program's artifact
//! as keel writes it (`Engine::precompile_module`, the format of its
//! compilation cache entries) and as Wasmtime 48 does
//! (`Engine::precompile_module`, a `.cwasm`), with keel's sections
//! broken down. Written to `target/artifact-sizes.json` for
//! `write-report`.
//!
//! `cargo run --manifest-path benches/Cargo.toml --profile bench --bin artifact-sizes`

use anyhow::{Context, Result};
use keel_benches::{large_program, real_programs};
use object::{Object as _, ObjectSection as _};

fn main() -> Result<()> {
    let keel_engine = keel::Engine::default();
    let wasmtime_engine = wasmtime::Engine::default();
    let mut rows = Vec::new();
    for (name, path) in real_programs().into_iter().chain([large_program()]) {
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("artifact-sizes: skipping {name}: no {}", path.display());
            continue;
        };
        let keel = keel_engine.precompile_module(&bytes)?;
        let wasmtime = wasmtime_engine
            .precompile_module(&bytes)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let sections = keel_sections(&keel).with_context(|| format!("{name}'s artifact"))?;
        println!(
            "{name}: wasm {} B, keel {} B, wasmtime {} B ({:.2}x); keel sections {sections:?}",
            bytes.len(),
            keel.len(),
            wasmtime.len(),
            keel.len() as f64 / wasmtime.len() as f64
        );
        rows.push(serde_json::json!({
            "program": name,
            "wasm": bytes.len(),
            "keel": keel.len(),
            "wasmtime": wasmtime.len(),
            "keel_sections": sections,
        }));
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/artifact-sizes.json");
    std::fs::create_dir_all(out.parent().context("no parent")?)?;
    std::fs::write(&out, serde_json::to_string_pretty(&rows)?)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The sizes of an ELF artifact's sections, by name.
fn keel_sections(elf: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let file = object::File::parse(elf)?;
    let mut out = serde_json::Map::new();
    for section in file.sections() {
        let name = section.name()?;
        if !name.is_empty() {
            out.insert(name.to_string(), section.size().into());
        }
    }
    Ok(out)
}
