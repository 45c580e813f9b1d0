#!/usr/bin/env bash
# The benchmark's short deterministic run of python.wasm, checked against its
# expected stdout.  Usage:
#   benches/programs/large/short_run.sh [RUNNER...]
# RUNNER defaults to `wasmtime run -C cache=n`; e.g.
#   short_run.sh /tmp/wt/wasmtime_cli/wasmtime run -C cache=n
#   short_run.sh target/release/keel run -C cache=n
# The module needs no preopened directory: everything it imports is built in
# or frozen.  CPython prints two "Could not find platform ... libraries"
# warnings on stderr because no Lib/ is mounted; they are expected.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

SCRIPT='import sqlite3, json, hashlib, zlib, decimal; n = sqlite3.connect(":memory:").execute("with recursive t(x) as (select 1 union all select x+1 from t where x<1000) select sum(x) from t").fetchone()[0]; d = json.dumps({"sum": n, "ratio": str(decimal.Decimal(355) / 113)}, sort_keys=True); print(d, hashlib.sha256(d.encode()).hexdigest()[:16], zlib.crc32(d.encode()))'
EXPECTED='{"ratio": "3.141592920353982300884955752", "sum": 500500} 8a21ce8d566d5b05 919529168'

if [ $# -eq 0 ]; then set -- wasmtime run -C cache=n; fi
out="$("$@" "$HERE/python.wasm" -I -S -c "$SCRIPT" 2>/dev/null)"
if [ "$out" = "$EXPECTED" ]; then
  echo "ok: $out"
else
  printf 'MISMATCH\n  expected: %s\n  got:      %s\n' "$EXPECTED" "$out" >&2
  exit 1
fi
