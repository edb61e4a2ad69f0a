#!/usr/bin/env python3
"""The field captures replayed against protos7 on its bundled sample profile, one capture at a
time: what a new user gets from `protos7 replay CAPTURE` with no profile of their CPU.

    replay_bundled_field.py PROTOS7 FIELD_DIR CAPTURE...

The bundled profile is not the captured CPU (its identity, DBs, alarm list and jobs differ), so
mismatches and missing pushes are expected and only counted. Required of each capture: it is
loaded, the replay ends with exit status 0 or 1 (the runner and the in-process server never
crash), within LIMIT seconds (no hang), and nothing is unexpected. Prints the counts and the time
per capture. Exit 77 (skipped) when FIELD_DIR does not exist.
"""
import json
import os
import subprocess
import sys
import time

LIMIT = 60.0  # seconds per capture: the slowest takes well under one


def replay(protos7, path):
    """(row to print, failure or None) for one capture."""
    name = os.path.basename(path)
    start = time.monotonic()
    try:
        p = subprocess.run([protos7, "replay", path, "--json", "--timeout", "3000"],
                           capture_output=True, text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        return f"{name:<40} (no result)", f"{name}: no result after {LIMIT:.0f} s"
    took = time.monotonic() - start
    if p.returncode not in (0, 1):
        return f"{name:<40} exit {p.returncode}", f"{name}: exit {p.returncode}: {p.stderr[-500:]}"
    doc = json.loads(p.stdout)
    t = doc["totals"]
    row = [t[k] for k in ("exact", "equivalent", "mismatch", "missing", "unexpected")]
    line = f"{name:<40} {sum(row):>7} " + " ".join(f"{v:>6}" for v in row) + f" {took:>7.2f}"
    if not all(c["loaded"] for c in doc["captures"]):
        return line, f"{name}: not loaded"
    if t["unexpected"] != 0:
        return line, f"{name}: {t['unexpected']} unexpected answer(s)"
    return line, None


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    protos7, field_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    if not os.path.isdir(field_dir):
        print(f"skipped: no field captures at {field_dir}")
        return 77
    print("target: in-process protos7, bundled profile; one replay per capture")
    print(f"{'capture':<40} {'answers':>7} {'exact':>6} {'equiv':>6} {'mism':>6} {'miss':>6} "
          f"{'unexp':>6} {'seconds':>7}")
    failures = []
    for n in names:
        line, failure = replay(protos7, os.path.join(field_dir, n))
        print(line, flush=True)
        if failure:
            failures.append(failure)
    for f in failures:
        print("FAILED: " + f)
    print("bundled-profile replay of the field captures: " +
          ("ok (no crash, no hang, nothing unexpected)" if not failures else "FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
