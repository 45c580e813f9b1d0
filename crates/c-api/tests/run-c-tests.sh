#!/usr/bin/env bash
# keel's own C tests of the C API (tests/c/*.c, each a program that exits
# 0 when every check holds), compiled with gcc and clang with warnings as
# errors against libkeel.a; then the header/library symbol check
# (check-symbols.sh).
#
# With --valgrind, each test (the gcc build) also runs under valgrind's
# memcheck, which must report no error and no leaked byte.
#
# Usage: crates/c-api/tests/run-c-tests.sh [--valgrind] [NAME...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
valgrind=0
if [[ ${1:-} == --valgrind ]]; then valgrind=1; shift; fi
tests=()
for f in "$here"/c/*.c; do tests+=("$(basename "$f" .c)"); done
if [[ $# -gt 0 ]]; then tests=("$@"); fi

(cd "$root" && cargo build --release -p keel-c-api)
lib="$root/target/release/libkeel.a"
include="$root/crates/c-api/include"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
for name in "${tests[@]}"; do
    for cc in gcc clang; do
        exe="$work/$cc-$name"
        "$cc" -std=gnu11 -Wall -Wextra -Werror -O1 -I"$include" "$here/c/$name.c" "$lib" -lpthread -ldl -lm -o "$exe"
        if (cd "$work" && "$exe" > "$exe.out" 2>&1); then
            echo "ok   $name ($cc)"
        else
            echo "FAIL $name ($cc)"; cat "$exe.out"; failed=1
        fi
        if [[ $valgrind == 1 && $cc == gcc ]]; then
            if (cd "$work" && valgrind -q --error-exitcode=99 --leak-check=full \
                    --show-leak-kinds=definite,indirect,possible \
                    --errors-for-leak-kinds=definite,indirect,possible \
                    --suppressions="$here/valgrind.supp" "$exe" > /dev/null 2> "$exe.valgrind"); then
                echo "ok   $name (valgrind: no errors, no leaks)"
            else
                echo "FAIL $name (valgrind)"; cat "$exe.valgrind"; failed=1
            fi
        fi
    done
done
"$here/check-symbols.sh" || failed=1
exit $failed
