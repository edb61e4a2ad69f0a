#!/usr/bin/env python3
"""Learn, then replay against protos7: the CI check of `protos7 replay CAPTURE --learn`.

    learn_replay.py PROTOS7 KNOWN_GAPS CAPTURE...

For each capture on its own: `protos7 replay CAPTURE --learn --json` (a profile learned from the
capture, served by an in-process protos7, the capture replayed against it). Prints one line of
counts per capture, then every answer that is not exact or equivalent.

Passes when every answer is exact or equivalent, except the answers listed in KNOWN_GAPS: server
behaviour that is not there yet, each with the reason. A listed answer that now passes fails the
check too (remove it from the list), so the list never hides a fixed gap.

KNOWN_GAPS lines: CAPTURE_FILE_NAME FRAME  # reason   (FRAME: the captured answer's frame)
"""
import json
import os
import subprocess
import sys


def load_gaps(path):
    gaps = {}
    with open(path) as f:
        for line in f:
            body, _, why = line.partition("#")
            parts = body.split()
            if len(parts) == 2:
                gaps[(parts[0], int(parts[1]))] = why.strip()
    return gaps


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    protos7, gaps_path, captures = sys.argv[1], sys.argv[2], sys.argv[3:]
    gaps = load_gaps(gaps_path)
    status = 0
    totals = [0] * 5
    print(f"{'capture':<48} {'answers':>7} {'exact':>6} {'equiv':>6} {'mismatch':>8} {'missing':>7} {'unexp':>5}")
    details = []
    for cap in captures:
        name = os.path.basename(cap)
        p = subprocess.run([protos7, "replay", cap, "--learn", "--json", "--timeout", "3000"],
                           capture_output=True, text=True)
        if p.returncode not in (0, 1):
            print(f"{name:<48} replay failed (exit {p.returncode}): {p.stderr.strip()[:300]}")
            status = 1
            continue
        doc = json.loads(p.stdout)
        t = doc["totals"]
        row = [t["exact"], t["equivalent"], t["mismatch"], t["missing"], t["unexpected"]]
        totals = [a + b for a, b in zip(totals, row)]
        print(f"{name:<48} {sum(row):>7} {row[0]:>6} {row[1]:>6} {row[2]:>8} {row[3]:>7} {row[4]:>5}")
        seen = set()
        for c in doc["captures"]:
            for conn in c["connections"]:
                for a in conn.get("answers", []):
                    if a["verdict"] not in ("mismatch", "missing", "unexpected"):
                        continue
                    key = (name, a["expected_frame"])
                    seen.add(key)
                    known = key in gaps
                    if not known:
                        status = 1
                    fields = ", ".join(f["name"] for f in a["fields"] if not f.get("tolerated_by"))[:160]
                    details.append(f"  {'known gap' if known else 'FAIL':<9} {name} frame {a['expected_frame']}: "
                                   f"{a['service']}: {a['verdict']}"
                                   + (f" ({gaps[key]})" if known else f": {fields or a.get('bytes_diff', '')[:160]}"))
        for key, why in gaps.items():
            if key[0] == name and key not in seen:
                status = 1
                details.append(f"  FIXED     {name} frame {key[1]} passes now: remove it from {gaps_path} ({why})")
    print(f"{'total':<48} {sum(totals):>7} {totals[0]:>6} {totals[1]:>6} {totals[2]:>8} {totals[3]:>7} {totals[4]:>5}")
    for d in details:
        print(d)
    print("learn + replay: " + ("ok" if status == 0 else "FAILED"))
    return status


if __name__ == "__main__":
    sys.exit(main())
