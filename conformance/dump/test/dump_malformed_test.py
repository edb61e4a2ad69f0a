#!/usr/bin/env python3
"""`protos7 dump --json` prints a malformed PDU with its codec error and goes on.

Builds a capture (with synth_pcap.py's frame builder) holding: CR, CC, an S7 Job whose header
data length lies (says 4, carries 0), a TPKT-framed DT whose COTP LI points past the end, then a
valid Setup communication; checks each line of the dump. Usage: dump_malformed_test.py PROTOS7
"""
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "synth", os.path.join(HERE, "..", "..", "..", "conformance", "tshark_diff", "synth_pcap.py"))
synth = importlib.util.module_from_spec(spec)
spec.loader.exec_module(synth)


def build(path):
    c_seq, s_seq, pkts = 1000, 5000, []

    def send(frm_cli, payload, flags=0x18):
        nonlocal c_seq, s_seq
        if frm_cli:
            pkts.append(synth.frame(synth.CLI, synth.SRV, c_seq, s_seq, flags, payload))
            c_seq += len(payload) + (1 if flags & 0x02 else 0)
        else:
            pkts.append(synth.frame(synth.SRV, synth.CLI, s_seq, c_seq, flags, payload))
            s_seq += len(payload) + (1 if flags & 0x02 else 0)

    send(True, b"", 0x02)
    send(False, b"", 0x12)
    send(True, b"", 0x10)
    send(True, synth.CR)                                           # frame 4
    send(False, synth.CC)                                          # frame 5
    lying = struct.pack(">BBHHHH", 0x32, 1, 0, 7, len(synth.SETUP), 4) + synth.SETUP
    send(True, synth.dt(lying))                                    # frame 6: datlg 4, 0 present
    send(True, synth.tpkt(bytes([9, 0xF0, 0x80])))                 # frame 7: LI 9 past the end
    send(True, synth.dt(synth.s7_job(8, synth.SETUP)))             # frame 8: valid
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)))
            f.write(p)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        pcap = os.path.join(d, "malformed.pcap")
        build(pcap)
        out = subprocess.run([exe, "dump", "--json", pcap], capture_output=True, text=True, check=True)
        recs = [json.loads(line) for line in out.stdout.splitlines()]
        text = subprocess.run([exe, "dump", pcap], capture_output=True, text=True, check=True).stdout
    checks = [
        ("4 records", len(recs) == 5 and [r["frame.number"] for r in recs] == [4, 5, 6, 7, 8]),
        ("CR decodes", "protos7.error" not in recs[0] and recs[0]["cotp.type"] == 14),
        ("lying data length reported",
         recs[2].get("protos7.error") == {"code": "s7_length_mismatch", "layer": "s7_header", "offset": 13}),
        ("header fields still shown", recs[2].get("s7comm.header.pduref") == 7),
        ("COTP LI past end reported",
         recs[3].get("protos7.error") == {"code": "cotp_li_past_end", "layer": "cotp", "offset": 4}),
        ("next PDU decodes", "protos7.error" not in recs[4] and recs[4].get("s7comm.param.pdu_length") == 480),
        ("text form names the error", "ERROR s7_length_mismatch (layer s7_header, offset 13)" in text),
    ]
    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    if failed:
        print(json.dumps(recs, indent=1))
    print("%d passed, %d failed" % (len(checks) - len(failed), len(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
