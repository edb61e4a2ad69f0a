#!/usr/bin/env python3
"""Learn, then replay the field captures against protos7: the CI check of issue 13.

    field_replay.py PROTOS7 KNOWN_GAPS FIELD_DIR CAPTURE_NAME...

For each capture on its own: `protos7 replay FIELD_DIR/CAPTURE --learn --json` (a profile learned
from the capture, served by an in-process protos7, the capture replayed against it). Prints one
line per capture: the answers by verdict (`different` = mismatch) and the time the capture took,
then every answer that is not exact or equivalent.

Fails on a crash (exit status other than 0 or 1), a hang (a capture taking longer than
--hang-after seconds), a connection not replayed, or an answer that is not exact or equivalent
and not listed in KNOWN_GAPS with its reason. A listed gap that no answer hits any more fails too
(remove it), so the list never hides a fixed gap. Exit 77 (skipped) when FIELD_DIR or one of the
captures is missing.

KNOWN_GAPS lines (a reason after `#` is required):
    CAPTURE FRAME                       # reason   one answer (the captured answer's frame)
    CAPTURE VERDICT SERVICE-FRAGMENT    # reason   every answer of that verdict whose service
                                                   contains the fragment (pushes of one kind)
"""
import argparse
import json
import os
import subprocess
import sys
import time


def load_gaps(path):
    frames, kinds = {}, {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            body, _, why = line.partition("#")
            parts = body.split(None, 2)
            if not parts:
                continue
            if not why.strip():
                raise SystemExit(f"{path}:{n}: a known gap needs its reason after '#'")
            if len(parts) == 2 and parts[1].isdigit():
                frames[(parts[0], int(parts[1]))] = why.strip()
            elif len(parts) == 3:
                kinds[(parts[0], parts[1], parts[2].strip())] = why.strip()
            else:
                raise SystemExit(f"{path}:{n}: expected CAPTURE FRAME or CAPTURE VERDICT SERVICE")
    return frames, kinds


def gap_of(name, a, frames, kinds):
    """The known-gap key an answer falls under, or None."""
    key = (name, a.get("expected_frame"))
    if key in frames:
        return key
    for k in kinds:
        if k[0] == name and k[1] == a["verdict"] and k[2] in a.get("service", ""):
            return k
    return None


def replay(protos7, path, timeout_ms, hang_after):
    start = time.monotonic()
    try:
        p = subprocess.run([protos7, "replay", path, "--learn", "--json", "--timeout",
                            str(timeout_ms), "--progress", "off"],
                           capture_output=True, text=True, timeout=hang_after)
    except subprocess.TimeoutExpired:
        return None, f"hang: no result within {hang_after} s", time.monotonic() - start
    took = time.monotonic() - start
    if p.returncode not in (0, 1):
        return None, f"crash or error (exit {p.returncode}): {p.stderr.strip()[:300]}", took
    return json.loads(p.stdout), None, took


def check(name, doc, frames, kinds, hits, details):
    """Counts the answers; returns (counts, ok)."""
    ok = True
    t = doc["totals"]
    counts = [t["exact"], t["equivalent"], t["mismatch"], t["missing"], t["unexpected"]]
    for c in doc["captures"]:
        for conn in c["connections"]:
            if not conn["replayed"] and "no payload" not in conn.get("skip_reason", ""):
                ok = False
                details.append(f"  FAIL      {name} connection {conn['index']} not replayed: "
                               f"{conn.get('skip_reason', '')}")
            for a in conn.get("answers", []):
                if a["verdict"] not in ("mismatch", "missing", "unexpected"):
                    continue
                g = gap_of(name, a, frames, kinds)
                if g is None:
                    ok = False
                    fields = ", ".join(f["name"] for f in a.get("fields", [])
                                       if not f.get("tolerated_by"))[:160]
                    details.append(f"  FAIL      {name} frame {a.get('expected_frame')}: "
                                   f"{a['service']}: {a['verdict']}: "
                                   f"{fields or a.get('bytes_diff', '')[:120] or a.get('detail', '')[:160]}")
                else:
                    hits[g] = hits.get(g, 0) + 1
    return counts, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("protos7")
    ap.add_argument("known_gaps")
    ap.add_argument("field_dir")
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--timeout", type=int, default=1000, help="answer timeout, ms (default 1000)")
    ap.add_argument("--hang-after", type=float, default=60.0, help="seconds per capture")
    args = ap.parse_args()
    paths = [os.path.join(args.field_dir, c) for c in args.captures]
    absent = [p for p in paths if not os.path.isfile(p)]
    if absent:
        print(f"skipped: field captures not found ({', '.join(absent[:3])}); set "
              "PROTOS7_FIELD_PCAP_DIR")
        return 77
    frames, kinds = load_gaps(args.known_gaps)
    hits, details, status = {}, [], 0
    totals = [0] * 5
    print(f"{'capture':<40} {'answers':>7} {'exact':>6} {'equiv':>6} {'differ':>6} "
          f"{'missing':>7} {'unexp':>5} {'seconds':>7}")
    for name, path in zip(args.captures, paths):
        doc, err, took = replay(args.protos7, path, args.timeout, args.hang_after)
        if err:
            print(f"{name:<40} {err}")
            status = 1
            continue
        counts, ok = check(name, doc, frames, kinds, hits, details)
        status |= 0 if ok else 1
        totals = [a + b for a, b in zip(totals, counts)]
        print(f"{name:<40} {sum(counts):>7} " + " ".join(
            f"{v:>{w}}" for v, w in zip(counts, (6, 6, 6, 7, 5))) + f" {took:>7.2f}")
    print(f"{'total':<40} {sum(totals):>7} " + " ".join(
        f"{v:>{w}}" for v, w in zip(totals, (6, 6, 6, 7, 5))))
    for g, why in list(frames.items()) + list(kinds.items()):
        if g[0] in args.captures and g not in hits:
            status = 1
            details.append(f"  FIXED     {' '.join(map(str, g))} no longer fails: remove it from "
                           f"{args.known_gaps} ({why})")
    for g, n in sorted(hits.items(), key=lambda x: str(x[0])):
        why = frames.get(g) or kinds.get(g)
        details.append(f"  known gap {' '.join(map(str, g))}: {n} answer(s) ({why})")
    for d in details:
        print(d)
    print("field learn + replay: " + ("ok" if status == 0 else "FAILED"))
    return status


if __name__ == "__main__":
    sys.exit(main())
