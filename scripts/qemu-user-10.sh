#!/usr/bin/env bash
# Install Debian trixie's qemu-user 10.0 (static-pie binaries, which run on
# bookworm) under $KEEL_QEMU_ROOT (default /opt/keel-qemu-10) and print the
# path of its qemu-riscv64. Bookworm's qemu-user 7.2 does not report the V
# extension to riscv64 programs (no riscv_hwprobe, no V in AT_HWCAP), so
# keel there compiles without SIMD; 10.0 reports it. The package comes
# through a private apt configuration (the system's sources are not
# touched) and its sha256 is pinned. Idempotent.
#
# Usage: scripts/qemu-user-10.sh   -> prints /opt/keel-qemu-10/usr/bin/qemu-riscv64
set -euo pipefail
root=${KEEL_QEMU_ROOT:-/opt/keel-qemu-10}
version="1:10.0.13+ds-0+deb13u1"
sha="ca6ede739327a20ae5a3498230c8a3a9a072c586e131bc6bcc1201eb1725e336"
qemu="$root/usr/bin/qemu-riscv64"
if [ -x "$qemu" ]; then
    echo "$qemu"
    exit 0
fi
mkdir -p "$root/apt/lists/partial" "$root/apt/cache/archives/partial" "$root/apt/debs"
mirror=$(grep -hoE '^(URIs:|deb) +[^ ]*' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} trixie main" \
    > "$root/apt/sources.list"
opts=(-o "Dir::Etc::sourcelist=$root/apt/sources.list" -o Dir::Etc::sourceparts=/dev/null
      -o "Dir::State::Lists=$root/apt/lists" -o "Dir::Cache=$root/apt/cache"
      -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update -qq >&2
(cd "$root/apt/debs" && apt-get "${opts[@]}" download "qemu-user=$version" >&2)
deb=$(ls "$root"/apt/debs/qemu-user_*.deb)
echo "$sha  $deb" | sha256sum -c --quiet - >&2
dpkg-deb -x "$deb" "$root"
"$qemu" --version >&2
echo "$qemu"
