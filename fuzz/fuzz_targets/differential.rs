//! Differential execution against wasmi: a terminating wasm-smith module
//! without imports; every export called with arbitrary arguments; results,
//! traps, exported globals and memories must agree. keel compiles each
//! function at its first call for about half the inputs.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// `[eager, lazy]`.
static ENGINES: LazyLock<[keel::Engine; 2]> =
    LazyLock::new(|| [false, true].map(keel_fuzz::keel_engine_compiling));

fuzz_target!(|data: &[u8]| {
    let engine = &ENGINES[usize::from(keel_fuzz::lazy_choice(data))];
    let mut u = Unstructured::new(data);
    // NaN payloads are non-deterministic; canonicalize them in the
    // generated code so results compare by bits.
    let Some(bytes) = keel_fuzz::terminating_module(&mut u, false, true) else {
        return;
    };
    let rest = u.take_rest().to_vec();
    // wasmi executes calls on the native stack, and ASan makes its frames
    // large: compare on a thread with room for both engines.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || keel_fuzz::differential(engine, &bytes, &mut Unstructured::new(&rest)))
        .expect("spawning the comparison thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
});
