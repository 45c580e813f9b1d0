#!/usr/bin/env bash
# The headers and the library agree: every function keel.h and wasm.h
# declare (after the preprocessor, so wasm.h's declaration macros are
# expanded; its `static inline` helpers are not declarations) is a
# symbol libkeel.so exports, and every wasm_/keel_ symbol it exports is
# declared. Functions of wasm.h keel does not provide yet are listed in
# tests/unimplemented.txt, which may only shrink.
#
# Usage: crates/c-api/tests/check-symbols.sh   (after a release build of
# keel-c-api)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
lib="$root/target/release/libkeel.so"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Mark each exported declaration, then take the name before its "(".
echo '#include <keel.h>' \
    | gcc -E -P -DWASM_API_EXTERN=KEEL_DECLARED -I"$root/crates/c-api/include" -xc - \
    | tr '\n' ' ' | tr ';' '\n' | grep 'KEEL_DECLARED' \
    | sed -E 's/^.*KEEL_DECLARED[^(]*[^a-zA-Z0-9_]([a-zA-Z0-9_]+) *\(.*$/\1/' \
    | sort -u > "$work/declared"
nm -D --defined-only "$lib" | awk '{print $3}' | grep -E '^(wasm|keel)_' | sort -u > "$work/exported"
# keel's own assembly entry points are exported but not API.
internal='^keel_lazy_compile_entry$'
grep -vE "$internal" "$work/exported" > "$work/api" || true
grep -v "^#" "$here/unimplemented.txt" | sort -u > "$work/unimplemented" || true

failed=0
missing=$(comm -23 "$work/declared" "$work/api" | comm -23 - "$work/unimplemented")
if [[ -n $missing ]]; then
    echo "declared but not exported:"; echo "$missing"; failed=1
fi
undeclared=$(comm -13 "$work/declared" "$work/api")
if [[ -n $undeclared ]]; then
    echo "exported but not declared:"; echo "$undeclared"; failed=1
fi
done_now=$(comm -12 "$work/unimplemented" "$work/api")
if [[ -n $done_now ]]; then
    echo "implemented now, remove from tests/unimplemented.txt:"; echo "$done_now"; failed=1
fi
if [[ $failed == 0 ]]; then
    echo "ok   $(wc -l < "$work/declared") functions declared, $(wc -l < "$work/api") exported, $(wc -l < "$work/unimplemented") of wasm.h's not yet"
fi
exit $failed
