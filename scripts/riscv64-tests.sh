#!/usr/bin/env bash
# keel's tests on riscv64 Linux, run under qemu-riscv64 (issue 30, item 2):
# builds the standard library from source for riscv64gc-unknown-linux-gnu
# (-Zbuild-std; the toolchain set-up is ../shared/cross/setup.sh, which
# this calls), then runs the tests of keel-trap, keel-translate, keel-vm,
# keel and keel-wasi, and with --spec also keel-wast's spec suites, under
# Debian trixie's qemu-riscv64 10 (scripts/qemu-user-10.sh). The linker
# comes from .cargo/config.toml; tests that run their own binary again do
# it through KEEL_TEST_RUNNER.
#
# Usage: scripts/riscv64-tests.sh [--spec] [extra cargo test arguments]
# Prints each test binary's counts; exits non-zero if any test failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

spec=0
if [ "${1:-}" = "--spec" ]; then
    spec=1
    shift
fi
bash "${KEEL_SHARED_DIR:-../shared}/cross/setup.sh" >/dev/null

# qemu 10 reports the V extension, so SIMD is compiled and tested;
# Debian bookworm's qemu 7.2 would hide it.
qemu="$(scripts/qemu-user-10.sh)"
export RUSTC_BOOTSTRAP=1
export KEEL_TEST_RUNNER="$qemu -L /usr/riscv64-linux-gnu"
export CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUNNER="$KEEL_TEST_RUNNER"
target=riscv64gc-unknown-linux-gnu
packages=(-p keel-trap -p keel-translate -p keel-vm -p keel -p keel-wasi)
if [ $spec = 1 ]; then
    packages+=(-p keel-wast)
fi
log="$(mktemp)"
status=0
cargo test -Zbuild-std --target "$target" --no-fail-fast "${packages[@]}" "$@" 2>&1 \
    | tee "$log" || status=$?
echo
echo "== riscv64 results (qemu-riscv64)"
grep -E "^\s+Running|^test result|FAILED$" "$log" || true
rm -f "$log"
exit $status
