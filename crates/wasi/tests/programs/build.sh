#!/usr/bin/env bash
# Builds every X.c in this directory to X.wasm (wasm32-wasi, WASI preview 1)
# next to it.  The .wasm files are committed; rebuild them with this script
# after editing a program and commit the result.
#
# Toolchain: Debian/Ubuntu packages clang, lld, wasi-libc and
# libclang-rt-14-dev-wasm32 (installed on demand).  Debian's wasi-libc puts its
# sysroot in the multiarch locations /usr/include/wasm32-wasi and
# /usr/lib/wasm32-wasi, which Debian's clang searches by default; a wasi-sdk
# style sysroot in /usr/share/wasi-sysroot (or $WASI_SYSROOT) is used through
# --sysroot when present.  The committed binaries were built with Debian 12's
# clang 14.0.6 and wasi-libc 0.0~git20220510.9886d3d-2; a different toolchain
# produces different (but equivalent) bytes.
#
# Environment overrides: CC (default clang), WASI_SYSROOT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

CC="${CC:-clang}"

find_sysroot() {
    if [[ -n "${WASI_SYSROOT:-}" ]]; then
        echo "$WASI_SYSROOT"
    elif [[ -f /usr/share/wasi-sysroot/lib/wasm32-wasi/libc.a ]]; then
        echo /usr/share/wasi-sysroot
    elif [[ -f /usr/lib/wasm32-wasi/libc.a ]]; then
        echo "" # Debian multiarch layout: clang's defaults find it
    else
        return 1
    fi
}

# Can we compile and link a trivial program (compiler, sysroot, wasm-ld and
# the wasm32 compiler-rt builtins all present)?
toolchain_ok() {
    command -v "$CC" >/dev/null 2>&1 || return 1
    local sysroot tmp status
    sysroot="$(find_sysroot)" || return 1
    tmp="$(mktemp -d)"
    printf 'int main(void) { return 0; }\n' >"$tmp/t.c"
    status=0
    "$CC" --target=wasm32-wasi ${sysroot:+"--sysroot=$sysroot"} -O2 "$tmp/t.c" \
        -o "$tmp/t.wasm" >/dev/null 2>&1 || status=1
    rm -rf "$tmp"
    return "$status"
}

if ! toolchain_ok; then
    echo "build.sh: installing the wasm32-wasi toolchain" >&2
    sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        sudo=(sudo)
    fi
    ${sudo[@]+"${sudo[@]}"} apt-get update
    ${sudo[@]+"${sudo[@]}"} apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
fi

sysroot="$(find_sysroot)" || {
    echo "build.sh: no wasm32-wasi sysroot found" >&2
    exit 1
}

flags=(
    --target=wasm32-wasi
    -O2
    -std=c11
    -Wall
    -Wextra
    # reproducibility: no build paths in the output, and drop the DWARF that
    # wasi-libc's archive members carry (the "name" section is kept for
    # readable backtraces)
    "-ffile-prefix-map=$here=."
    -Wl,--strip-debug
)
if [[ -n "$sysroot" ]]; then
    flags+=("--sysroot=$sysroot")
fi

shopt -s nullglob
sources=(*.c)
if [[ ${#sources[@]} -eq 0 ]]; then
    echo "build.sh: no .c files in $here" >&2
    exit 1
fi

for src in "${sources[@]}"; do
    out="${src%.c}.wasm"
    echo "build.sh: $src -> $out"
    "$CC" "${flags[@]}" "$src" -o "$out"
done
