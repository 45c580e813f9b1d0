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
#     local while 10,000 more are thrown and collected, then guest control: an endless loop stopped
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

echo "boot-test: building the kernel without the compiler (release)"
"$cargo" build --release --no-default-features
cp "$built" "$kernel_aot"
echo "boot-test: building the kernel with the compiler (release)"
"$cargo" build --release
cp "$built" "$kernel"
if nm "$kernel_aot" | grep -q cranelift; then
    fail "the kernel without the compiler contains Cranelift symbols"
else
    pass "the kernel without the compiler has no Cranelift symbols"
fi
undefined="$(nm -u "$kernel_aot")"
if [ -z "$undefined" ]; then
    pass "nm -u $kernel_aot: no undefined symbols"
else
    fail "nm -u $kernel_aot: undefined symbols:"
    echo "$undefined"
fi
for k in "$kernel" "$kernel_aot"; do
    # Code and data (text + data: what the image carries), the same plus
    # the zeroed bss (what it occupies loaded), and the file with symbols.
    read -r text data bss _ < <(size -B "$k" | awk 'NR == 2')
    echo "boot-test: image size of $(basename "$k"): text+data $((text + data)) bytes, loaded $((text + data + bss)) bytes, file $(stat -c %s "$k") bytes"
done

# --- The binary is freestanding -----------------------------------------
undefined="$(nm -u "$kernel")"
if [ -z "$undefined" ]; then
    pass "nm -u $kernel: no undefined symbols (no std, no libc)"
else
    fail "nm -u $kernel: undefined symbols:"
    echo "$undefined"
fi
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
    tr -d '\r' <"$work/$name.raw" >"$work/$name.log"
    echo "$status" >"$work/$name.status"
    echo "----- serial output ($name) -----"
    cat "$work/$name.log"
    if [ -s "$work/$name.stderr" ]; then
        echo "----- qemu stderr ($name) -----"
        cat "$work/$name.stderr"
    fi
    echo "----- end (QEMU exit status $status) -----"
}

# expect_in_order NAME PATTERN...: each extended regex must match a line
# of NAME's log, after the line the previous pattern matched. A pattern
# starting with "+" must match the very next line.
expect_in_order() {
    local name="$1"
    shift
    local -a lines
    mapfile -t lines <"$work/$name.log"
    local pos=0 pattern next i found
    for pattern in "$@"; do
        found=-1
        if [ "${pattern:0:1}" = "+" ]; then
            pattern="${pattern:1}"
            if [ "$pos" -lt "${#lines[@]}" ] && [[ "${lines[$pos]}" =~ $pattern ]]; then
                found=$pos
            fi
        else
            for ((i = pos; i < ${#lines[@]}; i++)); do
                if [[ "${lines[$i]}" =~ $pattern ]]; then
                    found=$i
                    break
                fi
            done
        fi
        if [ "$found" -ge 0 ]; then
            pass "$name: line $((found + 1)) matches /$pattern/"
            pos=$((found + 1))
        else
            fail "$name: no line matching /$pattern/ after line $pos"
        fi
    done
}

expect_status() {
    local name="$1" want="$2" got
    got="$(cat "$work/$name.status")"
    if [ "$got" = "$want" ]; then
        pass "$name: QEMU exit status $got"
    else
        fail "$name: QEMU exit status $got, expected $want"
    fi
}

# --- Normal boot: keel runs the guest --------------------------------------
# check_normal NAME: the guest's results, traps and guest control, in order.
check_normal() {
    expect_in_order "$1" \
        '^add\(2, 3\) = 5$' \
        '^fib\(20\) = 6765$' \
        '^sum\(1\.\.=100\) via memory = 5050$' \
        '^twice\(21\) via host call = 42$' \
        '^trap: MemoryOutOfBounds$' \
        '^backtrace:$' \
        '+^ +0: .*guest!poke$' \
        '+^ +1: .*guest!store_out_of_bounds$' \
        '^after trap: fib\(10\) = 55$' \
        '^div_u\(7, 0\): trap IntegerDivisionByZero$' \
        '^unreachable\(\): trap UnreachableCodeReached$' \
        '^recurse\(0\): trap StackOverflow$' \
        '^after traps: add\(40, 2\) = 42$' \
        '^catch_sum\(7\) = 1007$' \
        '^throw_uncaught\(5\): exception with payload 5$' \
        '^keep_through_garbage\(42, 10000\) = 42, [0-9]{1,4} exception objects left$' \
        '^spin\(\) with a deadline of 5 timer ticks: trap Interrupt after [0-9]+ ticks$' \
        '^wait_forever\(\) with a deadline of 5 timer ticks: trap Interrupt after [0-9]+ ticks$' \
        '^spin\(\) with 10000 fuel: trap OutOfFuel, fuel left 0$' \
        '^grow\(1\) within a 2-page budget = 1$' \
        '^grow\(1\) past a 2-page budget = -1$' \
        '^kernel: [1-9][0-9]* timer ticks, interrupts on: true$' \
        '^scheduler: 3 guests, round-robin, preempted by the timer.s epoch yield$' \
        '^guest 1: sleeping 30 ticks$' \
        '^guest 1: woke at tick [0-9]+$' \
        '^guest 1: step 3 at tick [0-9]+$' \
        '^scheduler: guest 0 finished: 6 in [1-9][0-9]* time slices$' \
        '+^scheduler: guest 1 finished: 6 in [1-9][0-9]* time slices$' \
        '+^scheduler: guest 2 finished: 6 in [1-9][0-9]* time slices$' \
        '+^scheduler: interleaved: true$' \
        '+^scheduler: while guest 1 slept, the others made [1-9][0-9]* steps$' \
        '+^scheduler: all 3 guests finished after [0-9]+ ticks$' \
        '^kernel: faults turned into keel traps: #DE 1, #UD 5, #PF 1$' \
        '^kernel: done$'
    expect_status "$1" 33
}
boot normal ""
check_normal normal

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
check_normal no-compiler

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
