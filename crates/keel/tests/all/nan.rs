//! NaN canonicalization (`Config::cranelift_nan_canonicalization`).

use keel::{Config, Engine, Linker, Module, Store};

const WAT: &str = r#"(module
    (func (export "div") (param f32 f32) (result i32)
      local.get 0 local.get 1 f32.div i32.reinterpret_f32))"#;

fn nan_bits(canonicalize: bool) -> u32 {
    let mut config = Config::new();
    config.cranelift_nan_canonicalization(canonicalize);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let div = instance
        .get_typed_func::<(f32, f32), i32>(&mut store, "div")
        .unwrap();
    // A NaN with a payload and the sign bit set, divided by one.
    div.call(&mut store, (f32::from_bits(0xffc0_1234), 1.0))
        .unwrap() as u32
}

#[test]
fn canonicalization_replaces_payloads() {
    assert_eq!(nan_bits(true), 0x7fc0_0000);
    // Without it the host's arithmetic NaN comes through: x86_64 keeps the
    // payload (and sets the quiet bit); RISC-V's arithmetic always makes
    // the canonical NaN, as the F extension specifies.
    let raw = nan_bits(false);
    assert_eq!(
        raw & 0x7fc0_0000,
        0x7fc0_0000,
        "{raw:#x} is an arithmetic NaN"
    );
    if cfg!(target_arch = "riscv64") {
        assert_eq!(raw, 0x7fc0_0000);
    } else {
        assert_ne!(raw, 0x7fc0_0000);
    }
}
