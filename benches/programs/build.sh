#!/usr/bin/env bash
# Builds the "real programs" benchmarks (benches/benches/programs.rs) for
# wasm32-wasi (WASI preview 1) with clang -O2 and wasi-libc.
#
#   build.sh [--own | --third-party | --all | --native] [OUT_DIR]
#
#   --own          our programs (lz77, json, raytrace, kvstore) to X.wasm
#                  next to their sources; these .wasm files are committed
#   --third-party  the SQLite and zlib drivers to OUT_DIR/sqlite_bench.wasm
#                  and OUT_DIR/zlib_bench.wasm; built at build time from the
#                  crates' sources, never committed (benches/build.rs runs
#                  this mode through programs/build_programs.rs)
#   --all          both (the default)
#   --native       every program natively with gcc -O2 into OUT_DIR/native/,
#                  to compare the printed checksums with the wasm builds
#
# OUT_DIR is the argument, else $OUT_DIR, else programs/target (git-ignored).
#
# Third-party sources (neither is copied into this repository):
#   SQLITE_SRC  a directory with sqlite3.c and sqlite3.h: the amalgamation in
#               the libsqlite3-sys crate, <crate>/sqlite3
#   ZLIB_SRC    a directory with zlib's .c and .h files: <libz-sys crate>/src/zlib
# Unset, each is looked up in ${CARGO_HOME:-~/.cargo}/registry/src/*/ at the
# version benches/Cargo.lock pins (run `cargo fetch --manifest-path
# benches/Cargo.toml` first), else the newest version found there.
#
# Toolchain: Debian/Ubuntu packages clang, lld, wasi-libc and
# libclang-rt-14-dev-wasm32, installed with apt-get when missing unless
# KEEL_NO_INSTALL=1 (build scripts set it: they fail instead).  A wasi-sdk
# style sysroot in /usr/share/wasi-sysroot or $WASI_SYSROOT is used when
# present.  Other overrides: CC (default clang), NATIVE_CC (default gcc).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
benches="$(dirname "$here")"

mode=all
case "${1:-}" in
--own | --third-party | --all | --native)
    mode="${1#--}"
    shift
    ;;
-h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac
out="${1:-${OUT_DIR:-$here/target}}"

CC="${CC:-clang}"
NATIVE_CC="${NATIVE_CC:-gcc}"

own_programs=(lz77 json raytrace kvstore)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

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

