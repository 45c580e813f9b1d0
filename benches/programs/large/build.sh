#!/usr/bin/env bash
# Build benches/programs/large/python.wasm: CPython 3.11.2 for wasm32-wasi
# (WASI preview 1), statically linked with zlib, bzip2, liblzma and SQLite, and
# with the `encodings` package frozen in so that the module runs with no
# standard library on disk.  See README.md next to this script.
#
# All third-party sources come from Debian bookworm source packages
# (`apt-get source`, pristine upstream *.orig tarballs, checked against the
# SHA-256 sums below) and are unpacked and built in a scratch directory outside
# the repository ($KEEL_LARGE_BUILD_DIR, default /tmp/keel-large-build).  Only
# this script, sqlite_wasi_compat.h, README.md and the resulting python.wasm
# live in the repository.
#
# Usage: benches/programs/large/build.sh [--clean]
#   --clean   wipe the scratch directory first (downloads are kept)
# Env:   KEEL_LARGE_BUILD_DIR (scratch dir), JOBS (make -j, default: nproc)
#
# Idempotent: every stage leaves a stamp file in the scratch directory and is
# skipped when its stamp is present; re-running after a successful build only
# re-copies python.wasm.  Needs: Debian bookworm, root for apt-get (only used
# when something is missing).  Does not use cargo.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${KEEL_LARGE_BUILD_DIR:-/tmp/keel-large-build}"
JOBS="${JOBS:-$(nproc)}"
OUT="$HERE/python.wasm"

SRC="$WORK/src"          # downloaded Debian source packages
SYSROOT="$WORK/sysroot"  # wasi-libc only (keeps host /usr/include out)
PREFIX="$WORK/prefix"    # wasm32-wasi builds of the C libraries
STAMPS="$WORK/stamps"

# Recipe version: bump to force a rebuild of everything after changing flags.
RECIPE=1

# package  debian-source-name  orig-tarball  sha256
PKGS=(
  "python  python3.11 python3.11_3.11.2.orig.tar.gz   2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849"
  "zlib    zlib       zlib_1.2.13.dfsg.orig.tar.bz2    71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
  "bzip2   bzip2      bzip2_1.0.8.orig.tar.gz          ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269"
  "xz      xz-utils   xz-utils_5.4.1.orig.tar.xz       5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5"
  "sqlite  sqlite3    sqlite3_3.40.1.orig.tar.xz       aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655"
  "openssl openssl    openssl_3.0.17.orig.tar.gz       dfdd77e4ea1b57ff3a6dbde6b0bdc3f31db5ac99e7fdd4eaf9e1fbb6ec2db8ce"
)

