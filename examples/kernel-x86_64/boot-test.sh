#!/usr/bin/env bash
# Builds the keel example kernel, boots it in QEMU and checks what it
# prints on the serial port.
#
#   examples/kernel-x86_64/boot-test.sh
#
# Checks, each counted as passed or failed:
#   * the kernel links freestanding: no undefined symbols (`nm -u` prints
#     nothing), no program interpreter, and the PVH entry note is present;
#   * a normal boot prints, in this order, the guest's call results, the
#     out-of-bounds trap and its backtrace, a call after the trap, the
#     other traps (#DE, #UD), an exception thrown in one guest function
#     and caught in another, one the kernel catches, and one kept in a
#     local while 10,000 more are thrown and collected, a linked list of
#     1000 structs built, dropped and reclaimed by the collector (heap
#     size before and after), then guest control: an endless loop stopped
#     by the PIT timer interrupt advancing keel's epoch (`Interrupt`), the
#     same loop stopped by fuel (`OutOfFuel`), memory growth refused past
#     a `StoreLimits` budget (-1), interrupts still on; then the scheduler
#     demo: three guests run round-robin as async calls, switched by the
#     timer's epoch yield, one of them sleeping in an async host call while
#     the others make progress, all three finishing; then
#     `kernel: done`, and QEMU exits with 33 (isa-debug-exit, success);
#   * a boot with `-append fault-test` (a page fault that is not keel's)
#     prints the kernel's fault diagnostic and QEMU exits with 3 (failure);
#   * the kernel built without the compiler (`--no-default-features`), which
#     runs the guest from artifacts build.rs precompiled and embedded in
#     its text (`Module::deserialize_raw`), links freestanding without
#     Cranelift and passes the same normal-boot checks.
# Both kernels' image sizes are printed.
# The last line is "N passed, N failed"; the exit status is non-zero when
# anything failed.
#
# Environment: CARGO (default cargo), QEMU (default qemu-system-x86_64),
# QEMU_TIMEOUT seconds per boot (default 120).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

cargo="${CARGO:-cargo}"
qemu="${QEMU:-qemu-system-x86_64}"
qemu_timeout="${QEMU_TIMEOUT:-120}"
built="$here/target/x86_64-unknown-linux-gnu/release/kernel"
work="$(mktemp -d)"
kernel="$work/kernel"
kernel_aot="$work/kernel-no-compiler"
trap 'rm -rf "$work"' EXIT

# pass, fail, show_boot, expect_in_order, expect_status, check_guests,
# image_sizes, build_kernels.
source "$here/../kernel-common/boot-checks.sh"

# QEMU, from Debian's package if missing.
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "boot-test: $qemu not found; installing qemu-system-x86"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends qemu-system-x86
fi

build_kernels "$built"

# --- The binary is freestanding -----------------------------------------
if readelf -lW "$kernel" | grep -q 'INTERP'; then
    fail "the kernel has a program interpreter"
else
    pass "no program interpreter (static, freestanding)"
fi
if readelf -nW "$kernel" | grep -q 'Xen.*0x00000012'; then
    pass "PVH entry note (Xen, type 18) present"
else
    fail "PVH entry note (Xen, type 18) missing"
fi

# boot NAME APPEND [KERNEL]: runs QEMU, serial output to $work/NAME.log (carriage
# returns removed), QEMU's exit status to $work/NAME.status.
boot() {
    local name="$1" append="$2" status=0
    echo "boot-test: booting ($name${append:+, -append \"$append\"})"
    # -nodefaults: no VGA, no NIC (so no option ROM banners); the only
    # serial port is COM1 on stdio. -no-reboot: a triple fault ends QEMU.
    timeout "$qemu_timeout" "$qemu" \
        -nodefaults -cpu max -m 512M \
        -display none -monitor none -no-reboot \
        -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "${3:-$kernel}" -append "$append" \
        </dev/null >"$work/$name.raw" 2>"$work/$name.stderr" || status=$?
    show_boot "$name" "$status"
}

# --- Normal boot: keel runs the guest --------------------------------------
# check_normal NAME: the guest's results, traps and guest control, in order.
check_normal() {
    check_guests "$1" '^kernel: faults turned into keel traps: #DE 1, #UD 5, #PF 1$'
    expect_status "$1" 33
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
    '^fatal: page fault \(#PF\) \(vector 14\), error code 0x[0-9a-f]+, not a keel trap$' \
    '^  fault address \(cr2\) 0x[0-9a-f]+$'
expect_status fault 3

# --- The kernel without the compiler: the same guest from artifacts -------
boot no-compiler "" "$kernel_aot"
expect_in_order no-compiler '^keel: loaded precompiled guest \([0-9]+ bytes of artifact, no compiler'
expect_in_order no-compiler '^lazy: none, the guest is precompiled$'
check_normal no-compiler

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
