//! Every module wasm-smith generates with the features keel supports must
//! validate, translate, compile and link; arbitrary bytes must give `Err`
//! (or `Ok`), never a panic.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static ENGINE: LazyLock<keel::Engine> = LazyLock::new(keel_fuzz::keel_engine);

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let raw: bool = u.arbitrary().unwrap_or(false);
    if raw {
        let _ = keel::Module::from_binary(&ENGINE, u.take_rest());
        return;
    }
    let Ok(config) = keel_fuzz::smith_config_all(&mut u, true) else {
        return;
    };
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
        return;
    };
    let bytes = module.to_bytes();
    if let Err(e) = keel::Module::from_binary(&ENGINE, &bytes) {
        panic!("keel rejected a valid module: {e:#}");
    }
});
