//! Differential execution against wasmi: a terminating wasm-smith module
//! without imports; every export called with arbitrary arguments; results,
//! traps, exported globals and memories must agree.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static ENGINE: LazyLock<keel::Engine> = LazyLock::new(keel_fuzz::keel_engine);

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(mut config) = keel_fuzz::smith_config(&mut u, false) else {
        return;
    };
    // NaN payloads are non-deterministic (spec §4.3.3); canonicalize them
    // in the generated code so results compare by bits.
    config.canonicalize_nans = true;
    let Ok(mut module) = wasm_smith::Module::new(config, &mut u) else {
        return;
    };
    if module.ensure_termination(1_000).is_err() {
        return;
    }
    let bytes = module.to_bytes();
    let rest = u.take_rest().to_vec();
    // wasmi executes calls on the native stack, and ASan makes its frames
    // large: compare on a thread with room for both engines.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || keel_fuzz::differential(&ENGINE, &bytes, &mut Unstructured::new(&rest)))
        .expect("spawning the comparison thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
});
