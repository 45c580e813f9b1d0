//! Compile the C workloads natively (`gcc -O2`, the `cc` crate's default
//! compiler here) so the benchmarks can time them as the limit, and build
//! the third-party real programs (SQLite, zlib) to wasm32-wasi
//! (`programs/build_programs.rs`).

include!("programs/build_programs.rs");

fn main() {
    let sources = [
        "fib",
        "sieve",
        "matmul",
        "sha256",
        "nbody",
        "quicksort",
        "simd",
        "isort",
        "indirect",
    ];
    let mut build = cc::Build::new();
    build.opt_level(2).flag("-fno-builtin").warnings(true);
    for s in sources {
        build.file(format!("workloads/{s}.c"));
        println!("cargo:rerun-if-changed=workloads/{s}.c");
    }
    println!("cargo:rerun-if-changed=workloads/common.h");
    build.compile("workloads");
    build_programs();
}
