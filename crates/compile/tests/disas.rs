//! Golden disassembly tests, in the manner of Wasmtime's `tests/disas`.
//!
//! Each `tests/disas/*.wat` file is a module, options in `;;! key = value`
//! lines at its top, and, after the marker line, the expected output as
//! `;; ` comment lines: for every defined function, the x86_64 machine
//! code Cranelift prints after register allocation and the VMContext loads
//! left inside loops ([`FunctionInspection`]). The code is compiled for a
//! fixed x86_64 baseline (SSE4.2, no AVX), not the host CPU, so the output
//! is the same on every machine.
//!
//! A change to code generation changes some of these files: read the
//! difference, and when it is what you meant, regenerate them with
//! `KEEL_BLESS=1 cargo test -p keel-compile --test disas`.
//!
//! Options:
//! * `signals_based_traps = false`: explicit bounds checks;
//! * `spectre = false`: no Spectre guards on explicit checks;
//! * `consume_fuel = true`, `epoch_interruption = true`: guest control;
//! * `vmctx_loads_in_loops = N`: fail when any function keeps more than N
//!   VMContext loads inside loops, whatever the golden output says (hot
//!   loops whose VMContext fields cannot change say 0).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use keel_compile::{Compiler, CompilerOptions, FunctionInspection, MemoryTunables};
use keel_translate::{DefinedFuncIndex, translate_module, wasm_features};

const MARKER: &str = ";; ==== expected output (KEEL_BLESS=1 regenerates) ====";

/// The x86_64 features every golden file is compiled with.
const X86_64_FLAGS: &[(&str, &str)] = &[
    ("has_sse3", "true"),
    ("has_ssse3", "true"),
    ("has_sse41", "true"),
    ("has_sse42", "true"),
];

struct Case {
    path: PathBuf,
    input: String,
    expected: String,
    options: CompilerOptions,
    max_vmctx_loads_in_loops: Option<usize>,
}

fn parse(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let (input, expected) = match text.split_once(MARKER) {
        Some((input, expected)) => (input.trim_end().to_string(), expected.to_string()),
        None => (text.trim_end().to_string(), String::new()),
    };
    let mut options = CompilerOptions {
        verify: true,
        parallelism: 1,
        ..CompilerOptions::default()
    };
    let mut max_vmctx_loads_in_loops = None;
    for line in input.lines() {
        let Some(option) = line.strip_prefix(";;!") else {
            continue;
        };
        let (key, value) = option
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: `{line}` is not `;;! key = value`", path.display()));
        let (key, value) = (key.trim(), value.trim());
        let flag = || match value {
            "true" => true,
            "false" => false,
            _ => panic!("{}: `{key}` takes true or false", path.display()),
        };
        match key {
            "signals_based_traps" => {
                options.memory = MemoryTunables {
                    signals_based_traps: flag(),
                    ..options.memory
                }
            }
            "spectre" => {
                options.heap_access_spectre_mitigation = flag();
                options.table_access_spectre_mitigation = flag();
            }
            "consume_fuel" => options.consume_fuel = flag(),
            "epoch_interruption" => options.epoch_interruption = flag(),
            "vmctx_loads_in_loops" => {
                max_vmctx_loads_in_loops = Some(value.parse().unwrap());
            }
            _ => panic!("{}: unknown option `{key}`", path.display()),
        }
    }
    let expected = expected
        .lines()
        .skip_while(|l| l.is_empty())
        .map(|l| l.strip_prefix(";; ").or(l.strip_prefix(";;")).unwrap_or(l))
        .fold(String::new(), |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        });
    Case {
        path: path.to_path_buf(),
        input,
        expected,
        options,
        max_vmctx_loads_in_loops,
    }
}

fn inspect(case: &Case) -> Vec<FunctionInspection> {
    let wasm =
        wat::parse_str(&case.input).unwrap_or_else(|e| panic!("{}: {e}", case.path.display()));
    let translation = translate_module(&wasm, wasm_features()).unwrap();
    let flags: Vec<(String, String)> = X86_64_FLAGS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let compiler =
        Compiler::for_target(case.options.clone(), "x86_64-unknown-linux-gnu", &flags).unwrap();
    (0..translation.function_bodies.len())
        .map(|i| {
            compiler
                .inspect_function(&translation, DefinedFuncIndex::from_u32(i as u32))
                .unwrap()
        })
        .collect()
}

fn render(functions: &[FunctionInspection], first_defined: usize) -> String {
    let mut out = String::new();
    for (i, f) in functions.iter().enumerate() {
        writeln!(out, "function {}:", first_defined + i).unwrap();
        for line in f.vcode.lines().filter(|l| !l.trim().is_empty()) {
            writeln!(out, "  {}", line.trim_end()).unwrap();
        }
        if f.vmctx_loads_in_loops.is_empty() {
            writeln!(out, "  vmctx loads in loops: none").unwrap();
        } else {
            writeln!(out, "  vmctx loads in loops:").unwrap();
            for load in &f.vmctx_loads_in_loops {
                writeln!(out, "    {load}").unwrap();
            }
        }
    }
    out
}

#[test]
fn disas() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disas");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 8,
        "golden files missing from {}",
        dir.display()
    );
    let bless = std::env::var_os("KEEL_BLESS").is_some();
    let mut failures = Vec::new();
    for path in &paths {
        let case = parse(path);
        let functions = inspect(&case);
        let wasm = wat::parse_str(&case.input).unwrap();
        let imported = translate_module(&wasm, wasm_features())
            .unwrap()
            .module
            .num_imported_funcs as usize;
        let actual = render(&functions, imported);
        if let Some(max) = case.max_vmctx_loads_in_loops {
            for (i, f) in functions.iter().enumerate() {
                if f.vmctx_loads_in_loops.len() > max {
                    failures.push(format!(
                        "{}: function {} keeps {} VMContext loads in loops (at most {max}):\n  {}",
                        path.display(),
                        imported + i,
                        f.vmctx_loads_in_loops.len(),
                        f.vmctx_loads_in_loops.join("\n  ")
                    ));
                }
            }
        }
        if bless {
            let mut text = case.input.clone();
            text.push('\n');
            text.push_str(MARKER);
            text.push('\n');
            for line in actual.lines() {
                text.push_str(";; ");
                text.push_str(line);
                text.push('\n');
            }
            std::fs::write(path, text).unwrap();
        } else if actual != case.expected {
            let diff: String = actual
                .lines()
                .zip(case.expected.lines().chain(std::iter::repeat("<missing>")))
                .enumerate()
                .find(|(_, (a, e))| a != e)
                .map(|(n, (a, e))| {
                    format!(
                        "first difference at output line {}:\n  expected: {e}\n  actual:   {a}",
                        n + 1
                    )
                })
                .unwrap_or_else(|| "the expected output has more lines".into());
            failures.push(format!(
                "{}: output differs from the golden file ({diff}); run with KEEL_BLESS=1 to regenerate if intended. Actual output:\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
