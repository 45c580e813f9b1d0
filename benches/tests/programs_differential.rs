//! The real programs of `benches/programs` (issue 15) run whole under
//! keel-wasi and under Wasmtime 48's wasmtime-wasi and print the same
//! output (their checksums of what they computed and wrote). A program
//! whose `.wasm` could not be built here (no wasm32-wasi clang for the
//! third-party ones) is reported and skipped; ours are committed and must
//! all run.
//!
//! `cargo test --release --manifest-path benches/Cargo.toml --test programs_differential`

use keel_benches::{keel_wasi_run, real_programs, wasmtime_wasi_run};

#[test]
fn real_programs_agree_with_wasmtime() {
    let keel_engine = keel::Engine::default();
    let wasmtime_engine = wasmtime::Engine::default();
    let mut ran = Vec::new();
    for (name, path) in real_programs() {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if matches!(name, "sqlite" | "zlib") => {
                eprintln!("skipping {name}: {} ({e})", path.display());
                continue;
            }
            Err(e) => panic!("{name}: {}: {e}", path.display()),
        };
        let sandbox = |runtime: &str| {
            let dir = std::env::temp_dir().join(format!(
                "keel-programs-{}-{name}-{runtime}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            dir
        };
        let (keel_dir, wasmtime_dir) = (sandbox("keel"), sandbox("wasmtime"));
        let keel_module = keel::Module::new(&keel_engine, &bytes).unwrap();
        let wasmtime_module = wasmtime::Module::new(&wasmtime_engine, &bytes).unwrap();
        let keel_out = keel_wasi_run(&keel_engine, &keel_module, &keel_dir, name);
        let wasmtime_out =
            wasmtime_wasi_run(&wasmtime_engine, &wasmtime_module, &wasmtime_dir, name);
        std::fs::remove_dir_all(&keel_dir).unwrap();
        std::fs::remove_dir_all(&wasmtime_dir).unwrap();
        assert!(!keel_out.is_empty(), "{name} printed nothing");
        assert_eq!(
            String::from_utf8_lossy(&keel_out),
            String::from_utf8_lossy(&wasmtime_out),
            "{name}: keel and Wasmtime disagree"
        );
        ran.push(name);
    }
    assert!(ran.len() >= 4, "ran only {ran:?}");
}
