#!/usr/bin/env python3
"""Enumerate every tpkt.*, cotp.* and s7comm.* field TShark shows for the given
captures (default: the six Wireshark samples) and print a Markdown table:
field, tshark ftype/base/bitmask, observed JSON value shape, example, number
of occurrences, number of records (TPKTs) carrying it, captures, tree
location and the PDU kinds that carry it.  Python 3 stdlib only; reuses the
tshark runner / record model of tshark_diff.py (same folder).

Usage: enumerate_fields.py [--tsv] [CAPTURE...]
"""

import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_diff as td  # noqa: E402

ROSCTR = {"1": "Job", "2": "Ack", "3": "Ack_Data", "7": "Userdata"}
FUNC = {"0x00": "CPU services", "0xf0": "Setup communication", "0x04": "Read Var", "0x05": "Write Var",
        "0x1a": "Request download", "0x1b": "Download block", "0x1c": "Download ended",
        "0x1d": "Start upload", "0x1e": "Upload", "0x1f": "End upload", "0x28": "PI-Service",
        "0x29": "PLC Stop"}
UD_TYPE = {"0": "push", "4": "req", "8": "resp", "3": "NC-push", "7": "NC-req", "11": "NC-resp"}
UD_GROUP = {"0": "Mode-transition", "1": "Programmer commands", "2": "Cyclic services",
            "3": "Block functions", "4": "CPU functions", "5": "Security", "6": "PBC", "7": "Time functions",
            "15": "NC programming"}
UD_SUB = {("3", "1"): "List blocks", ("3", "2"): "List blocks of type", ("3", "3"): "Get block info",
          ("4", "1"): "Read SZL", ("4", "2"): "Message service", ("7", "1"): "Read clock",
          ("7", "2"): "Set clock", ("7", "3"): "Read clock (following)", ("7", "4"): "Set clock",
          ("5", "1"): "PLC password"}
COTP_TYPE = {"0x0e": "CR", "0x0d": "CC", "0x0f": "DT", "0x08": "DR", "0x0c": "DC", "0x07": "ER"}


def first(f, k, d=""):
    return f.get(k, [d])[0]


def pdu_kind(f):
    """Short label of a record: 'Job Read Var', 'Userdata resp 4/1 Read SZL', 'COTP CR'..."""
    if "s7comm.header.rosctr" in f:
        ros = ROSCTR.get(first(f, "s7comm.header.rosctr"), "ROSCTR " + first(f, "s7comm.header.rosctr"))
        if ros == "Userdata":
            t, g, s = (first(f, "s7comm.param.userdata." + k) for k in ("type", "funcgroup", "subfunc"))
            name = UD_SUB.get((g, s), UD_GROUP.get(g, "group " + g) + " sub " + s)
            lastdu = first(f, "s7comm.param.userdata.lastdataunit")
            frag = " (fragment, more follows)" if lastdu == "0x01" else ""
            return "Userdata %s %s/%s %s%s" % (UD_TYPE.get(t, t), g, s, name, frag)
        return "%s %s" % (ros, FUNC.get(first(f, "s7comm.param.func"), first(f, "s7comm.param.func")))
    ct = COTP_TYPE.get(first(f, "cotp.type"), first(f, "cotp.type"))
    if ct == "DT":
        return "COTP DT EOT=%s (no S7)" % first(f, "cotp.eot")
    return "COTP " + ct


def shape(v: str) -> str:
    if re.fullmatch(r"0x[0-9a-f]+", v):
        return "hex %d digits" % (len(v) - 2)
    if re.fullmatch(r"-?\d+", v):
        return "decimal"
    if re.fullmatch(r"(?:[0-9a-f]{2}:)*[0-9a-f]{2}", v):
        return "bytes aa:bb"
    if v == "":
        return "empty string"
    if re.fullmatch(r"[A-Z][a-z]{2} +\d+, \d{4} .*", v):
        return "date text"
    return "text"


def collect(captures):
    stats = collections.defaultdict(lambda: {"n": 0, "recs": 0, "caps": set(), "kinds": collections.Counter(),
                                             "shapes": collections.Counter(), "ex": [], "paths": set(),
                                             "tree": 0, "merged": 0})
    per_capture = collections.Counter()
    for cap in captures:
        cname = os.path.basename(cap)
        pkts = td._load_pairs(td.run_tshark_json(cap))
        for pkt in pkts:
            layers = dict(dict(pkt)["_source"])["layers"]
            recs = td.records_from_packet(layers, "nodup")
            kinds = [pdu_kind(r.fields) for r in recs]
            for r, k in zip(recs, kinds):
                per_capture[("*kind*", k)] += 1
                per_capture[(cname, "records")] += 1
                per_capture[(cname, "s7")] += r.has_s7
            # walk the raw layers again for tree shape information
            entries = td._layer_entries(layers)
            s7_hosts = [i for i, r in enumerate(recs) if r.has_s7]
            counters = collections.Counter()
            for lname, sub in entries:
                if lname not in ("tpkt", "cotp", "s7comm", "cotp.segments"):
                    continue
                i = counters[lname]
                counters[lname] += 1
                if lname in ("tpkt", "cotp"):
                    ri = i
                elif lname == "s7comm":
                    ri = s7_hosts[i] if i < len(s7_hosts) else 0
                else:  # cotp.segments: the record whose DT completed the reassembly
                    ri = s7_hosts[-1] if s7_hosts else len(recs) - 1
                kind = kinds[ri] if recs else "?"
                seen_here = set()

                def walk(node, path):
                    for key, val in node:
                        if key.endswith("_raw"):
                            continue
                        arr = isinstance(val, list) and not isinstance(val, td.Obj)
                        items = val if arr else [val]
                        for it in items:
                            st = stats[key]
                            if arr:
                                st["merged"] += 1
                            st["caps"].add(cname)
                            st["kinds"][kind] += 1
                            st["paths"].add(" > ".join(path))
                            if isinstance(it, td.Obj):
                                st["tree"] += 1
                                walk(it, path + (key,))
                            else:
                                st["n"] += 1
                                st["shapes"][shape(it)] += 1
                                if it not in st["ex"] and len(st["ex"]) < 3:
                                    st["ex"].append(it)
                            if key not in seen_here:
                                seen_here.add(key)
                                st["recs"] += 1

                walk(sub, (lname,))
    return stats, per_capture


