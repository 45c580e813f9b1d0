#!/usr/bin/env bash
# Rebuild the committed .wasm workloads from their C sources with Debian's
# clang and wasm-ld (apt-get install clang lld): wasm32, no libc.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
for src in fib sieve matmul sha256 nbody quicksort simd isort indirect; do
    extra=()
    [[ "$src" == simd ]] && extra=(-msimd128)
    clang --target=wasm32 -O2 -nostdlib -fno-builtin -ffreestanding "${extra[@]}" \
        -Wl,--no-entry -Wl,--export-dynamic -Wl,-z,stack-size=65536 \
        -o "$src.wasm" "$src.c"
    echo "built $src.wasm ($(stat -c %s "$src.wasm") bytes)"
done
