#!/usr/bin/env python3
"""Differential test: protos7's `dump --json` output against TShark 4.0.17.

Compares, record by record, the TPKT/COTP/S7comm field values that our dump
tool prints (JSONL, one object per TPKT) with the values TShark shows for the
same capture.  Python 3 standard library only.  See FIELDS.md (same folder)
for the field inventory, the tshark quirks and the normalisation rules.

Record model (both sides)
-------------------------
One record per TPKT that tshark dissects as COTP, in wire order, attributed to
the frame tshark attributes it to (the frame holding the TPKT's last byte).
A record carries the tpkt.* and cotp.* fields of that TPKT and, if that COTP
DT completed an S7 PDU (EOT=1, reassembled over earlier EOT=0 DTs if any),
the s7comm.* fields of that S7 PDU.  Records are matched by
(frame.number, index of the record within the frame).

Our JSONL: one object per line with "frame.number" (int) and field keys named
like Wireshark's display-filter fields.  A field occurring once is a scalar,
several times a JSON array (in tshark tree order).  Integers are JSON
numbers, bytes lowercase hex without separators ("0a0b"), text strings,
s7comm.data.ts "YYYY-MM-DDTHH:MM:SS.mmm"; anything else is a mismatch unless
--lenient-ours.  A decode error is
"protos7.error": {"code": .., "layer": .., "offset": ..} and counts as a mismatch.

Usage
-----
  tshark_diff.py --dump-cmd 'protos7 dump --json {pcap}' CAPTURE...
  tshark_diff.py --ours-dir DIR CAPTURE...     # DIR/<stem>.jsonl per capture
  tshark_diff.py --emit-expected CAPTURE        # tshark side as JSONL (spec)
  tshark_diff.py --self-test [CAPTURE...]       # comparer proves it can pass and fail
Common options: --fields FILE (default fields.txt here; fields_full.txt adds
  SZL records), --tshark PATH, --tshark-json {nodup,dup}, --lenient-ours,
  --max-report N, -v.
Exit status: 0 all records equal, 1 any mismatch / one-sided record,
2 usage or tool error.  Except with --emit-expected, the last line printed is
always "N passed, M failed" (N = records fully equal, M = records with any
difference, one-sided records included).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIELDS = os.path.join(HERE, "fields.txt")
# The shared captures beside the checkout (../shared), unless PROTOS7_PCAP_DIR says otherwise.
DEFAULT_CAPTURE_DIR = os.environ.get(
    "PROTOS7_PCAP_DIR", os.path.join(HERE, "..", "..", "..", "shared", "pcaps", "wireshark"))
SIX_CAPTURES = [
    "s7comm_downloading_block_db1.pcap",
    "s7comm_program_blocklist_onlineview.pcap",
    "s7comm_reading_plc_status.pcap",
    "s7comm_reading_setting_plc_time.pcap",
    "s7comm_varservice_libnodavedemo.pcap",
    "s7comm_varservice_libnodavedemo_bench.pcap",
]

# Preferences pinned to the TShark 4.0.17 defaults so a user profile cannot
# change attribution (which frame / which index a PDU lands on).
TSHARK_PREFS = [
    "tcp.desegment_tcp_streams:TRUE",
    "tpkt.desegment:TRUE",
    "cotp.reassemble:TRUE",
    "cotp.tsap_display:As strings if printable",
]

# ---------------------------------------------------------------------------
# tshark side
# ---------------------------------------------------------------------------


class Obj(list):
    """A JSON object kept as an ordered list of (key, value) pairs, so that
    duplicate keys (tshark -T json without --no-duplicate-keys) survive and a
    JSON array (a plain list) stays distinguishable from an object."""


def _load_pairs(text: str):
    return json.loads(text, object_pairs_hook=Obj)


_CFG_DIR = None


def tshark_env() -> dict:
    global _CFG_DIR
    env = dict(os.environ)
    # s7comm.data.ts (FT_ABSOLUTE_TIME) is rendered in the process's local
    # time zone, with the zone's abbreviation: pin it.
    env["TZ"] = "UTC"
    # Keep a personal preferences file from leaking in (prefs are also pinned).
    if _CFG_DIR is None:
        _CFG_DIR = tempfile.TemporaryDirectory(prefix="tshark_diff_cfg_")  # removed at exit
    env["WIRESHARK_CONFIG_DIR"] = _CFG_DIR.name
    return env


def run_tshark_json(pcap: str, tshark: str = "tshark", mode: str = "nodup") -> str:
    cmd = [tshark, "-r", pcap, "-n", "-T", "json"]
    if mode == "nodup":
        cmd.append("--no-duplicate-keys")
    for p in TSHARK_PREFS:
        cmd += ["-o", p]
    res = subprocess.run(cmd, capture_output=True, text=True, env=tshark_env())
    if res.returncode != 0:
        raise RuntimeError("tshark failed (%d): %s" % (res.returncode, res.stderr.strip()))
    return res.stdout


def tshark_field_types(tshark: str = "tshark") -> dict:
    """abbrev -> (ftype, base) from `tshark -G fields`."""
    res = subprocess.run([tshark, "-G", "fields"], capture_output=True, text=True, env=tshark_env())
    out = {}
    for line in res.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) >= 4 and cols[0] == "F":
            out[cols[2]] = (cols[3], cols[5] if len(cols) > 5 else "")
    return out


def walk_tree(node, visit, path=(), exclude=()):
    """Depth-first walk in tree order.  visit(key, value, path) is called for
    every leaf value (str); subtrees (objects) are entered unless their key is
    in `exclude`.  No-dup arrays are expanded in order.  '*_raw' keys
    (tshark -x) are skipped."""
    for key, val in node:
        if key.endswith("_raw"):
            continue
        items = val if (isinstance(val, list) and not isinstance(val, Obj)) else [val]
        for item in items:
            if isinstance(item, Obj):
                if key not in exclude:
                    walk_tree(item, visit, path + (key,), exclude)
            else:
                visit(key, item, path)


def _flatten(node, exclude=()) -> dict:
    out: dict = {}

    def visit(key, val, _path):
        out.setdefault(key, []).append(val)

    walk_tree(node, visit, exclude=exclude)
    return out


@dataclass
class Record:
    frame: int
    index: int
    fields: dict  # name -> list of raw values (tshark strings or our JSON values)
    has_s7: bool = False
    error: object = None  # our protos7.error


def _layer_entries(layers: Obj):
    """Expand the top-level layer list into (name, subtree) in order; in
    --no-duplicate-keys output repeated layers are arrays."""
    out = []
    for key, val in layers:
        if key.endswith("_raw"):
            continue
        if isinstance(val, list) and not isinstance(val, Obj):
            out.extend((key, v) for v in val)
        else:
            out.append((key, val))
    return out


def _is_dt_eot(cotp_fields: dict) -> bool:
    return cotp_fields.get("cotp.type", [""])[0] == "0x0f" and cotp_fields.get("cotp.eot", ["0"])[0] == "1"


def records_from_packet(layers: Obj, mode: str, exclude=()) -> list:
    """Build this frame's records (one per TPKT) from its tshark layers.
    Subtrees named in `exclude` are not walked (see fields.txt exclude_under)."""
    entries = _layer_entries(layers)
    frame_no = int(_flatten(dict(entries)["frame"])["frame.number"][0])
    recs = []
    if mode == "dup":
        # Exact: duplicate-key output keeps the layer order
        # tpkt, cotp, [cotp.segments], [s7comm], tpkt, cotp, ...
        cur = None
        for k, v in entries:
            if k == "tpkt":
                cur = Record(frame_no, len(recs), _flatten(v, exclude))
                recs.append(cur)
            elif k in ("cotp", "cotp.segments", "s7comm") and cur is not None:
                for name, vals in _flatten(v, exclude).items():
                    cur.fields.setdefault(name, []).extend(vals)
                cur.has_s7 |= k == "s7comm"
        return recs
    # nodup: tpkt[i] <-> cotp[i]; S7 PDUs (and the cotp.segments tree of a
    # COTP reassembly) attach, in order, to the DTs with EOT=1.
    tpkts = [v for k, v in entries if k == "tpkt"]
    cotps = [v for k, v in entries if k == "cotp"]
    segs = [v for k, v in entries if k == "cotp.segments"]
    s7s = [v for k, v in entries if k == "s7comm"]
    if len(cotps) != len(tpkts):
        raise RuntimeError("frame %d: %d tpkt vs %d cotp layers; rerun with --tshark-json dup"
                           % (frame_no, len(tpkts), len(cotps)))
    for i, (t, c) in enumerate(zip(tpkts, cotps)):
        f = _flatten(t, exclude)
        f.update(_flatten(c, exclude))
        recs.append(Record(frame_no, i, f))
    hosts = [r for r in recs if _is_dt_eot(r.fields)]
    if len(recs) > 1 and (len(s7s) != len(hosts) or segs):
        raise RuntimeError("frame %d: cannot attribute %d s7comm layers to %d COTP DT(EOT=1) "
                           "TPDUs unambiguously; rerun with --tshark-json dup"
                           % (frame_no, len(s7s), len(hosts)))
    if len(s7s) > len(hosts):
        raise RuntimeError("frame %d: s7comm layer without a COTP DT(EOT=1)" % frame_no)
    for seg in segs:  # single-TPKT frame here
        recs[-1].fields.update(_flatten(seg, exclude))
    for r, s in zip(hosts, s7s):
        r.fields.update(_flatten(s, exclude))
        r.has_s7 = True
    return recs


class Records(list):
    """tshark's records, plus `retransmitted`: the frames whose TCP segment tshark flagged as a
    retransmission (tcp.analysis.retransmission, also set for spurious ones) and therefore did
    not hand to TPKT at all (FIELDS.md section 7.3)."""

    def __init__(self):
        super().__init__()
        self.retransmitted = set()


def _is_retransmission(layers: Obj) -> bool:
    tcp = [v for k, v in _layer_entries(layers) if k == "tcp"]
    found = []

    def visit(key, _val, _path):
        if key == "tcp.analysis.retransmission":
            found.append(key)

    for t in tcp:
        if isinstance(t, Obj):
            walk_tree(t, visit)
    return bool(found)


def tshark_records(pcap: str, tshark: str = "tshark", mode: str = "nodup", exclude=()) -> Records:
    pkts = _load_pairs(run_tshark_json(pcap, tshark, mode))
    recs = Records()
    for pkt in pkts:
        layers = dict(dict(pkt)["_source"])["layers"]
        frame_recs = records_from_packet(layers, mode, exclude)
        if not frame_recs and _is_retransmission(layers):
            fno = int(_flatten(dict(_layer_entries(layers))["frame"])["frame.number"][0])
            recs.retransmitted.add(fno)
        recs.extend(frame_recs)
    return recs


# ---------------------------------------------------------------------------
# field set and normalisation
# ---------------------------------------------------------------------------

_TS_RE = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}), (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?: \S+)?$")
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}


class NormError(ValueError):
    pass


def norm_int(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s, 16) if s.lower().startswith("0x") else int(s, 10)
        except ValueError:
            pass
    raise NormError("not an integer: %r" % (v,))


def norm_bytes(v):
    if isinstance(v, str):
        s = v.replace(":", "").lower()
        if re.fullmatch(r"(?:[0-9a-f]{2})*", s):
            return s
    raise NormError("not a hex byte string: %r" % (v,))


def norm_str(v):
    if isinstance(v, str):
        return v
    raise NormError("not a string: %r" % (v,))


def norm_time(v):
    """tshark renders FT_ABSOLUTE_TIME as 'Aug 20, 2014 11:59:43.912000000 UTC'
    (local zone of the tshark process; we run it with TZ=UTC).  Normal form:
    'YYYY-MM-DDTHH:MM:SS.mmm' (S7 timestamps have millisecond resolution; any
    non-zero sub-millisecond digits are kept)."""
    if isinstance(v, str):
        m = _TS_RE.match(v)
        if m:
            mon, day, year, hh, mm, ss, frac = m.groups()
            y, mo, d = int(year), _MONTHS.get(mon, 0), int(day)
        else:
            m = _ISO_RE.match(v)
            if not m:
                raise NormError("not a timestamp: %r" % (v,))
            year, mon, day, hh, mm, ss, frac = m.groups()
            y, mo, d = int(year), int(mon), int(day)
        frac = (frac or "").ljust(3, "0")
        frac = frac[:3] + frac[3:].rstrip("0")
        return "%04d-%02d-%02dT%s:%s:%s.%s" % (y, mo, d, hh, mm, ss, frac)
    raise NormError("not a timestamp: %r" % (v,))


NORMALISERS = {"int": norm_int, "bool": norm_int, "bytes": norm_bytes,
               "str": norm_str, "time": norm_time}

FTYPE_NORM = [  # for 'auto' rules, from `tshark -G fields`
    (re.compile(r"FT_U?INT\d+|FT_BOOLEAN|FT_FRAMENUM|FT_CHAR"), "int"),
    (re.compile(r"FT_BYTES|FT_UINT_BYTES"), "bytes"),
    (re.compile(r"FT_STRINGZ?|FT_UINT_STRING|FT_STRINGZPAD|FT_STRINGZTRUNC"), "str"),
    (re.compile(r"FT_ABSOLUTE_TIME"), "time"),
]


@dataclass
class Rule:
    pattern: str
    norm: str
    skip_if: list  # [(field, normalised value)]
    group: str


class FieldSet:
    """fields.txt: `[group]` headers, `NAME-or-GLOB  NORM  [skip_if=F:V ...]`
    rules, and `exclude_under SUBTREE-KEY` directives (tshark values inside
    that subtree are not extracted at all)."""

    def __init__(self, path: str, tshark: str = "tshark"):
        self.path = path
        self.rules: list = []
        self.exclude_under: list = []
        self._read(path)
        self._ftypes = None
        self._tshark = tshark
        self._cache: dict = {}

    def _read(self, path: str, depth: int = 0) -> None:
        group = ""
        with open(path, encoding="utf-8") as fh:
            for ln, line in enumerate(fh, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                if line.startswith("[") and line.endswith("]"):
                    group = line[1:-1].strip()
                    continue
                parts = line.split()
                if parts[0] == "include" and len(parts) == 2 and depth < 8:
                    self._read(os.path.join(os.path.dirname(path), parts[1]), depth + 1)
                    continue
                if parts[0] == "exclude_under" and len(parts) == 2:
                    self.exclude_under.append(parts[1])
                    continue
                if parts[0] == "no_exclude_under" and len(parts) == 2:
                    self.exclude_under = [k for k in self.exclude_under if k != parts[1]]
                    continue
                if len(parts) < 2 or (parts[1] not in NORMALISERS and parts[1] != "auto"):
                    raise SystemExit("%s:%d: expected 'FIELD NORM [skip_if=F:V]'" % (path, ln))
                skip = []
                for p in parts[2:]:
                    if not p.startswith("skip_if=") or ":" not in p[8:]:
                        raise SystemExit("%s:%d: bad option %r" % (path, ln, p))
                    f, v = p[8:].split(":", 1)
                    skip.append((f, v))
                self.rules.append(Rule(parts[0], parts[1], skip, group))

    def rule_for(self, name: str):
        if name in self._cache:
            return self._cache[name]
        found = None
        for r in self.rules:  # exact names win over globs
            if r.pattern == name:
                found = r
                break
        if found is None:
            for r in self.rules:
                if any(c in r.pattern for c in "*?[") and fnmatch.fnmatchcase(name, r.pattern):
                    found = r
                    break
        if found is not None and found.norm == "auto":
            if self._ftypes is None:
                self._ftypes = tshark_field_types(self._tshark)
            ft = self._ftypes.get(name, ("", ""))[0]
            norm = next((n for rx, n in FTYPE_NORM if rx.fullmatch(ft)), None)
            found = None if norm is None else Rule(found.pattern, norm, found.skip_if, found.group)
        self._cache[name] = found
        return found

    def normalise(self, name: str, values: list):
        rule = self.rule_for(name)
        fn = NORMALISERS[rule.norm]
        return [fn(v) for v in values]

    def skipped(self, name: str, rec_fields: dict) -> bool:
        """True if a skip_if=F:V condition of NAME's rule holds in this record
        (values compared as integers when both parse as integers)."""
        rule = self.rule_for(name)
        for f, v in rule.skip_if:
            vals = rec_fields.get(f)
            if not vals:
                continue
            try:
                if norm_int(vals[0]) == norm_int(v):
                    return True
            except NormError:
                if vals[0] == v:
                    return True
        return False


def as_list(v):
    return v if isinstance(v, list) else [v]


def expected_object(rec: Record, fs: FieldSet) -> dict:
    """The JSONL object our dump must print for this tshark record."""
    obj = {"frame.number": rec.frame}
    for name, vals in rec.fields.items():
        if fs.rule_for(name) is None or fs.skipped(name, rec.fields):
            continue
        nv = fs.normalise(name, vals)
        obj[name] = nv[0] if len(nv) == 1 else nv
    return obj


# ---------------------------------------------------------------------------
# our side
# ---------------------------------------------------------------------------


def parse_ours(text: str, source: str) -> list:
    recs = []
    per_frame: dict = {}
    for ln, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise RuntimeError("%s:%d: not JSON: %s" % (source, ln, e))
        if not isinstance(obj, dict) or not isinstance(obj.get("frame.number"), int):
            raise RuntimeError("%s:%d: object without integer \"frame.number\"" % (source, ln))
        fno = obj.pop("frame.number")
        idx = per_frame.get(fno, 0)
        per_frame[fno] = idx + 1
        err = obj.pop("protos7.error", None)
        fields = {k: as_list(v) for k, v in obj.items()}
        recs.append(Record(fno, idx, fields, has_s7=any(k.startswith("s7comm.") for k in fields),
                           error=err))
    return recs


def run_dump(cmd_template: str, pcap: str) -> str:
    cmd = cmd_template.replace("{pcap}", shlex.quote(pcap))
    res = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("dump command failed (%d): %s\n%s" % (res.returncode, cmd, res.stderr.strip()[-2000:]))
    return res.stdout


# ---------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------


@dataclass
class CaptureResult:
    capture: str
    compared: int = 0
    compared_s7: int = 0
    fields_compared: int = 0
    passed: int = 0
    failed: int = 0
    mismatches: list = field(default_factory=list)  # (frame, index, field, tshark, ours)
    only_tshark: list = field(default_factory=list)  # (frame, index, summary)
    only_ours: list = field(default_factory=list)
    ignored_our_keys: dict = field(default_factory=dict)
    s7_total: int = 0    # tshark's records with an S7 PDU
    s7_equal: int = 0    # ... that our dump printed equal (moved ones included)
    moved: list = field(default_factory=list)       # (tshark frame, our frame, index)
    retransmitted: list = field(default_factory=list)  # our records tshark did not dissect


ABSENT = "<absent>"


def _norm_side(fs: FieldSet, name: str, vals, strict: bool = False):
    """Normalise one side's values.  strict (used for our side unless
    --lenient-ours): every value must already be in normal form, i.e. a JSON
    integer for int/bool fields, lowercase unseparated hex for bytes, the ISO
    form for time; anything else is reported as a mismatch."""
    try:
        nv = fs.normalise(name, vals)
    except NormError as e:
        return "<unnormalisable: %s>" % e
    if strict:
        for raw, n in zip(vals, nv):
            if raw != n or isinstance(raw, bool):
                return "<not in normal form: %s>" % json.dumps(raw)
    return nv


def _summary(rec: Record) -> str:
    f = rec.fields
    bits = []
    for k in ("cotp.type", "cotp.eot", "s7comm.header.rosctr", "s7comm.param.func",
              "s7comm.param.userdata.funcgroup", "s7comm.param.userdata.subfunc"):
        if k in f:
            bits.append("%s=%s" % (k.split(".")[-1], f[k][0]))
    return " ".join(bits)


def _differences(t: Record, o: Record, fs: FieldSet, strict: bool, res: CaptureResult) -> list:
    """The (field, tshark value, our value) triples where record o differs from record t."""
    diffs = []
    if o.error is not None:
        diffs.append(("protos7.error", "(decoded)", json.dumps(o.error)))
    names = [k for k in t.fields if fs.rule_for(k) is not None]
    names += [k for k in o.fields if k not in t.fields and fs.rule_for(k) is not None]
    for name in names:
        if fs.skipped(name, t.fields) or fs.skipped(name, o.fields):
            continue
        tv = _norm_side(fs, name, t.fields[name]) if name in t.fields else ABSENT
        ov = _norm_side(fs, name, o.fields[name], strict) if name in o.fields else ABSENT
        res.fields_compared += 1
        if tv != ov:
            diffs.append((name, tv, ov))
    return diffs


def _reconcile_retransmissions(res: CaptureResult, tmap: dict, omap: dict, fs: FieldSet,
                               strict: bool, retransmitted: set) -> None:
    """Our capture reader keeps every byte a retransmitted TCP segment adds, tshark does not
    dissect a segment it flags as a retransmission (FIELDS.md section 7.3). Two cases are
    reconciled, both only in frames tshark flagged so: a PDU tshark dissected in the segment
    after a hole, which our reader attributes to the retransmission that filled the hole (equal
    in every field: counted equal, listed as moved), and records only our reader sees there
    (listed, not failed). Every other one-sided record stays a failure."""
    only_t = [k for k in res.only_tshark_keys]
    only_o = [k for k in res.only_ours_keys]
    for tk in only_t:
        t = tmap[tk]
        for ok in sorted(k for k in only_o if k[0] in retransmitted and k[0] > tk[0]):
            if not _differences(t, omap[ok], fs, strict, CaptureResult("")):
                res.moved.append((tk[0], ok[0], ok[1]))
                only_o.remove(ok)
                res.only_tshark_keys.remove(tk)
                res.passed += 1
                res.compared += 1
                res.compared_s7 += 1 if t.has_s7 else 0
                res.s7_equal += 1 if t.has_s7 else 0
                break
    for ok in [k for k in only_o if k[0] in retransmitted]:
        res.retransmitted.append((ok[0], ok[1], _summary(omap[ok])))
        only_o.remove(ok)
    res.only_ours_keys = only_o


def compare_capture(capture: str, theirs: list, ours: list, fs: FieldSet,
                    strict: bool = True) -> CaptureResult:
    res = CaptureResult(os.path.basename(capture))
    tmap = {(r.frame, r.index): r for r in theirs}
    omap = {(r.frame, r.index): r for r in ours}
    res.s7_total = sum(1 for r in theirs if r.has_s7)
    res.only_tshark_keys, res.only_ours_keys = [], []
    for key in sorted(set(tmap) | set(omap)):
        t, o = tmap.get(key), omap.get(key)
        if o is None:
            res.only_tshark_keys.append(key)
            continue
        if t is None:
            res.only_ours_keys.append(key)
            continue
        res.compared += 1
        res.compared_s7 += 1 if t.has_s7 else 0
        for k in o.fields:
            if fs.rule_for(k) is None:
                res.ignored_our_keys[k] = res.ignored_our_keys.get(k, 0) + 1
        diffs = _differences(t, o, fs, strict, res)
        res.mismatches.extend((key[0], key[1], n, tv, ov) for n, tv, ov in diffs)
        if diffs:
            res.failed += 1
        else:
            res.passed += 1
            res.s7_equal += 1 if t.has_s7 else 0
    _reconcile_retransmissions(res, tmap, omap, fs, strict, getattr(theirs, "retransmitted", set()))
    for k in res.only_tshark_keys:
        res.only_tshark.append((k[0], k[1], _summary(tmap[k])))
    for k in res.only_ours_keys:
        res.only_ours.append((k[0], k[1], _summary(omap[k])))
    res.failed += len(res.only_tshark) + len(res.only_ours)
    return res


def _fmt(v) -> str:
    if isinstance(v, list) and len(v) == 1:
        v = v[0]
    s = v if isinstance(v, str) else json.dumps(v)
    return s if len(s) <= 120 else s[:117] + "..."


def report(res: CaptureResult, max_report: int, out=sys.stdout) -> None:
    print("== %s: %d records compared (%d with an S7 PDU), %d fields compared, "
          "%d mismatches, %d only in tshark, %d only in ours"
          % (res.capture, res.compared, res.compared_s7, res.fields_compared,
             len(res.mismatches), len(res.only_tshark), len(res.only_ours)), file=out)
    print("   S7 PDUs equal: %d of %d" % (res.s7_equal, res.s7_total), file=out)
    for tf, of, oi in res.moved:
        print("   MOVED %s frame %d -> %d #%d: equal, attributed to the TCP retransmission that "
              "filled the hole before it" % (res.capture, tf, of, oi), file=out)
    for frame, idx, summ in res.retransmitted:
        print("   RETRANSMITTED %s frame %d #%d %s: tshark does not dissect a segment it flags "
              "as a retransmission" % (res.capture, frame, idx, summ), file=out)
    shown = 0
    for frame, idx, name, tv, ov in res.mismatches:
        if shown >= max_report:
            print("   ... %d more mismatches" % (len(res.mismatches) - shown), file=out)
            break
        print("   MISMATCH %s frame %d #%d %s: tshark=%s ours=%s"
              % (res.capture, frame, idx, name, _fmt(tv), _fmt(ov)), file=out)
        shown += 1
    for label, lst in (("ONLY-TSHARK", res.only_tshark), ("ONLY-OURS", res.only_ours)):
        for i, (frame, idx, summ) in enumerate(lst):
            if i >= max_report:
                print("   ... %d more %s records" % (len(lst) - i, label), file=out)
                break
            print("   %s %s frame %d #%d %s" % (label, res.capture, frame, idx, summ), file=out)
    if res.ignored_our_keys:
        print("   note: keys in ours outside the field set (not compared): %s"
              % ", ".join("%s(%d)" % kv for kv in sorted(res.ignored_our_keys.items())[:20]), file=out)


# ---------------------------------------------------------------------------
# modes
# ---------------------------------------------------------------------------


def emit_expected(pcap: str, fs: FieldSet, tshark: str, mode: str, out=sys.stdout) -> int:
    for rec in tshark_records(pcap, tshark, mode, fs.exclude_under):
        out.write(json.dumps(expected_object(rec, fs), separators=(",", ":")) + "\n")
    return 0


def diff_mode(args, fs: FieldSet) -> int:
    total_pass = total_fail = s7_equal = s7_total = 0
    for cap in args.captures:
        theirs = tshark_records(cap, args.tshark, args.tshark_json, fs.exclude_under)
        if args.dump_cmd:
            text = run_dump(args.dump_cmd, cap)
            src = "dump-cmd(%s)" % os.path.basename(cap)
        else:
            path = os.path.join(args.ours_dir, os.path.splitext(os.path.basename(cap))[0] + ".jsonl")
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            src = path
        res = compare_capture(cap, theirs, parse_ours(text, src), fs, not args.lenient_ours)
        report(res, args.max_report)
        total_pass += res.passed
        total_fail += res.failed
        s7_equal += res.s7_equal
        s7_total += res.s7_total
    print("S7 PDUs equal over all captures: %d of %d" % (s7_equal, s7_total))
    print("%d passed, %d failed" % (total_pass, total_fail))
    return 1 if total_fail else 0


def self_test(args, fs: FieldSet) -> int:
    """1) identity through the real --dump-cmd path: the script's own
    --emit-expected output fed back as 'ours' must give 0 mismatches;
    2) one value altered must give exactly 1 mismatch and 1 failed record;
    3) one record dropped must give exactly 1 only-in-tshark record;
    4) --no-duplicate-keys and duplicate-key extraction must agree;
    5) explicit normalisers in the field set must agree with tshark's ftypes."""
    ok = True
    total_pass = total_fail = 0
    me = shlex.quote(os.path.abspath(__file__))
    emit_cmd = "%s %s --emit-expected {pcap} --fields %s --tshark %s --tshark-json %s" % (
        shlex.quote(sys.executable), me, shlex.quote(fs.path), shlex.quote(args.tshark), args.tshark_json)

    ftypes = tshark_field_types(args.tshark)
    for r in fs.rules:
        if any(c in r.pattern for c in "*?[") or r.norm == "auto":
            continue
        ft = ftypes.get(r.pattern, ("?", ""))[0]
        want = next((n for rx, n in FTYPE_NORM if rx.fullmatch(ft)), None)
        have = {"bool": "int"}.get(r.norm, r.norm)
        # a date-like FT_STRING (s7comm.blockinfo.*_timestamp) may be normalised as time
        if want != have and not (want == "str" and have == "time"):
            print("SELF-TEST FAIL: %s declared %s but tshark ftype is %s" % (r.pattern, r.norm, ft))
            ok = False
    print("self-test 5 (field-set normalisers vs tshark -G fields ftypes): %s" % ("PASS" if ok else "FAIL"))

    for cap in args.captures:
        name = os.path.basename(cap)
        theirs = tshark_records(cap, args.tshark, args.tshark_json, fs.exclude_under)
        other = tshark_records(cap, args.tshark, "dup" if args.tshark_json == "nodup" else "nodup",
                               fs.exclude_under)
        same = [(r.frame, r.index, r.fields) for r in theirs] == [(r.frame, r.index, r.fields) for r in other]
        print("self-test 4 %s: nodup vs dup extraction identical over %d records: %s"
              % (name, len(theirs), "PASS" if same else "FAIL"))
        ok &= same

        text = run_dump(emit_cmd, cap)
        res = compare_capture(cap, theirs, parse_ours(text, "self"), fs)
        good = not res.mismatches and not res.only_ours and not res.only_tshark and res.compared == len(theirs)
        print("self-test 1 %s: identity: %d records (%d S7), %d fields compared, %d mismatches, "
              "%d passed, %d failed: %s" % (name, res.compared, res.compared_s7, res.fields_compared,
                                            len(res.mismatches), res.passed, res.failed,
                                            "PASS" if good else "FAIL"))
        if not good:
            report(res, args.max_report)
        ok &= good
        total_pass += res.passed
        total_fail += res.failed

        lines = text.splitlines()
        # alter: the last integer field of the first record with an S7 PDU
        tgt = next(i for i, ln in enumerate(lines) if '"s7comm.header.pduref"' in ln)
        obj = json.loads(lines[tgt])
        obj["s7comm.header.pduref"] = as_list(obj["s7comm.header.pduref"])[0] + 1
        altered = lines[:tgt] + [json.dumps(obj)] + lines[tgt + 1:]
        res2 = compare_capture(cap, theirs, parse_ours("\n".join(altered), "self-altered"), fs)
        good2 = len(res2.mismatches) == 1 and res2.failed == 1 and not res2.only_ours and not res2.only_tshark
        print("self-test 2 %s: one altered value (frame %d s7comm.header.pduref): %d mismatch(es), "
              "%d failed: %s" % (name, obj["frame.number"], len(res2.mismatches), res2.failed,
                                 "PASS" if good2 else "FAIL"))
        if args.verbose or not good2:
            report(res2, args.max_report)
        ok &= good2

        # drop one record of a frame that has exactly one record (dropping one of
        # several would shift the indexes of the later ones)
        counts: dict = {}
        for r in theirs:
            counts[r.frame] = counts.get(r.frame, 0) + 1
        drop = next((i for i, ln in enumerate(lines)
                     if '"s7comm.header' in ln and counts.get(json.loads(ln)["frame.number"]) == 1), None)
        if drop is None:
            print("self-test 3 %s: one record dropped: SKIP (no single-record frame)" % name)
            continue
        dropped = lines[:drop] + lines[drop + 1:]
        res3 = compare_capture(cap, theirs, parse_ours("\n".join(dropped), "self-dropped"), fs)
        good3 = len(res3.only_tshark) == 1 and not res3.mismatches and not res3.only_ours and res3.failed == 1
        print("self-test 3 %s: one record dropped (frame %d): %d only-in-tshark, %d mismatches, %d failed: %s"
              % (name, json.loads(lines[drop])["frame.number"], len(res3.only_tshark), len(res3.mismatches),
                 res3.failed, "PASS" if good3 else "FAIL"))
        ok &= good3
    print("self-test overall: %s" % ("PASS" if ok else "FAIL"))
    print("%d passed, %d failed" % (total_pass, total_fail))
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring / FIELDS.md for details.")
    ap.add_argument("captures", nargs="*", metavar="CAPTURE")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--dump-cmd", help="shell command printing our JSONL; {pcap} is replaced by the quoted capture path")
    src.add_argument("--ours-dir", help="directory holding <capture-stem>.jsonl files")
    src.add_argument("--emit-expected", metavar="CAPTURE", help="print tshark's side as our JSONL and exit")
    src.add_argument("--self-test", action="store_true", help="prove the comparer passes on identity and fails on a change")
    ap.add_argument("--fields", default=DEFAULT_FIELDS, help="field set file (default: %(default)s)")
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("--tshark-json", choices=["nodup", "dup"], default="nodup",
                    help="run tshark with --no-duplicate-keys (default) or without it")
    ap.add_argument("--lenient-ours", action="store_true",
                    help="accept any spelling the normalisers understand in our JSONL (\"0x1f\", \"0a:0b\", ...)")
    ap.add_argument("--max-report", type=int, default=200, help="max mismatch lines per capture")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (skipped) with a message when a CAPTURE does not exist")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    missing = [c for c in args.captures if not os.path.exists(c)]
    if args.skip_missing and missing:
        print("SKIP: %d capture(s) not found, e.g. %s (set PROTOS7_FIELD_PCAP_DIR at configure "
              "time to the directory of the field captures)" % (len(missing), missing[0]))
        return 77

    fs = FieldSet(args.fields, args.tshark)
    if args.emit_expected:
        try:
            return emit_expected(args.emit_expected, fs, args.tshark, args.tshark_json)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except (RuntimeError, OSError) as e:
            print("error: %s" % e, file=sys.stderr)
            return 2
    try:
        if args.self_test:
            if not args.captures:
                args.captures = [os.path.join(DEFAULT_CAPTURE_DIR, c) for c in SIX_CAPTURES]
            return self_test(args, fs)
        if not args.captures or not (args.dump_cmd or args.ours_dir):
            ap.print_usage(sys.stderr)
            print("error: need --dump-cmd or --ours-dir and at least one CAPTURE", file=sys.stderr)
            print("0 passed, 0 failed")
            return 2
        return diff_mode(args, fs)
    except (RuntimeError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        print("0 passed, 0 failed")
        return 2


if __name__ == "__main__":
    sys.exit(main())
