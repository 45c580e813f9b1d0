#!/usr/bin/env bash
# `keel run` on riscv64, under qemu-riscv64 (issue 30: the trap corpus and
# artifacts across architectures). Builds `keel` for this machine
# (release) and for riscv64gc-unknown-linux-gnu (-Zbuild-std; the
# toolchain set-up is ../shared/cross/setup.sh, which must have run), then:
#
#   * runs every module of the trap corpus (tests/traps/*.wat: every trap
#     code `keel run` can meet, three functions deep, with the `-W` flags
#     of its `;; flags:` line) with the riscv64 keel, JIT-compiled, and
#     checks that it prints exactly what keel on x86_64 prints (the trap
#     message and the backtrace naming the functions) and exits the same;
#   * compiles each on x86_64 for riscv64 (`keel compile --target
#     riscv64gc-unknown-linux-gnu`) and checks that the riscv64 keel runs
#     the artifact with the same output, and that keel on x86_64 refuses it
#     naming both targets;
#   * the same for examples/fib.wat and a WASI program.
#
# Usage: scripts/riscv64-cli.sh   (QEMU_RISCV64 overrides the emulator;
# default qemu-riscv64). Prints PASS/FAIL lines and "N passed, N failed";
# exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

qemu="${QEMU_RISCV64:-qemu-riscv64} -L /usr/riscv64-linux-gnu"
target=riscv64gc-unknown-linux-gnu
cargo build --release --bin keel
RUSTC_BOOTSTRAP=1 cargo build -Zbuild-std --target "$target" --bin keel
host=target/release/keel
rv="$qemu target/$target/debug/keel"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    echo "PASS: $*"
}
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}

# same NAME EXPECTED_OUT EXPECTED_STATUS CMD...: CMD prints EXPECTED_OUT
# (stdout and stderr) and exits with EXPECTED_STATUS.
same() {
    local name="$1" want="$2" want_status="$3" got status=0
    shift 3
    got="$("$@" 2>&1)" || status=$?
    if [ "$got" = "$want" ] && [ "$status" = "$want_status" ]; then
        pass "$name"
    else
        fail "$name: exit $status (x86_64: $want_status), output:"
        echo "$got"
        echo "--- x86_64 printed:"
        echo "$want"
    fi
}

for file in tests/traps/*.wat; do
    name="$(basename "$file" .wat)"
    read -r -a flags <<<"$(sed -n 's/^;; flags: //p' "$file")"
    status=0
    want="$($host run "${flags[@]}" "$file" --invoke main 2>&1)" || status=$?
    same "$name: riscv64 JIT prints what x86_64 prints" "$want" "$status" \
        $rv run "${flags[@]}" "$file" --invoke main
    $host compile "${flags[@]}" --target "$target" "$file" -o "$work/$name.cwasm"
    same "$name: riscv64 runs the artifact x86_64 compiled for it" "$want" "$status" \
        $rv run --allow-precompiled "${flags[@]}" "$work/$name.cwasm" --invoke main
    if refusal="$($host run --allow-precompiled "${flags[@]}" "$work/$name.cwasm" --invoke main 2>&1)"; then
        fail "$name: x86_64 ran the riscv64 artifact"
    elif grep -q "target: artifact $target, engine x86_64-unknown-linux-gnu" <<<"$refusal"; then
        pass "$name: x86_64 refuses the riscv64 artifact, naming both targets"
    else
        fail "$name: x86_64 refused the riscv64 artifact without naming both targets: $refusal"
    fi
done

$host compile --target "$target" examples/fib.wat -o "$work/fib.cwasm"
same "fib.wat: riscv64 runs fib(25) from an x86_64-made artifact" "75025" 0 \
    $rv run --allow-precompiled "$work/fib.cwasm" --invoke fib 25
$host compile --target "$target" crates/wasi/tests/programs/hello.wasm -o "$work/hello.cwasm"
same "hello.wasm: riscv64 runs a WASI program from an x86_64-made artifact" "hello, world" 0 \
    $rv run --allow-precompiled "$work/hello.cwasm"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
