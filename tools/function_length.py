#!/usr/bin/env python3
"""Lists the functions longer than N lines in the C++ sources under ROOTS (tests excluded).

    tools/function_length.py N ROOT...      exit 1 when one is found

A function is a definition that starts at column 0 (clang-format puts every function that is
not a class member defined in its class there) and ends at its matching closing brace; its
length counts both lines. Lambdas count as part of the function they are written in. Braces in
string and character literals and in // comments do not count ("{{" in a format string)."""
import os
import re
import sys

NOT_A_FUNCTION = ('//', '#', 'namespace', '}', 'struct', 'class', 'enum', 'using', 'template',
                  'extern "C" {')
DEFINITION_END = re.compile(r'\)\s*(const)?\s*(noexcept)?\s*(->\s*[\w:<>]+\s*)?\{\s*$')
LITERALS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|//.*$')


def starts_function(lines, i):
    line = lines[i]
    if not line or line[0].isspace():
        return False
    if not line.startswith(NOT_A_FUNCTION) and DEFINITION_END.search(line):
        return True
    return (line.rstrip().endswith('{') and i > 0 and ')' in line and
            not line.startswith(('namespace', 'struct', 'class', 'enum')))


def braces(line):
    code = LITERALS.sub('', line)
    return code.count('{') - code.count('}')


def function_end(lines, i):
    depth = 0
    for j in range(i, len(lines)):
        depth += braces(lines[j])
        if depth <= 0 and j > i:
            return j
    return len(lines) - 1


def long_functions(path, limit):
    lines = open(path, encoding='utf-8', errors='replace').read().split('\n')
    i = 0
    while i < len(lines):
        if not starts_function(lines, i):
            i += 1
            continue
        j = function_end(lines, i)
        if j - i + 1 > limit:
            yield (j - i + 1, path, i + 1, lines[i].strip()[:80])
        i = j + 1


def main():
    limit = int(sys.argv[1])
    out = []
    for root in sys.argv[2:]:
        for dp, _, files in os.walk(root):
            if '/build' in dp or 'node_modules' in dp or '/test' in dp:
                continue
            for f in files:
                if f.endswith(('.cpp', '.hpp')):
                    out.extend(long_functions(os.path.join(dp, f), limit))
    for n, p, ln, line in sorted(out, reverse=True):
        print(f"{n:5d} {p}:{ln} {line}")
    return 1 if out else 0


if __name__ == '__main__':
    sys.exit(main())
