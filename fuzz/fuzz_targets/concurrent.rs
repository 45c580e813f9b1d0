//! Generated modules run on two threads at once while a third compiles,
//! instantiates, traps in and drops other modules: the code registry, the
//! type registry and trap handling must hold up under concurrency, and
//! both threads must see the same results (issue 10). For about half the
//! inputs the engine compiles each function at its first call, so the two
//! threads race to compile the same functions.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// `[eager, lazy]`.
static ENGINES: LazyLock<[keel::Engine; 2]> =
    LazyLock::new(|| [false, true].map(keel_fuzz::keel_engine_compiling));

/// A module whose export traps: compiled and dropped by the churn thread.
const TRAPPING: &str = r#"(module (func (export "f") unreachable))"#;

/// What one call gave, in a form comparable across stores: numeric results
/// (references as null or not), or the trap code, or that it failed
/// otherwise.
#[derive(Debug, PartialEq)]
enum Outcome {
    Values(Vec<String>),
    Trap(keel::Trap),
    Error,
}

fn describe(v: &keel::Val) -> String {
    match v {
        keel::Val::I32(x) => format!("i32 {x}"),
        keel::Val::I64(x) => format!("i64 {x}"),
        keel::Val::F32(x) => format!("f32 {x:#x}"),
        keel::Val::F64(x) => format!("f64 {x:#x}"),
        keel::Val::V128(x) => format!("v128 {x:#x}"),
        keel::Val::FuncRef(f) => format!("funcref {}", f.is_some()),
        keel::Val::ExternRef(e) => format!("externref {}", e.is_some()),
        keel::Val::AnyRef(a) => format!("anyref {}", a.is_some()),
        keel::Val::ExnRef(e) => format!("exnref {}", e.is_some()),
    }
}

/// Instantiate `module` in a fresh store and call every exported function
/// once with default arguments.
fn run(engine: &keel::Engine, module: &keel::Module) -> Option<Vec<(String, Outcome)>> {
    let mut store = keel::Store::new(engine, ());
    let instance = keel::Linker::new(engine)
        .instantiate(&mut store, module)
        .ok()?;
    let names: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
    let mut outcomes = Vec::new();
    for name in names {
        let Some(f) = instance.get_func(&mut store, &name) else {
            continue;
        };
        let ty = f.ty(&store);
        let args: Vec<keel::Val> = ty.params().map(keel::Val::default_for).collect();
        let mut out: Vec<keel::Val> = ty.results().map(keel::Val::default_for).collect();
        let outcome = match f.call(&mut store, &args, &mut out) {
            Ok(()) => Outcome::Values(out.iter().map(describe).collect()),
            Err(e) => match e.downcast_ref::<keel::Trap>() {
                Some(t) => Outcome::Trap(*t),
                None => Outcome::Error,
            },
        };
        outcomes.push((name, outcome));
    }
    Some(outcomes)
}

fuzz_target!(|data: &[u8]| {
    let engine = &ENGINES[usize::from(keel_fuzz::lazy_choice(data))];
    let mut u = Unstructured::new(data);
    let Some(bytes) = keel_fuzz::terminating_module_keel(&mut u, false, false) else {
        return;
    };
    let module = keel::Module::from_binary(engine, &bytes)
        .unwrap_or_else(|e| panic!("keel rejected a valid module: {e:#}"));
    let done = AtomicBool::new(false);
    let (a, b) = std::thread::scope(|s| {
        s.spawn(|| {
            // Churn: compile, instantiate, trap and drop, until both
            // runners are done; every trap must be recognised as one.
            let trapping = keel::Module::new(engine, TRAPPING).unwrap();
            while !done.load(Ordering::Relaxed) {
                let fresh = keel::Module::from_binary(engine, &bytes).unwrap();
                drop(fresh);
                let outcomes = run(engine, &trapping).expect("the trapping module instantiates");
                assert_eq!(
                    outcomes,
                    [(
                        "f".to_string(),
                        Outcome::Trap(keel::Trap::UnreachableCodeReached)
                    )]
                );
            }
        });
        let a = s.spawn(|| run(engine, &module));
        let b = s.spawn(|| run(engine, &module));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        done.store(true, Ordering::Relaxed);
        (a, b)
    });
    // Both instances started from the same state and ran the same calls.
    assert_eq!(a, b, "two threads saw different results");
});
