#!/usr/bin/env python3
"""Replay against protos7 on its bundled sample profile: the CI check of `protos7 replay CAPTURE...`
without --profile, --learn or --target.

    replay_bundled.py PROTOS7 CAPTURE...

The bundled profile is another PLC than the captured one in places (PDU 480, protos7's identity,
the sample PLC's DBs; conformance/replay/README.md lists why each service differs), so mismatches
are expected. Required: the runner and the server survive every capture (exit status 0 or 1, the
in-process server never crashes), nothing is missing and nothing is unexpected. Prints the counts
per capture and, per service, what differs (from the report's differences).
"""
import json
import os
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    protos7, captures = sys.argv[1], sys.argv[2:]
    p = subprocess.run([protos7, "replay", *captures, "--json", "--timeout", "3000"], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        print(f"protos7 replay exited with {p.returncode} (0 or 1 expected): {p.stderr[-2000:]}")
        return 1
    doc = json.loads(p.stdout)
    print(f"target: {doc['target']}")
    print(f"{'capture':<48} {'answers':>7} {'exact':>6} {'equiv':>6} {'mismatch':>8} {'missing':>7} {'unexp':>5}")
    for c in doc["captures"]:
        t = c["totals"]
        row = [t["exact"], t["equivalent"], t["mismatch"], t["missing"], t["unexpected"]]
        print(f"{os.path.basename(c['path']):<48} {sum(row):>7} {row[0]:>6} {row[1]:>6} {row[2]:>8} {row[3]:>7} {row[4]:>5}")
    t = doc["totals"]
    print(f"{'total':<48} {sum(t[k] for k in ('exact', 'equivalent', 'mismatch', 'missing', 'unexpected')):>7} "
          f"{t['exact']:>6} {t['equivalent']:>6} {t['mismatch']:>8} {t['missing']:>7} {t['unexpected']:>5}")
    print("what differs, per service:")
    for s in doc["services"]:
        if "differences" not in s:
            continue
        what = "; ".join(f"{d['what']} ({d['answers']})" for d in s["differences"][:6])
        more = f"; ... {len(s['differences']) - 6} more" if len(s["differences"]) > 6 else ""
        print(f"  {s['service']}: {s['mismatch']} mismatch: {what}{more}")
    ok = t["missing"] == 0 and t["unexpected"] == 0 and all(c["loaded"] for c in doc["captures"])
    print("bundled-profile replay: " + ("ok (no crash, nothing missing or unexpected)" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
