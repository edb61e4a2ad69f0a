#!/usr/bin/env python3
"""dump, learn and replay read captures as streams: the same run on a capture ten times longer
keeps its peak memory (max RSS) within a bound.

    memory_bound_test.py PROTOS7 [ANSWERS]

Two synthetic captures (synth_capture.py, 8 connections x 4 jobs in flight, one answer in 50 a
mismatch, so failures are listed too): ANSWERS (default 4000) and 10 x ANSWERS Read Var answers.
`protos7 dump --json`, `protos7 learn` and `protos7 replay --json --junit` (against the
in-process protos7) run on each; the long capture may use at most BOUND_KB more max RSS than
the short one. Before the streaming rewrite replay held about 5 KB per answer (36 000 more
answers: +180 MB), dump and learn the whole capture several times over.
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BOUND_KB = 8 * 1024  # what the longer capture may add to the peak memory of one run


def max_rss_kb(cmd):
    """Runs cmd (output discarded): (exit status, its peak resident memory in KB, seconds).

    The peak is the process's VmHWM (/proc/PID/status), read every few milliseconds until it
    exits: unlike ru_maxrss it does not count the pages the forked Python child had before exec.
    """
    start = time.monotonic()
    peak = 0
    with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=null, stderr=err)
        while p.poll() is None:
            try:
                with open(f"/proc/{p.pid}/status") as st:
                    for line in st:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            time.sleep(0.003)
        if p.returncode not in (0, 1):
            err.seek(0)
            raise SystemExit(f"FAIL {' '.join(cmd)}: exit {p.returncode}: {err.read()[-1000:]!r}")
    return p.returncode, peak, time.monotonic() - start


def main():
    protos7 = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        caps = {}
        for name, answers in (("short", n), ("long", 10 * n)):
            caps[name] = os.path.join(d, name + ".pcap")
            subprocess.run([sys.executable, os.path.join(HERE, "synth_capture.py"), caps[name],
                            "--connections", "8", "--answers", str(answers), "--mismatch-every", "50"],
                           check=True)
        runs = {
            "dump --json": lambda c: [protos7, "dump", "--json", c, "--progress", "off"],
            "learn": lambda c: [protos7, "learn", c, "-o", os.path.join(d, "p.json"), "--progress", "off"],
            "replay --json --junit": lambda c: [protos7, "replay", c, "--json", "--junit",
                                                os.path.join(d, "r.xml"), "--progress", "off"],
        }
        print(f"{'run':<22} {'answers':>8} {'max RSS KB':>11} {'seconds':>8}")
        for what, cmd in runs.items():
            rss = {}
            for name in ("short", "long"):
                _, rss[name], secs = max_rss_kb(cmd(caps[name]))
                print(f"{what:<22} {n * (1 if name == 'short' else 10):>8} {rss[name]:>11} {secs:>8.2f}")
            grew = rss["long"] - rss["short"]
            ok = grew <= BOUND_KB
            failed += not ok
            print(f"  {'ok  ' if ok else 'FAIL'} {what}: +{grew} KB for 10x the answers (bound {BOUND_KB} KB)")
    print("memory bound: " + ("ok" if failed == 0 else "FAILED"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