def describe_kinds(kinds, nrecs, per_cap):
    """Compact 'carried by' text: a category name when the field occurs in
    every record of exactly that category, else 'kind: count' pairs (count =
    occurrences)."""
    total = {k[1]: n for k, n in per_cap.items() if k[0] == "*kind*"}
    cats = [
        ("every record (all TPKTs)", lambda k: True),
        ("every S7 PDU", lambda k: not k.startswith("COTP")),
        ("every Job/Ack_Data PDU", lambda k: k.startswith(("Job", "Ack_Data"))),
        ("every Userdata PDU", lambda k: k.startswith("Userdata")),
        ("every Userdata response/push (12-byte param)", lambda k: k.startswith("Userdata resp")),
        ("every Userdata request", lambda k: k.startswith("Userdata req")),
        ("every Ack_Data PDU", lambda k: k.startswith("Ack_Data")),
        ("every COTP DT", lambda k: k.startswith(("COTP DT",)) or not k.startswith("COTP")),
        ("every COTP CR/CC", lambda k: k in ("COTP CR", "COTP CC")),
    ]
    present = set(kinds)
    for name, pred in cats:
        members = {k for k in total if pred(k)}
        if members and present == members and nrecs == sum(total[k] for k in members):
            return name
    return "; ".join("%s: %d" % kv for kv in sorted(kinds.items()))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    tsv = "--tsv" in sys.argv
    caps = args or [os.path.join(td.DEFAULT_CAPTURE_DIR, c) for c in td.SIX_CAPTURES]
    ftypes = {}
    out = subprocess.run(["tshark", "-G", "fields"], capture_output=True, text=True, env=td.tshark_env()).stdout
    for line in out.splitlines():
        c = line.split("\t")
        if len(c) >= 7 and c[0] == "F":
            ftypes[c[2]] = (c[3], c[5], c[6])
    stats, per_cap = collect(caps)
    names = sorted(k for k in stats if re.match(r"(tpkt|cotp|s7comm)\.", k))
    abbrev = {os.path.basename(c): "%d" % (i + 1) for i, c in enumerate(caps)}
    if tsv:
        print("\t".join(["field", "ftype", "base", "mask", "shape", "examples", "occurrences", "records",
                         "captures", "tree_paths", "as_tree", "pdu_kinds"]))
    else:
        print("Captures: " + "; ".join("%s=%s (%d TPKT records, %d with S7)" % (
            abbrev[os.path.basename(c)], os.path.basename(c), per_cap[(os.path.basename(c), "records")],
            per_cap[(os.path.basename(c), "s7")]) for c in caps))
        print()
        print("| field | ftype / base / mask | JSON value shape | example(s) | occ. | records | captures | "
              "tree parent(s) | carried by (PDU kind: count) |")
        print("|---|---|---|---|---|---|---|---|---|")
    for n in names:
        st = stats[n]
        ft, base, mask = ftypes.get(n, ("?", "", ""))
        shapes = ", ".join(s for s, _ in st["shapes"].most_common())
        if st["n"] == 0:
            if n.endswith("_tree") and ft == "?":
                ft, base, mask = "(not a field)", "", ""
                shapes = "JSON-only key holding the subtree of `%s`" % n[:-5]
            else:
                shapes = "subtree only (FT_NONE item, key -> object)"
        ex = " / ".join('"%s"' % (e if len(e) <= 28 else e[:25] + "...") for e in st["ex"])
        kinds = describe_kinds(st["kinds"], st["recs"], per_cap)
        paths = " | ".join(sorted(st["paths"]))[:160]
        caps_s = ",".join(sorted(abbrev[c] for c in st["caps"]))
        if tsv:
            print("\t".join([n, ft, base, mask, shapes, ex, str(st["n"] or st["tree"]), str(st["recs"]), caps_s, paths,
                             str(st["tree"]), kinds]))
        else:
            ftd = ft + ("/" + base if base and base not in ("BASE_NONE", "0") else "") + \
                ("/" + mask if mask not in ("", "0x0", "0x00") else "")
            extra = " (also subtree x%d)" % st["tree"] if st["tree"] and st["n"] else ""
            print("| `%s` | %s | %s%s | %s | %d | %d | %s | %s | %s |"
                  % (n, ftd, shapes, extra, ex.replace("|", "\\|"), st["n"] or st["tree"], st["recs"], caps_s,
                     paths.replace("|", "\\|"), kinds))
    if not tsv:
        print()
        print("%d distinct field names." % len(names))


if __name__ == "__main__":
    main()
