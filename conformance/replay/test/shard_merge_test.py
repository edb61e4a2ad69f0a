#!/usr/bin/env python3
"""`protos7 replay --shard I/N` + `protos7 report merge`: the merged report of a 4-shard replay
equals the merge of the unsharded one, byte for byte (JSON and JUnit).

    shard_merge_test.py PROTOS7

Two synthetic captures (synth_capture.py: 5 + 3 connections, Read Var answers, some of them
mismatches) are replayed against the in-process protos7 once whole and once as shards 0/4..3/4;
`protos7 report merge` combines each. Also checked: every connection is in exactly one shard,
the shards' totals add up to the whole, and merge refuses a missing or a repeated shard.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, ok=(0, 1)):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in ok:
        raise SystemExit(f"FAIL {' '.join(cmd)}: exit {p.returncode}\n{p.stderr[-2000:]}")
    return p


def main():
    protos7 = sys.argv[1]
    failed = []

    def check(name, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
        if not ok:
            failed.append(name)

    with tempfile.TemporaryDirectory() as d:
        caps = [os.path.join(d, "a.pcap"), os.path.join(d, "b.pcap")]
        run([sys.executable, os.path.join(HERE, "synth_capture.py"), caps[0], "--connections", "5",
             "--answers", "600", "--mismatch-every", "97"], ok=(0,))
        run([sys.executable, os.path.join(HERE, "synth_capture.py"), caps[1], "--connections", "3",
             "--answers", "300", "--inflight", "2"], ok=(0,))
        base = [protos7, "replay", *caps, "--json", "--progress", "off"]
        whole = os.path.join(d, "whole.json")
        with open(whole, "w") as f:
            f.write(run(base).stdout)
        shards = []
        for i in range(4):
            s = os.path.join(d, f"shard{i}.json")
            with open(s, "w") as f:
                f.write(run(base + ["--shard", f"{i}/4"]).stdout)
            shards.append(s)
        m1 = run([protos7, "report", "merge", whole, "-o", os.path.join(d, "m1.json"),
                  "--junit", os.path.join(d, "m1.xml")])
        m4 = run([protos7, "report", "merge", *shards, "-o", os.path.join(d, "m4.json"),
                  "--junit", os.path.join(d, "m4.xml")])
        read = lambda n: open(os.path.join(d, n), "rb").read()
        check("merged JSON of 4 shards == merged JSON of the whole replay", read("m1.json") == read("m4.json"))
        check("merged JUnit of 4 shards == merged JUnit of the whole replay", read("m1.xml") == read("m4.xml"))
        check("exit status 1 for the mismatches", m1.returncode == 1 and m4.returncode == 1,
              f"{m1.returncode} {m4.returncode}")
        w = json.load(open(whole))
        docs = [json.load(open(s)) for s in shards]
        per_shard = [sorted((k, c["index"]) for k, cap in enumerate(doc["captures"])
                            for c in cap["connections"]) for doc in docs]
        every = sorted((k, c["index"]) for k, cap in enumerate(w["captures"]) for c in cap["connections"])
        check("8 connections, every one in exactly one shard, every shard has some",
              len(every) == 8 and sorted(sum(per_shard, [])) == every and all(per_shard),
              f"{per_shard} vs {every}")
        total = {k: sum(doc["totals"][k] for doc in docs) for k in w["totals"]}
        check("the shards' totals add up to the whole", total == w["totals"], f"{total} vs {w['totals']}")
        m = json.load(open(os.path.join(d, "m4.json")))
        listed = sum(len(c["answers"]) for cap in m["captures"] for c in cap["connections"])
        check("the mismatches are listed in full", m["totals"]["mismatch"] == 6 and listed == 6,
              f"{m['totals']} listed {listed}")
        check("shards are marked", [doc.get("shard") for doc in docs] == ["0/4", "1/4", "2/4", "3/4"])
        bad = run([protos7, "report", "merge", *shards[:3]], ok=(2,))
        check("a missing shard is refused", "missing shard(s): 3/4" in bad.stderr, bad.stderr)
        bad = run([protos7, "report", "merge", shards[0], shards[0], *shards[2:]], ok=(2,))
        check("a repeated shard is refused", "given twice" in bad.stderr, bad.stderr)
        bad = run([protos7, "report", "merge", caps[0]], ok=(2,))
        check("a file that is not a report is refused", "not JSON" in bad.stderr, bad.stderr)
    print("%d failed" % len(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
