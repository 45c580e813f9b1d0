//! Fuel is a property of the wasm, not of the machine: the benchmark
//! workloads (`benches/workloads`, C compiled to wasm) consume exactly the
//! fuel Wasmtime 48 consumes for them (measured by the benches' test
//! `fuel_equality`, which runs both side by side on x86_64), here on
//! whatever architecture these tests run: x86_64 in CI, riscv64 under
//! qemu-riscv64 in `scripts/riscv64-tests.sh`. Each result is checked too.

use keel::{Config, Engine, Instance, Module, Store, Val};

/// The nine workloads; `simd` needs 128-bit vectors (riscv64: the V
/// extension, which qemu-riscv64 10 reports).
const WORKLOADS: &[Workload] = &[
    w(
        "fib",
        include_bytes!("../../../../benches/workloads/fib.wasm"),
        27,
        8_020_289,
        0x2ff42,
    ),
    w(
        "sieve",
        include_bytes!("../../../../benches/workloads/sieve.wasm"),
        1,
        49_953_747,
        0x14069,
    ),
    w(
        "matmul",
        include_bytes!("../../../../benches/workloads/matmul.wasm"),
        2,
        23_828_361,
        0x3fbe_f8e9_e065_22c2,
    ),
    w(
        "sha256",
        include_bytes!("../../../../benches/workloads/sha256.wasm"),
        4,
        36_839_501,
        0x1b08_02e2,
    ),
    w(
        "nbody",
        include_bytes!("../../../../benches/workloads/nbody.wasm"),
        50000,
        79_101_023,
        0xbfc5_a9ee_4e15_6164,
    ),
    w(
        "quicksort",
        include_bytes!("../../../../benches/workloads/quicksort.wasm"),
        1,
        53_178_088,
        0x0080_726a,
    ),
    w(
        "simd",
        include_bytes!("../../../../benches/workloads/simd.wasm"),
        2000,
        68_228_669,
        0x4cb3_aaeb,
    ),
    w(
        "isort",
        include_bytes!("../../../../benches/workloads/isort.wasm"),
        1,
        92_392_012,
        0x0a8f_1629,
    ),
    w(
        "indirect",
        include_bytes!("../../../../benches/workloads/indirect.wasm"),
        400,
        39_376_517,
        0x070d_4c96,
    ),
];

/// One workload: its name, wasm, the argument of its `run` export, the
/// fuel Wasmtime consumes, and the result's bits.
struct Workload(&'static str, &'static [u8], i32, u64, u64);

const fn w(name: &'static str, wasm: &'static [u8], arg: i32, fuel: u64, bits: u64) -> Workload {
    Workload(name, wasm, arg, fuel, bits)
}

#[test]
fn workloads_consume_wasmtimes_fuel_on_this_architecture() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    const FUEL: u64 = 1 << 40;
    for &Workload(name, wasm, arg, fuel, bits) in WORKLOADS {
        let module = Module::new(&engine, wasm).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let mut store = Store::new(&engine, ());
        store.set_fuel(FUEL).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_func(&mut store, "run").unwrap();
        let mut results = [Val::I32(0)];
        if let Some(ty) = f.ty(&store).results().next() {
            results[0] = Val::default_for(ty);
        }
        f.call(&mut store, &[Val::I32(arg)], &mut results)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let got = match results[0] {
            Val::I32(x) => x as u32 as u64,
            Val::I64(x) => x as u64,
            Val::F32(x) => u64::from(x),
            Val::F64(x) => x,
            ref other => panic!("{name}: unexpected result {other:?}"),
        };
        let consumed = FUEL - store.get_fuel().unwrap();
        println!("{name}({arg}): {consumed} fuel, result bits {got:#x}");
        assert_eq!(consumed, fuel, "{name}: fuel");
        assert_eq!(got, bits, "{name}: result");
    }
}
