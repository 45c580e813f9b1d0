#!/usr/bin/env bash
# Assemble keel-trap's riscv64 assembly (src/arch/riscv64.S) with GNU as,
# link it into harness.c with the riscv64 cross compiler and run the
# harness under qemu-riscv64: the jump buffer, the fiber switch to a fresh
# stack and back, and the callee-saved registers around each. Installs
# Debian's gcc-riscv64-linux-gnu, binutils-riscv64-linux-gnu and qemu-user
# when missing.
#
# Usage: crates/trap/tests/riscv64/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cc=riscv64-linux-gnu-gcc
qemu=qemu-riscv64
if ! command -v "$cc" >/dev/null 2>&1 || ! command -v "$qemu" >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu qemu-user >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The same text Rust includes with global_asm!, assembled by GNU as.
riscv64-linux-gnu-as -march=rv64gc -mabi=lp64d \
    -o "$work/arch.o" "$here/../../src/arch/riscv64.S"
"$cc" -O2 -static -Wall -Werror -march=rv64gc -mabi=lp64d \
    -o "$work/harness" "$here/harness.c" "$here/probes.S" "$work/arch.o"
"$qemu" "$work/harness"
