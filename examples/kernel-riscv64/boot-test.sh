#!/usr/bin/env bash
# Builds the riscv64 keel example kernel, boots it in QEMU's virt machine
# (OpenSBI, supervisor mode) and checks what it prints on the UART.
#
#   examples/kernel-riscv64/boot-test.sh
#
# Checks, each counted as passed or failed:
#   * the kernel links freestanding: a RISC-V ELF entered at 0x8020_0000
#     (where OpenSBI jumps) with no undefined symbols (`nm -u` prints
#     nothing);
#   * a normal boot prints, in this order, the same guest results as the
#     x86_64 kernel's (see kernel-common/boot-checks.sh, `check_guests`):
#     calls, the out-of-bounds trap (a page fault) and its backtrace, the
#     other traps (Cranelift's trap instruction, an illegal instruction,
#     for division by zero, unreachable and stack overflow), exceptions,
#     guest control (an endless loop stopped by the SBI timer advancing
#     keel's epoch, the same loop stopped by fuel, memory growth refused
#     past a budget) and the three-guest scheduler; then the count of
#     illegal-instruction traps and page faults that became keel traps,
#     and `kernel: done`; QEMU exits with 0 (the test device's "pass");
#   * a boot with `-append fault-test` (a page fault that is not keel's)
#     prints the kernel's fault diagnostic and QEMU exits with 3;
#   * the kernel built without the compiler (`--no-default-features`), which
#     runs the guests from artifacts that kernel-common's build.rs compiled
#     on this (x86_64) host for riscv64gc-unknown-none-elf and embedded in
#     its text (`Module::deserialize_raw`), links without Cranelift and
#     passes the same normal-boot checks.
# Both kernels' image sizes are printed.
# The last line is "N passed, N failed"; the exit status is non-zero when
# anything failed.
#
# Needs the cross set-up of ../shared/cross/setup.sh (qemu-system-riscv64,
# OpenSBI, Rust's library sources for -Zbuild-std); runs it when
# qemu-system-riscv64 is missing (KEEL_SHARED_DIR overrides ../shared).
# Environment: CARGO (default cargo), QEMU (default qemu-system-riscv64),
# QEMU_TIMEOUT seconds per boot (default 180).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

cargo="${CARGO:-cargo}"
qemu="${QEMU:-qemu-system-riscv64}"
qemu_timeout="${QEMU_TIMEOUT:-180}"
built="$here/target/riscv64gc-unknown-none-elf/release/kernel"
work="$(mktemp -d)"
kernel="$work/kernel"
kernel_aot="$work/kernel-no-compiler"
trap 'rm -rf "$work"' EXIT

# pass, fail, show_boot, expect_in_order, expect_status, check_guests,
# image_sizes, build_kernels.
source "$here/../kernel-common/boot-checks.sh"

if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "boot-test: $qemu not found; running the cross set-up"
    bash "${KEEL_SHARED_DIR:-$here/../../../shared}/cross/setup.sh"
fi

# -Zbuild-std (.cargo/config.toml) on stable Rust.
export RUSTC_BOOTSTRAP=1
build_kernels "$built"

# --- The binaries are riscv64 images OpenSBI can enter ---------------------
for k in "$kernel" "$kernel_aot"; do
    header="$(readelf -hW "$k")"
    if grep -q 'Machine: *RISC-V' <<<"$header" && grep -q 'Entry point address: *0x80200000' <<<"$header"; then
        pass "$(basename "$k"): a RISC-V ELF entered at 0x80200000"
    else
        fail "$(basename "$k"): not a RISC-V ELF entered at 0x80200000:"
        echo "$header"
    fi
done

# boot NAME APPEND [KERNEL]: runs QEMU (virt machine, OpenSBI as firmware,
# the UART on stdio); the log and status as show_boot leaves them.
boot() {
    local name="$1" append="$2" status=0
    echo "boot-test: booting ($name${append:+, -append \"$append\"})"
    timeout "$qemu_timeout" "$qemu" \
        -machine virt -cpu rv64 -m 512M -bios default \
        -nodefaults -display none -monitor none -no-reboot \
        -serial stdio \
        -kernel "${3:-$kernel}" -append "$append" \
        </dev/null >"$work/$name.raw" 2>"$work/$name.stderr" || status=$?
    show_boot "$name" "$status"
}

# --- Normal boot: keel runs the guests --------------------------------------
check_normal() {
    expect_in_order "$1" \
        '^kernel: supervisor mode on hart 0, device tree at 0x[0-9a-f]+$' \
        '^kernel: Sv39 paging on, trap vector installed$' \
        '^trap: breakpoint at 0x[0-9a-f]+, resuming$' \
        '^selftest: ebreak, heap and paging ok$'
    check_guests "$1" '^kernel: faults turned into keel traps: illegal instruction 6, page fault 1$'
    expect_status "$1" 0
}
boot normal ""
check_normal normal
# The JIT kernel compiles the guest lazily, each function at its first call.
expect_in_order normal \
    '^keel: validated guest, compiling each function at its first call \([0-9]+ bytes of wasm\)$' \
    '^lazy: compiled [1-9][0-9]* functions at their first call$'

# --- A fault that is not keel's ends the kernel ----------------------------
boot fault fault-test
expect_in_order fault \
    '^selftest: reading unmapped 0x[0-9a-f]+$' \
    '^fatal: load page fault \(scause 0xd\), not a keel trap$' \
    '^  stval 0x[0-9a-f]+$'
expect_status fault 3

# --- The kernel without the compiler: the same guests from artifacts -------
boot no-compiler "" "$kernel_aot"
expect_in_order no-compiler '^keel: loaded precompiled guest \([0-9]+ bytes of artifact, no compiler'
expect_in_order no-compiler '^lazy: none, the guest is precompiled$'
check_normal no-compiler

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
