#!/usr/bin/env bash
# The wasm-c-api project's example programs (example/*.c), unchanged,
# compiled against keel's wasm.h with gcc and clang, linked with
# libkeel.a, run in a copy of their directory, and their standard output
# compared with tests/expected/NAME.out (checked by hand once).
#
# The examples are not kept in this repository: they come from the
# crates.io package wasmer-c-api 7.5.0, which carries the wasm-c-api
# repository (Apache-2.0) under tests/wasm-c-api; the package's SHA-256
# is checked.
#
# hostref.wasm is rebuilt from hostref.wat with keel_wat2wasm
# (tests/wat2wasm.c): the repository's is in a pre-standard encoding.
# The instance pointers trap and start print vary from run to run: a
# non-null one is compared as "<instance>".
#
# With --valgrind, each example (the gcc build) also runs under
# valgrind's memcheck, which must report no error and no leaked byte.
#
# Usage: crates/c-api/tests/run-examples.sh [--valgrind] [NAME...]
# (default: all 13).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
valgrind=0
if [[ ${1:-} == --valgrind ]]; then valgrind=1; shift; fi
examples=(hello callback reflect multi serialize global memory table threads finalize hostref start trap)
if [[ $# -gt 0 ]]; then examples=("$@"); fi

tools=(gcc clang curl)
if [[ $valgrind == 1 ]]; then tools+=(valgrind); fi
for tool in "${tools[@]}"; do
    if ! command -v "$tool" >/dev/null; then
        sudo=()
        if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
        ${sudo[@]+"${sudo[@]}"} apt-get update
        ${sudo[@]+"${sudo[@]}"} apt-get install -y "${tools[@]}"
        break
    fi
done

crate=wasmer-c-api-7.5.0
sha=22db29e4b6f26336b485f21e4746e3ef6f2ebc360bb7a118d3503a187b0bb4b2
cache="$root/target/c-api-examples"
mkdir -p "$cache"
if [[ ! -d "$cache/$crate" ]]; then
    curl -sSfL -o "$cache/$crate.crate" "https://static.crates.io/crates/wasmer-c-api/$crate.crate"
    echo "$sha  $cache/$crate.crate" | sha256sum -c --quiet
    tar xzf "$cache/$crate.crate" -C "$cache" "$crate/tests/wasm-c-api"
fi
source="$cache/$crate/tests/wasm-c-api/example"

(cd "$root" && cargo build --release -p keel-c-api)
lib="$root/target/release/libkeel.a"
include="$root/crates/c-api/include"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gcc -std=gnu11 -Wall -Wextra -Werror -O1 -I"$include" "$here/wat2wasm.c" "$lib" -lpthread -ldl -lm -o "$work/wat2wasm"
failed=0
for name in "${examples[@]}"; do
    for cc in gcc clang; do
        dir="$work/$cc-$name"
        mkdir -p "$dir"
        cp "$source/$name.c" "$dir/"
        if [[ $name == hostref ]]; then
            "$work/wat2wasm" "$source/$name.wat" "$dir/$name.wasm"
        else
            cp "$source/$name.wasm" "$dir/"
        fi
        "$cc" -std=gnu11 -O1 -I"$include" "$dir/$name.c" "$lib" -lpthread -ldl -lm -o "$dir/$name"
        if ! (cd "$dir" && ./"$name" > out.txt 2> err.txt); then
            echo "FAIL $name ($cc): exit status $?"; cat "$dir/out.txt" "$dir/err.txt"; failed=1; continue
        fi
        # Threads print in the order they run: compare sorted lines.
        if [[ $name == threads ]]; then sort -o "$dir/out.txt" "$dir/out.txt"; fi
        sed -i -E 's/^> 0x[0-9a-f]+ @ /> <instance> @ /' "$dir/out.txt"
        expected="$here/expected/$name.out"
        if [[ ! -f "$expected" ]]; then
            echo "NEW  $name ($cc): no expected output yet; it printed:"; cat "$dir/out.txt"; failed=1
        elif ! diff -u "$expected" "$dir/out.txt"; then
            echo "FAIL $name ($cc): output differs"; failed=1
        else
            echo "ok   $name ($cc)"
        fi
        if [[ $valgrind == 1 && $cc == gcc ]]; then
            if (cd "$dir" && valgrind -q --error-exitcode=99 --leak-check=full \
                    --show-leak-kinds=definite,indirect,possible \
                    --errors-for-leak-kinds=definite,indirect,possible \
                    --suppressions="$here/valgrind.supp" ./"$name" > /dev/null 2> valgrind.txt); then
                echo "ok   $name (valgrind: no errors, no leaks)"
            else
                echo "FAIL $name (valgrind)"; cat "$dir/valgrind.txt"; failed=1
            fi
        fi
    done
done
exit $failed
