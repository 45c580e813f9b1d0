# Shared by the kernels' boot tests (examples/kernel-*/boot-test.sh), which
# source this file after setting `work` (a scratch directory): counting
# checks, reading a boot's serial log, and the checks every kernel's normal
# boot must pass, whatever its architecture.

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

# show_boot NAME STATUS: NAME's log from $work/NAME.raw (carriage returns
# removed) into $work/NAME.log, STATUS into $work/NAME.status, and both
# printed.
show_boot() {
    local name="$1" status="$2"
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
    local pos=0 pattern i found
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

# expect_status NAME STATUS: QEMU ended NAME's boot with STATUS.
expect_status() {
    local name="$1" want="$2" got
    got="$(cat "$work/$name.status")"
    if [ "$got" = "$want" ]; then
        pass "$name: QEMU exit status $got"
    else
        fail "$name: QEMU exit status $got, expected $want"
    fi
}

# check_guests NAME FAULTS: the normal boot's guest results, traps, guest
# control and scheduler, in order, then the kernel's line FAULTS (a regex:
# which hardware faults became keel traps, named as the architecture
# names them) and "kernel: done".
check_guests() {
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
        '^gc: list of 1000 structs, sum 500500, heap [0-9]+ bytes; dropped: heap [0-9]+ bytes$' \
        '^lazy: (compiled [1-9][0-9]* functions at their first call|none, the guest is precompiled)$' \
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
        "$2" \
        '^kernel: done$'
}

# image_sizes KERNEL...: each image's code and data (text + data: what
# the image carries), the same plus the zeroed bss (what it occupies
# loaded), and the file with symbols.
image_sizes() {
    local k text data bss
    for k in "$@"; do
        read -r text data bss _ < <(size -B "$k" | awk 'NR == 2')
        echo "boot-test: image size of $(basename "$k"): text+data $((text + data)) bytes, loaded $((text + data + bss)) bytes, file $(stat -c %s "$k") bytes"
    done
}

# build_kernels BUILT: builds the kernel (release) without the compiler,
# then with it, with $cargo in the current directory, copying the binary
# at BUILT to $kernel_aot and $kernel; then checks that the first has no
# Cranelift symbols and that neither has an undefined symbol (no std, no
# libc), and prints both image sizes.
build_kernels() {
    local built="$1" k undefined
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
    for k in "$kernel" "$kernel_aot"; do
        undefined="$(nm -u "$k")"
        if [ -z "$undefined" ]; then
            pass "nm -u $(basename "$k"): no undefined symbols (no std, no libc)"
        else
            fail "nm -u $(basename "$k"): undefined symbols:"
            echo "$undefined"
        fi
    done
    image_sizes "$kernel" "$kernel_aot"
}
