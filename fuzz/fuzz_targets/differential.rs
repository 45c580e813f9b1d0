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
        .spawn(move || keel_fuzz::differential(&ENGINE, &bytes, &mut Unstructured::new(&rest)))
        .expect("spawning the comparison thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
});
