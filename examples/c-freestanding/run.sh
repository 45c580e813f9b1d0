#!/usr/bin/env bash
# Builds the freestanding libkeel.a (keel-c-api without std, with the
# compiler), the guest (guest.wat -> guest.wasm, with the hosted
# library's keel_wat2wasm through crates/c-api/tests/wat2wasm.c), and
# main.c with -ffreestanding -nostdlib -static, then runs it and checks
# what it prints. x86_64 Linux.
#
# Usage: examples/c-freestanding/run.sh   (from anywhere; CC=clang to use
# clang instead of gcc)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cc="${CC:-gcc}"
include="$root/crates/c-api/include"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
cargo build --profile freestanding -p keel-c-api --no-default-features --features compiler
cargo build --release -p keel-c-api
gcc -std=gnu11 -O1 -I"$include" crates/c-api/tests/wat2wasm.c target/release/libkeel.a \
    -lpthread -ldl -lm -o "$work/wat2wasm"
"$work/wat2wasm" "$here/guest.wat" "$work/guest.wasm"

# No C library, no start files, no default libraries: only main.c and
# libkeel.a (whose compiler_builtins provide the compiler's helpers).
(cd "$work" && "$cc" -std=gnu11 -O2 -Wall -Wextra -Werror -DNDEBUG -ffreestanding -fno-builtin \
    -fno-stack-protector -fno-pie -I"$include" -c "$here/main.c" -o "$work/main.o")
"$cc" -static -nostdlib -no-pie "$work/main.o" "$root/target/freestanding/libkeel.a" -o "$work/main"

# Linked without any shared library or interpreter.
if readelf -lW "$work/main" | grep -q INTERP; then
    echo "FAIL: the program has an interpreter"; exit 1
fi
if nm "$work/main" | grep -qE ' (U|w) (malloc|free|printf|__libc_start_main)$'; then
    echo "FAIL: the program refers to the C library"; exit 1
fi

if ! "$work/main" > "$work/out.txt"; then
    echo "FAIL: the freestanding example failed:"; cat "$work/out.txt"; exit 1
fi
expected="fib(25) = 75025
unreachable: wasm trap: unreachable
load at 0xfffffff8: wasm trap: out of bounds memory access
1 / 0: wasm trap: integer divide by zero
fib(10) = 55
done"
if ! diff -u <(echo "$expected") "$work/out.txt"; then
    echo "FAIL: the freestanding example printed something else"; exit 1
fi
echo "ok   freestanding example ($cc): JIT-compiled and ran the guest, three traps delivered through its own signal handlers"