log() { printf '\n=== %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }
stamp() { [ -e "$STAMPS/$1.$RECIPE" ]; }
done_stamp() { mkdir -p "$STAMPS"; touch "$STAMPS/$1.$RECIPE"; }

if [ "${1:-}" = "--clean" ]; then
  log "cleaning $WORK (keeping $SRC)"
  find "$WORK" -mindepth 1 -maxdepth 1 ! -name src -exec rm -rf {} +
fi
mkdir -p "$SRC" "$PREFIX/include" "$PREFIX/lib/pkgconfig" "$STAMPS"

# ---------------------------------------------------------------- host tools
need_pkgs=()
command -v clang >/dev/null            || need_pkgs+=(clang)
command -v wasm-ld >/dev/null          || need_pkgs+=(lld)
command -v llvm-ar >/dev/null          || need_pkgs+=(llvm)
command -v llvm-objcopy >/dev/null     || need_pkgs+=(llvm)
[ -e /usr/lib/wasm32-wasi/libc.a ]     || need_pkgs+=(wasi-libc)
compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null \
                                       || need_pkgs+=(libclang-rt-14-dev-wasm32)
[ -x /usr/bin/python3.11 ]             || need_pkgs+=(python3.11)
command -v tclsh >/dev/null            || need_pkgs+=(tcl)
command -v pkg-config >/dev/null       || need_pkgs+=(pkgconf)
command -v gcc >/dev/null              || need_pkgs+=(gcc)
command -v make >/dev/null             || need_pkgs+=(make)
command -v dpkg-source >/dev/null      || need_pkgs+=(dpkg-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing host packages: ${need_pkgs[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}"
fi

# The build ("host" in autoconf speak: this machine) Python must be the same
# 3.11 line as the source: it compiles the frozen modules' byte code.
# Debian's own /usr/bin/python3.11 (3.11.2), not whatever pyenv puts first.
BUILD_PYTHON=/usr/bin/python3.11
"$BUILD_PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || die "$BUILD_PYTHON is not Python 3.11"
# llvm-ranlib may only exist with a version suffix.
RANLIB="$(command -v llvm-ranlib || command -v llvm-ranlib-14 || true)"
[ -n "$RANLIB" ] || die "llvm-ranlib not found"

# ------------------------------------------------------------------ sources
ensure_deb_src() {
  if [ -z "$(apt-cache showsrc python3.11 2>/dev/null | head -1)" ]; then
    log "adding deb-src entries for bookworm (/etc/apt/sources.list.d/keel-deb-src.sources)"
    cat > /etc/apt/sources.list.d/keel-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update
  fi
}

fetch() { # debian-source-name orig-tarball sha256
  local name="$1" file="$2" sum="$3" ver
  if [ -e "$SRC/$file" ] && echo "$sum  $SRC/$file" | sha256sum -c --quiet - 2>/dev/null; then
    return
  fi
  ensure_deb_src
  # Try the versions apt knows about, newest first: a security-suite index can
  # name a version whose files are gone from the mirror.
  local up="${file#*_}"; up="${up%%.orig*}"   # upstream version, e.g. 3.11.2
  for ver in $(apt-cache showsrc "$name" | awk '/^Version:/ {print $2}' | sort -ruV); do
    case "${ver#*:}" in "$up"-*) ;; *) continue ;; esac
    log "apt-get source --download-only $name=$ver"
    if (cd "$SRC" && apt-get source --download-only "$name=$ver") && [ -e "$SRC/$file" ]; then
      break
    fi
  done
  [ -e "$SRC/$file" ] || die "could not download $file"
  echo "$sum  $SRC/$file" | sha256sum -c --quiet - || die "checksum mismatch for $file"
}

for entry in "${PKGS[@]}"; do
  # shellcheck disable=SC2086
  set -- $entry
  fetch "$2" "$3" "$4"
done

unpack() { # tarball dir
  rm -rf "${WORK:?}/$2"
  tar -C "$WORK" -xf "$SRC/$1"
  [ -d "$WORK/$2" ] || die "$1 did not unpack to $2"
}

# --------------------------------------------------------------- toolchain
# A private sysroot holding only wasi-libc: Debian's clang otherwise also
# searches /usr/include, where configure scripts find the *host* zlib etc.
mkdir -p "$SYSROOT/include" "$SYSROOT/lib"
ln -sfn /usr/include/wasm32-wasi "$SYSROOT/include/wasm32-wasi"
ln -sfn /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"

export CC="clang --target=wasm32-wasi --sysroot=$SYSROOT"
export CPP="$CC -E"
export AR=llvm-ar
export RANLIB
export PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR=
OPTFLAGS="-O2"

write_pc() { # name version lib
  cat > "$PREFIX/lib/pkgconfig/$1.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include
Name: $1
Description: $1 (wasm32-wasi build for keel's benchmark)
Version: $2
Libs: -L\${libdir} -l$3
Cflags: -I\${includedir}
EOF
}

# -------------------------------------------------------------------- zlib
if ! stamp zlib; then
  log "zlib 1.2.13"
  unpack zlib_1.2.13.dfsg.orig.tar.bz2 zlib-1.2.13.dfsg
  (cd "$WORK/zlib-1.2.13.dfsg" \
    && CFLAGS="$OPTFLAGS" ./configure --static --prefix="$PREFIX" \
    && make -j"$JOBS" libz.a && make install)
  done_stamp zlib
fi

# ------------------------------------------------------------------- bzip2
if ! stamp bzip2; then
  log "bzip2 1.0.8"
  unpack bzip2_1.0.8.orig.tar.gz bzip2-1.0.8
  (cd "$WORK/bzip2-1.0.8" \
    && make -j"$JOBS" libbz2.a CC="$CC" AR="$AR" RANLIB="$RANLIB" \
         CFLAGS="$OPTFLAGS -D_FILE_OFFSET_BITS=64" \
    && cp bzlib.h "$PREFIX/include/" && cp libbz2.a "$PREFIX/lib/")
  write_pc bzip2 1.0.8 bz2
  done_stamp bzip2
fi

# ----------------------------------------------------------------- liblzma
if ! stamp xz; then
  log "xz-utils 5.4.1 (liblzma only)"
  unpack xz-utils_5.4.1.orig.tar.xz xz-5.4.1
  # WASI has no sigset_t/sigprocmask; liblzma itself never uses the helper.
  sed -i 's|^#if !(defined(_WIN32) \&\& !defined(__CYGWIN__))$|& \&\& !defined(__wasi__)|' \
    "$WORK/xz-5.4.1/src/common/mythread.h"
  grep -q '!defined(__wasi__)' "$WORK/xz-5.4.1/src/common/mythread.h" || die "xz patch did not apply"
  (cd "$WORK/xz-5.4.1" \
    && CFLAGS="$OPTFLAGS" ./configure --host=wasm32-unknown-wasi --build="$(gcc -dumpmachine)" \
         --prefix="$PREFIX" --enable-static --disable-shared --disable-threads \
         --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo \
         --disable-lzma-links --disable-scripts --disable-doc --disable-nls \
    && make -j"$JOBS" -C src/liblzma && make -C src/liblzma install)
  done_stamp xz
fi

# ------------------------------------------------------------------ SQLite
if ! stamp sqlite; then
  log "SQLite 3.40.1 (amalgamation)"
  unpack sqlite3_3.40.1.orig.tar.xz sqlite3-3.40.1
  # The amalgamation is generated from the canonical sources with the host
  # compiler and tclsh, then compiled for wasm32-wasi.
  mkdir -p "$WORK/sqlite3-3.40.1/bld"
  (cd "$WORK/sqlite3-3.40.1/bld" \
    && env -u CC -u CPP -u AR -u RANLIB CC=gcc ../configure --disable-tcl \
    && env -u CC -u CPP -u AR -u RANLIB make sqlite3.c \
    && $CC $OPTFLAGS -c sqlite3.c -o sqlite3.o \
         -include "$HERE/sqlite_wasi_compat.h" \
         -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL \
         -DSQLITE_MAX_MMAP_SIZE=0 -D_WASI_EMULATED_GETPID \
    && rm -f "$PREFIX/lib/libsqlite3.a" && $AR rcs "$PREFIX/lib/libsqlite3.a" sqlite3.o \
    && cp sqlite3.h ../src/sqlite3ext.h "$PREFIX/include/")
  write_pc sqlite3 3.40.1 sqlite3
  done_stamp sqlite
fi

# ----------------------------------------------------------------- OpenSSL
# libcrypto for the _hashlib module.  libssl is built too, only because
# CPython's configure test links against it; the _ssl module itself is left
# out (WASI preview 1 has no sockets to put TLS on).
if ! stamp openssl; then
  log "OpenSSL 3.0.17 (libcrypto, libssl)"
  unpack openssl_3.0.17.orig.tar.gz openssl-3.0.17
  # WASI has no user ids: report "not set-uid", as on Windows/VxWorks/UEFI.
  sed -i 's/^#if defined(OPENSSL_SYS_WIN32) || defined(OPENSSL_SYS_VXWORKS) || defined(OPENSSL_SYS_UEFI)$/& || defined(__wasi__)/' \
    "$WORK/openssl-3.0.17/crypto/uid.c"
  grep -q 'defined(__wasi__)' "$WORK/openssl-3.0.17/crypto/uid.c" || die "OpenSSL uid.c patch did not apply"
  (cd "$WORK/openssl-3.0.17" \
    && CFLAGS="$OPTFLAGS" ./Configure linux-generic32 \
         no-asm no-async no-egd no-ktls no-module no-secure-memory no-shared \
         no-sock no-dso no-threads no-ui-console no-tests no-afalgeng \
         no-devcryptoeng no-engine -DNO_SYSLOG \
         -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS \
         -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID \
         --prefix="$PREFIX" --libdir=lib --openssldir=/etc/ssl \
    && make -j"$JOBS" build_generated && make -j"$JOBS" libcrypto.a libssl.a \
    && make install_dev)
  done_stamp openssl
fi

# ------------------------------------------------------------------ CPython
PYSRC="$WORK/Python-3.11.2"
PYBLD="$PYSRC/builddir/wasi"
if ! stamp python; then
  log "CPython 3.11.2"
  unpack python3.11_3.11.2.orig.tar.gz Python-3.11.2
  # _hashlib insists on a thread-safe OpenSSL; a WASI preview 1 CPython has no
  # threads at all, so a no-threads libcrypto is fine there.
  sed -i 's/^#ifndef OPENSSL_THREADS$/#if !defined(OPENSSL_THREADS) \&\& !defined(__wasi__)/' \
    "$PYSRC/Modules/_hashopenssl.c"
  grep -q '^#if !defined(OPENSSL_THREADS) && !defined(__wasi__)$' "$PYSRC/Modules/_hashopenssl.c" \
    || die "_hashopenssl.c patch did not apply"
  # Freeze (and deep-freeze) the `encodings` package -- upstream leaves it
  # commented out only to keep build output short -- and the pure-Python
  # stdlib modules that the benchmark's short run imports, so the module
  # starts and runs with no Lib/ directory on disk.  The rest of the stdlib
  # is not included; mount a Lib/ for anything else.
  "$BUILD_PYTHON" - "$PYSRC/Tools/scripts/freeze_modules.py" <<'EOF'
import sys
path = sys.argv[1]
src = open(path).read()
old = "        #'<encodings.*>',\n"
assert old in src, "encodings line not found"
src = src.replace(old, "        '<encodings.*>',\n", 1)
anchor = "    (TESTS_SECTION, ["
assert anchor in src, "TESTS_SECTION not found"
extra = """    ('keel benchmark: stdlib modules used by the short run', [
        'functools', '<collections.*>', 'keyword', 'operator', 'reprlib',
        'heapq', 'types', 'copyreg', 'numbers', 'weakref', '_weakrefset',
        'copy', 'enum', '<re.*>', 'warnings', 'contextlib', 'struct',
        'base64', 'datetime', 'decimal', '<json.*>', '<sqlite3.*>',
        'hashlib', 'hmac',
        ]),
"""
src = src.replace(anchor, extra + anchor, 1)
open(path, "w").write(src)
EOF
  # deepfreeze.py bug in 3.11.2: its table of static strings is keyed by the
  # C literal text as written (not unescaped), so the 2-character constant
  # r"\n" was replaced by the static newline string (breaking re's escape
  # tables once `re` is frozen).  Never share a static string for text that
  # contains a backslash.
  "$BUILD_PYTHON" - "$PYSRC/Tools/scripts/deepfreeze.py" <<'EOF'
import sys
path = sys.argv[1]
src = open(path).read()
old = "        if s in strings:\n"
assert src.count(old) == 1, "deepfreeze.py: strings lookup not found"
src = src.replace(old, "        if s in strings and '\\\\' not in s:\n", 1)
open(path, "w").write(src)
EOF
  (cd "$PYSRC" && "$BUILD_PYTHON" Tools/scripts/freeze_modules.py)
  mkdir -p "$PYBLD"
  # Upstream's WASI recipe (Tools/wasm/): config.site-wasm32-wasi; configure
  # itself adds -D_WASI_EMULATED_{SIGNAL,GETPID,PROCESS_CLOCKS}, the
  # matching -lwasi-emulated-* libraries and a 512 KiB stack.  OPT replaces
  # upstream's default "-g -O3" with -O2 and no debug info.
  (cd "$PYBLD" \
    && CONFIG_SITE=../../Tools/wasm/config.site-wasm32-wasi \
       OPT="-DNDEBUG -fwrapv $OPTFLAGS -Wall" \
       ac_cv_working_openssl_ssl=no \
       ../../configure -C --host=wasm32-unknown-wasi --build="$(gcc -dumpmachine)" \
         --with-build-python="$BUILD_PYTHON" --with-openssl="$PREFIX" \
    && make -j"$JOBS")
  for mod in zlib _bz2 _lzma _sqlite3 _decimal pyexpat _hashlib; do
    grep -q "^MODULE_$(echo "$mod" | tr '[:lower:]' '[:upper:]')_STATE=yes" "$PYBLD/Makefile" \
      || die "module $mod was not configured"
  done
  done_stamp python
fi

[ -s "$PYBLD/python.wasm" ] || die "$PYBLD/python.wasm missing"
# Drop the DWARF that comes with Debian's wasi-libc objects (~0.5 MB); the
# `name` section stays, so traps and profiles still show function names.
llvm-objcopy --strip-debug "$PYBLD/python.wasm" "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
log "wrote $OUT ($(stat -c %s "$OUT") bytes)"
