#!/usr/bin/env python3
"""The man pages say what the command line says: every option `protos7 COMMAND --help` lists
appears in protos7-COMMAND.1, every command in protos7.1, and each page is roff man(7) that
`man` renders without a warning (when man is installed).

    man_pages_test.py PROTOS7 MAN_DIR        (ctest: man_pages)
"""
import os
import re
import shutil
import subprocess
import sys


def options(binary, *cmd):
    out = subprocess.run([binary, *cmd, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][\w.-]*)", out)) - {"--help"}


def main():
    binary, man = sys.argv[1], sys.argv[2]
    failures = []
    top = open(os.path.join(man, "protos7.1"), encoding="utf-8").read()
    commands = re.findall(r"^  (\w+) {2,}", subprocess.run([binary, "--help"], capture_output=True,
                                                            text=True).stdout, re.M)
    if not commands:
        failures.append("no command in protos7 --help")
    for c in commands:
        if f"protos7 {c}" not in top:
            failures.append(f"protos7.1 does not list {c}")
        page = open(os.path.join(man, f"protos7-{c}.1"), encoding="utf-8").read().replace("\\-", "-")
        for o in sorted(options(binary, c)):
            if o not in page:
                failures.append(f"protos7-{c}.1 lacks {o}")
        if shutil.which("man"):
            r = subprocess.run(["man", "--warnings", "-l", os.path.join(man, f"protos7-{c}.1")],
                               capture_output=True, text=True, env={**os.environ, "MANWIDTH": "100"})
            if r.returncode != 0 or r.stderr.strip():
                failures.append(f"man -l protos7-{c}.1: {r.stderr.strip()[:300]}")
    for f in failures:
        print("FAIL " + f)
    print(f"man pages: {len(commands)} commands checked, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
