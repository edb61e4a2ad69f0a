#!/usr/bin/env python3
"""Lists the functions longer than N lines in the C++ sources under ROOTS (tests excluded).

    tools/function_length.py N ROOT...      exit 1 when one is found

A function is a definition that starts at column 0 (clang-format puts every function that is
not a class member defined in its class there) and ends at its matching closing brace; its
length counts both lines. Lambdas count as part of the function they are written in."""
import os
import re
import sys

N = int(sys.argv[1])
roots = sys.argv[2:]
out = []
for root in roots:
    for dp, dn, fn in os.walk(root):
        if '/build' in dp or 'node_modules' in dp or '/test' in dp: continue
        for f in fn:
            if not f.endswith(('.cpp', '.hpp')): continue
            p = os.path.join(dp, f)
            lines = open(p, encoding='utf-8', errors='replace').read().split('\n')
            i = 0
            while i < len(lines):
                l = lines[i]
                if l and not l[0].isspace() and not l.startswith(('//', '#', 'namespace', '}', 'struct', 'class', 'enum', 'using', 'template', 'extern "C" {')) and re.search(r'\)\s*(const)?\s*(noexcept)?\s*(->\s*[\w:<>]+\s*)?\{\s*$', l) or (l and not l[0].isspace() and l.rstrip().endswith('{') and i > 0 and re.search(r'\)', l) and not l.startswith(('namespace','struct','class','enum'))):
                    depth = 0; j = i
                    while j < len(lines):
                        depth += lines[j].count('{') - lines[j].count('}')
                        if depth <= 0 and j > i: break
                        j += 1
                    if j - i + 1 > N: out.append((j - i + 1, p, i + 1, l.strip()[:80]))
                    i = j + 1; continue
                i += 1
for n, p, ln, l in sorted(out, reverse=True):
    print(f"{n:5d} {p}:{ln} {l}")
sys.exit(1 if out else 0)
