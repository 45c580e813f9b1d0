// Included by `build.rs` (which precompiles the guests for the kernel
// without the compiler) and compiled into the library (whose engines run
// them): the two must agree, or keel refuses the artifacts.

/// The keel target triple and the Cranelift ISA flags the kernels'
/// engines use on the architecture `arch` (`target_arch`'s spelling), or
/// `None` for an architecture without a kernel.
///
/// * x86_64: `x86_64-unknown-none` with SSE3 to SSE4.2, which wasm SIMD
///   needs and every x86_64 CPU QEMU's `-cpu max` models has.
/// * riscv64: `riscv64gc-unknown-none-elf` (RV64IMAFDC) with the Zba,
///   Zbb and Zbs bit-manipulation extensions, which QEMU's `rv64` CPU
///   has; no V, so wasm SIMD is off in the riscv64 kernel.
pub fn engine_target(arch: &str) -> Option<(&'static str, &'static [&'static str])> {
    match arch {
        "x86_64" => Some((
            "x86_64-unknown-none",
            &["has_sse3", "has_ssse3", "has_sse41", "has_sse42"],
        )),
        "riscv64" => Some((
            "riscv64gc-unknown-none-elf",
            &["has_zba", "has_zbb", "has_zbs"],
        )),
        _ => None,
    }
}
