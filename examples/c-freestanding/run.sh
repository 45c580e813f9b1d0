#!/usr/bin/env bash
# Builds the freestanding libkeel.a (keel-c-api without std) twice, with
# the compiler and without it, and main.c against each with
# -ffreestanding -nostdlib -static: the first JIT-compiles the guest
# (guest.wat -> guest.wasm with the hosted library's keel_wat2wasm), the
# second loads the artifact precompile.c made of it with the hosted
# library. Runs both, checks what they print, and reports the libraries'
# sizes (stripped of debug information). x86_64 Linux.
#
# Usage: examples/c-freestanding/run.sh   (main.c is built with gcc and
# with clang; CC=gcc or CC=clang for one of them)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
compilers=(${CC:-gcc clang})
include="$root/crates/c-api/include"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
# Both forms share target/freestanding: copy each out after its build.
cargo build --profile freestanding -p keel-c-api --no-default-features --features compiler
cp target/freestanding/libkeel.a "$work/libkeel-jit.a"
cargo build --profile freestanding -p keel-c-api --no-default-features
cp target/freestanding/libkeel.a "$work/libkeel-aot.a"
cargo build --release -p keel-c-api
for tool in crates/c-api/tests/wat2wasm.c "$here/precompile.c"; do
    gcc -std=gnu11 -O1 -I"$include" "$tool" target/release/libkeel.a -lpthread -ldl -lm \
        -o "$work/$(basename "$tool" .c)"
done
"$work/wat2wasm" "$here/guest.wat" "$work/guest.wasm"
"$work/precompile" "$work/guest.wasm" "$work/guest.cwasm"

expected="fib(25) = 75025
unreachable: wasm trap: unreachable
load at 0xfffffff8: wasm trap: out of bounds memory access
1 / 0: wasm trap: integer divide by zero
fib(10) = 55
done"

# NAME LIBRARY [CFLAGS...]: build main.c with no C library, no start
# files, no default libraries (libkeel.a's compiler_builtins provide the
# compiler's helpers), run it, compare its output.
check() {
    local name=$1 lib=$2
    shift 2
    (cd "$work" && "$cc" -std=gnu11 -O2 -Wall -Wextra -Werror -DNDEBUG -ffreestanding -fno-builtin \
        -fno-stack-protector -fno-pie -I"$include" "$@" -c "$here/main.c" -o "$work/$name.o")
    "$cc" -static -nostdlib -no-pie -Wl,--gc-sections "$work/$name.o" "$lib" -o "$work/$name"
    if readelf -lW "$work/$name" | grep -q INTERP; then
        echo "FAIL: $name has an interpreter"; exit 1
    fi
    if ! "$work/$name" > "$work/$name.txt"; then
        echo "FAIL: $name failed:"; cat "$work/$name.txt"; exit 1
    fi
    if ! diff -u <(echo "$expected") "$work/$name.txt"; then
        echo "FAIL: $name printed something else"; exit 1
    fi
}
for cc in "${compilers[@]}"; do
    check jit "$work/libkeel-jit.a"
    echo "ok   freestanding example ($cc, with the compiler): JIT-compiled and ran the guest; three traps through its own signal handlers"
    check aot "$work/libkeel-aot.a" -DKEEL_FROM_ARTIFACT
    echo "ok   freestanding example ($cc, without the compiler): loaded the precompiled guest and ran it; three traps"
done

for form in jit aot; do
    strip --strip-debug -o "$work/stripped.a" "$work/libkeel-$form.a"
    strip -o "$work/program" "$work/$form"
    echo "size libkeel.a freestanding, $form: $(stat -c %s "$work/libkeel-$form.a") bytes, $(stat -c %s "$work/stripped.a") stripped of debug info; the example program linked with it (--gc-sections), stripped: $(stat -c %s "$work/program") bytes"
done
