//! Fuel is deterministic across memory modes: a terminating wasm-smith
//! module without imports runs in a keel engine with guard pages and in
//! one with explicit bounds checks, both metering fuel; every export,
//! called with the same arbitrary arguments, must give the same result or
//! trap and leave exactly the same fuel.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static ENGINES: LazyLock<[keel::Engine; 2]> =
    LazyLock::new(|| [true, false].map(keel_fuzz::keel_fuel_engine));

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Some(bytes) = keel_fuzz::terminating_module_keel(&mut u, false, true) else {
        return;
    };
    let [a, b] = &*ENGINES;
    keel_fuzz::fuel_consistency([a, b], &bytes, &mut u);
});
