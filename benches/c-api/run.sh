#!/usr/bin/env bash
# Call overhead through wasm.h: keel's libkeel.so (release) against
# Wasmtime's C library from the PyPI wheel `wasmtime` (its
# wasmtime/linux-x86_64/_libwasmtime.so links with the standard wasm.h),
# in one criterion run. Extra arguments go to criterion (e.g. a filter).
#
# Usage: benches/c-api/run.sh [WASMTIME_WHEEL_VERSION] [-- CRITERION ARGS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="${1:-51.0.0}"
peer="$root/benches/target/wasmtime-c-api/$version"
if [[ ! -f "$peer/wasmtime/linux-x86_64/_libwasmtime.so" ]]; then
    mkdir -p "$peer"
    (cd "$peer" && pip download --no-deps "wasmtime==$version" \
        && python3 -c "import glob, zipfile; zipfile.ZipFile(glob.glob('wasmtime-*.whl')[0]).extract('wasmtime/linux-x86_64/_libwasmtime.so', '.')")
fi
(cd "$root" && cargo build --release -p keel-c-api)
shift || true
if [[ ${1:-} == -- ]]; then shift; fi
cd "$here"
C_API_LIBS="keel=$root/target/release/libkeel.so,wasmtime-$version=$peer/wasmtime/linux-x86_64/_libwasmtime.so" \
    cargo bench --bench call_overhead -- "$@"