# The version of crate $1 that benches/Cargo.lock pins, if any.
locked_version() {
    [[ -f "$benches/Cargo.lock" ]] || return 0
    awk -v name="$1" '
        $0 == "name = \"" name "\"" { found = 1; next }
        found && /^version = / { gsub(/"/, "", $3); print $3; exit }
        /^\[\[package\]\]/ { found = 0 }
    ' "$benches/Cargo.lock"
}

# Finds <registry>/<crate>-<version>/<subdir>, preferring the locked version.
find_crate_dir() {
    local crate="$1" subdir="$2" version registry dir
    registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
    version="$(locked_version "$crate")"
    if [[ -n "$version" ]]; then
        for dir in "$registry"/*/"$crate-$version"; do
            if [[ -d "$dir/$subdir" ]]; then
                echo "$dir/$subdir"
                return 0
            fi
        done
    fi
    dir="$(ls -d "$registry"/*/"$crate"-[0-9]* 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$dir" && -d "$dir/$subdir" ]]; then
        echo "$dir/$subdir"
        return 0
    fi
    return 1
}

ensure_toolchain() {
    if toolchain_ok; then
        return 0
    fi
    if [[ "${KEEL_NO_INSTALL:-}" == 1 ]]; then
        echo "build.sh: no working wasm32-wasi toolchain ($CC, wasi-libc, wasm-ld, compiler-rt)" >&2
        exit 1
    fi
    echo "build.sh: installing the wasm32-wasi toolchain" >&2
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        sudo=(sudo)
    fi
    ${sudo[@]+"${sudo[@]}"} apt-get update
    ${sudo[@]+"${sudo[@]}"} apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
}

# ---- flags ------------------------------------------------------------------

# Shared by every wasm build: a 1 MiB shadow stack (wasm-ld's default is
# 64 KiB, tight for SQLite), no DWARF (the "name" section stays, for
# backtraces), no build paths in the output.
link_flags=(-Wl,-z,stack-size=1048576 -Wl,--strip-debug)

own_flags=(-O2 -std=c11 -Wall -Wextra "-ffile-prefix-map=$here=.")

# SQLite 3.4x+ knows WASI itself (sqlite3.c defines SQLITE_WASI under
# __wasi__: no WAL, no shared-memory locking, no fchown, no mmap, and it
# already defaults to THREADSAFE=0 and OMIT_LOAD_EXTENSION there), so no
# _WASI_EMULATED_* libraries are needed.  TEMP_STORE=3 keeps temporary
# tables and sort spills in memory: its temp-directory search (/var/tmp,
# /usr/tmp, /tmp, .) finds nothing inside a WASI sandbox.
sqlite_flags=(
    -DSQLITE_THREADSAFE=0
    -DSQLITE_OMIT_LOAD_EXTENSION
    -DSQLITE_TEMP_STORE=3
    -DSQLITE_DEFAULT_MEMSTATUS=0
    -DSQLITE_OMIT_DEPRECATED
)

# zlib as libz-sys builds it (STDC, _LARGEFILE64_SOURCE), without the gz*
# file functions, which the driver does not use.
zlib_files=(adler32 compress crc32 deflate infback inffast inflate inftrees trees uncompr zutil)
zlib_flags=(-DSTDC -D_LARGEFILE64_SOURCE)

find_sources() {
    if [[ -z "${SQLITE_SRC:-}" ]]; then
        SQLITE_SRC="$(find_crate_dir libsqlite3-sys sqlite3)" || {
            echo "build.sh: SQLite sources not found: set SQLITE_SRC or run cargo fetch --manifest-path $benches/Cargo.toml" >&2
            exit 1
        }
    fi
    if [[ -z "${ZLIB_SRC:-}" ]]; then
        ZLIB_SRC="$(find_crate_dir libz-sys src/zlib)" || {
            echo "build.sh: zlib sources not found: set ZLIB_SRC or run cargo fetch --manifest-path $benches/Cargo.toml" >&2
            exit 1
        }
    fi
    [[ -f "$SQLITE_SRC/sqlite3.c" ]] || {
        echo "build.sh: no sqlite3.c in $SQLITE_SRC" >&2
        exit 1
    }
    [[ -f "$ZLIB_SRC/deflate.c" ]] || {
        echo "build.sh: no deflate.c in $ZLIB_SRC" >&2
        exit 1
    }
    echo "build.sh: SQLite from $SQLITE_SRC" >&2
    echo "build.sh: zlib from $ZLIB_SRC" >&2
}

# ---- builds -------------------------------------------------------------------

build_own() {
    local sysroot="$1" p
    for p in "${own_programs[@]}"; do
        "$CC" --target=wasm32-wasi ${sysroot:+"--sysroot=$sysroot"} "${own_flags[@]}" \
            "${link_flags[@]}" "$here/$p.c" -o "$here/$p.wasm"
        echo "build.sh: $p.wasm ($(stat -c %s "$here/$p.wasm") bytes)"
    done
}

build_third_party() {
    local sysroot="$1" obj="$tmp" f
    find_sources
    mkdir -p "$out"
    local wasm=(--target=wasm32-wasi ${sysroot:+"--sysroot=$sysroot"} -O2)

    # The drivers are ours: warnings on.  The libraries are not: warnings off.
    #
    # sqlite3.c takes about a minute to compile, so its object is kept in
    # OUT_DIR/cache and reused while the compiler, the flags and the source
    # path (registry sources never change in place) are the same.
    local cache="$out/cache" stamp
    stamp="$("$CC" --version | head -n 1) | ${wasm[*]} ${sqlite_flags[*]} | $SQLITE_SRC/sqlite3.c"
    mkdir -p "$cache"
    if [[ -f "$cache/sqlite3.o" && -f "$cache/sqlite3.stamp" &&
        "$(cat "$cache/sqlite3.stamp")" == "$stamp" &&
        ! "$SQLITE_SRC/sqlite3.c" -nt "$cache/sqlite3.o" ]]; then
        echo "build.sh: reusing $cache/sqlite3.o"
    else
        rm -f "$cache/sqlite3.o" "$cache/sqlite3.stamp"
        "$CC" "${wasm[@]}" -w "${sqlite_flags[@]}" -c "$SQLITE_SRC/sqlite3.c" -o "$obj/sqlite3.o"
        mv "$obj/sqlite3.o" "$cache/sqlite3.o"
        printf '%s\n' "$stamp" >"$cache/sqlite3.stamp"
    fi
    "$CC" "${wasm[@]}" -Wall -Wextra "${sqlite_flags[@]}" -I"$SQLITE_SRC" \
        "-ffile-prefix-map=$here=." -c "$here/sqlite_bench.c" -o "$obj/sqlite_bench.o"
    "$CC" "${wasm[@]}" "${link_flags[@]}" "$obj/sqlite_bench.o" "$cache/sqlite3.o" \
        -o "$out/sqlite_bench.wasm"
    echo "build.sh: $out/sqlite_bench.wasm ($(stat -c %s "$out/sqlite_bench.wasm") bytes)"

    local zobjs=()
    for f in "${zlib_files[@]}"; do
        "$CC" "${wasm[@]}" -w "${zlib_flags[@]}" -c "$ZLIB_SRC/$f.c" -o "$obj/z_$f.o"
        zobjs+=("$obj/z_$f.o")
    done
    "$CC" "${wasm[@]}" -Wall -Wextra "${zlib_flags[@]}" -I"$ZLIB_SRC" \
        "-ffile-prefix-map=$here=." "${link_flags[@]}" "$here/zlib_bench.c" "${zobjs[@]}" \
        -o "$out/zlib_bench.wasm"
    echo "build.sh: $out/zlib_bench.wasm ($(stat -c %s "$out/zlib_bench.wasm") bytes)"
}

# Native builds for checking the checksums.  -ffp-contract=off: no fused
# multiply-adds, so the doubles round as they do in wasm.
build_native() {
    local dst="$out/native" f
    find_sources
    mkdir -p "$dst"
    local native=(-O2 -ffp-contract=off)
    for p in "${own_programs[@]}"; do
        "$NATIVE_CC" "${native[@]}" -std=c11 -Wall -Wextra "$here/$p.c" -o "$dst/$p" -lm
    done
    "$NATIVE_CC" "${native[@]}" -w "${sqlite_flags[@]}" -I"$SQLITE_SRC" \
        "$here/sqlite_bench.c" "$SQLITE_SRC/sqlite3.c" -o "$dst/sqlite_bench" -lm
    local zsrcs=()
    for f in "${zlib_files[@]}"; do
        zsrcs+=("$ZLIB_SRC/$f.c")
    done
    "$NATIVE_CC" "${native[@]}" -w "${zlib_flags[@]}" -I"$ZLIB_SRC" \
        "$here/zlib_bench.c" "${zsrcs[@]}" -o "$dst/zlib_bench"
    echo "build.sh: native programs in $dst"
}

if [[ "$mode" == native ]]; then
    build_native
    exit 0
fi

ensure_toolchain
sysroot="$(find_sysroot)" || {
    echo "build.sh: no wasm32-wasi sysroot found" >&2
    exit 1
}
case "$mode" in
own) build_own "$sysroot" ;;
third-party) build_third_party "$sysroot" ;;
all)
    build_own "$sysroot"
    build_third_party "$sysroot"
    ;;
esac
