//! Fuel is deterministic across memory modes: a terminating wasm-smith
//! module without imports runs in a keel engine with guard pages and in
//! one with explicit bounds checks, both metering fuel; every export,
//! called with the same arbitrary arguments, must give the same result or
//! trap and leave exactly the same fuel. Either engine may compile
//! lazily (chosen per input), so fuel counts of lazily compiled code are
//! checked against eagerly compiled code too.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// `[guard pages, explicit bounds checks]`, each `[eager, lazy]`.
static ENGINES: LazyLock<[[keel::Engine; 2]; 2]> = LazyLock::new(|| {
    [true, false]
        .map(|signals| [false, true].map(|lazy| keel_fuzz::keel_fuel_engine(signals, lazy)))
});

fuzz_target!(|data: &[u8]| {
    // Guard pages lazily and bounds checks eagerly, or the other way round.
    let lazy = keel_fuzz::lazy_choice(data);
    let mut u = Unstructured::new(data);
    let Some(bytes) = keel_fuzz::terminating_module_keel(&mut u, false, true) else {
        return;
    };
    let [guards, checks] = &*ENGINES;
    let (a, b) = (&guards[usize::from(lazy)], &checks[usize::from(!lazy)]);
    keel_fuzz::fuel_consistency([a, b], &bytes, &mut u);
});
