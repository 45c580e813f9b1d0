#!/usr/bin/env python3
"""Check that no import circle runs through the keel crate's store.rs.

Usage: scripts/keel-store-imports.py [SRC_DIR]   (default: crates/keel/src)

Builds the file-level import graph: an edge from file A to file B for
every `crate::B` path in A, and for every name A uses that lib.rs
re-exports from B. Prints what store.rs reaches, and exits 1 naming the
files if any of them reaches store.rs again."""
import re, os, sys
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'crates', 'keel', 'src')
mods = {f[:-3] for f in os.listdir(d) if f.endswith('.rs')} - {'lib'}
lib = open(f'{d}/lib.rs').read()
reexp = {}
for m in re.finditer(r'pub use (\w+)::\{([^}]*)\}|pub use (\w+)::(\w+)', lib):
    if m.group(1):
        for n in re.split(r'[,\s]+', m.group(2)):
            if n: reexp[n.split(' as ')[0]] = m.group(1)
    else:
        reexp[m.group(4)] = m.group(3)
g = {}
for mname in mods:
    src = open(f'{d}/{mname}.rs').read()
    src = re.sub(r'//[^\n]*', '', src)
    deps = set()
    for m in re.finditer(r'crate::(\w+)', src):
        x = m.group(1)
        if x in mods: deps.add(x)
        elif x in reexp: deps.add(reexp[x])
    for m in re.finditer(r'use crate::\{([^}]*)\}', src, re.S):
        for n in re.split(r'[,\s]+', m.group(1)):
            n = n.split('::')[0]
            if n in mods: deps.add(n)
            elif n in reexp: deps.add(reexp[n])
    deps &= mods
    deps.discard(mname)
    g[mname] = deps
# what store reaches, and whether anything it reaches reaches store
def reach(s):
    seen, st = set(), [s]
    while st:
        x = st.pop()
        for y in g.get(x, ()):
            if y not in seen: seen.add(y); st.append(y)
    return seen
r = reach('store')
print('store imports:', sorted(g['store']))
print('store reaches:', sorted(r))
bad = sorted({x for x in r if 'store' in reach(x)})
for x in sorted(r): print(' ', x, '->', sorted(g[x]))
if bad:
    sys.exit(f'import circle through store.rs via: {bad}')
print('no import circle through store.rs')
