#!/usr/bin/env python3
"""Write a capture of S7 sessions that protos7 (its bundled profile) answers exactly: the
conformance kit's tests need captures of any length without a server to record them.

    synth_capture.py OUT.pcap --connections K --answers N [--inflight W] [--mismatch-every M]

K client connections (10.0.0.x:4000+k -> 10.0.0.254:102) each do CR/CC and Setup communication
(Max AmQ W, PDU 480), then Read Var jobs of MB0..15 (BYTE 16), W in flight per connection, the
connections interleaved round by round as a server-side recorder (`serve --capture`) shows them:
the round's requests, then their answers. Together N Read Var answers (16 zero bytes: M is zero
in protos7). With --mismatch-every M, every M-th job reads MB100..115 instead and its answer
carries 0x01 in its first byte, always (a mismatch against protos7, not a byte the program
changes). Each connection ends with FIN both ways. python3 stdlib only.
"""
import argparse
import struct

ETH = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"


def tpkt(payload):
    return struct.pack(">BBH", 3, 0, 4 + len(payload)) + payload


def dt(s7):
    return tpkt(bytes([2, 0xF0, 0x80]) + s7)


CR = tpkt(bytes([17, 0xE0, 0, 0, 0, 1, 0, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2, 0xC0, 1, 0x0A]))
# The CC as protos7 sends it but for its source reference, 0xBEEF, which protos7 never picks
# (always `equivalent` by cc_srcref, however many connections the server had before).
CC = tpkt(bytes([17, 0xD0, 0, 1, 0xBE, 0xEF, 0, 0xC0, 1, 0x0A, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2]))


def setup_job(ref, amq):
    param = bytes([0xF0, 0]) + struct.pack(">HHH", amq, amq, 480)
    return dt(struct.pack(">BBHHHH", 0x32, 1, 0, ref, len(param), 0) + param)


def setup_ack(ref, amq):
    param = bytes([0xF0, 0]) + struct.pack(">HHH", amq, amq, 480)
    return dt(struct.pack(">BBHHHHBB", 0x32, 3, 0, ref, len(param), 0, 0, 0) + param)


def read_param(byte):
    bit = byte * 8  # S7ANY address: byte * 8 + bit, 24 bits
    return bytes([0x04, 1, 0x12, 0x0A, 0x10, 0x02, 0x00, 0x10, 0x00, 0x00, 0x83,
                  bit >> 16, (bit >> 8) & 0xFF, bit & 0xFF])


def read_job(ref, byte):
    param = read_param(byte)
    return dt(struct.pack(">BBHHHH", 0x32, 1, 0, ref, len(param), 0) + param)


def read_ack(ref, first):
    param = bytes([0x04, 1])
    data = bytes([0xFF, 0x04, 0x00, 0x80, first]) + bytes(15)
    return dt(struct.pack(">BBHHHHBB", 0x32, 3, 0, ref, len(param), len(data), 0, 0) + param + data)


class conn:
    def __init__(self, k):
        self.cli = (bytes([10, 0, 0, 1 + k % 250]), 4000 + k)
        self.srv = (bytes([10, 0, 0, 254]), 102)
        self.seq = [1000, 500000]

    def seg(self, from_client, payload, flags=0x18):
        src, dst = (self.cli, self.srv) if from_client else (self.srv, self.cli)
        s, a = (0, 1) if from_client else (1, 0)
        tcp = struct.pack(">HHIIBBHHH", src[1], dst[1], self.seq[s], self.seq[a], 5 << 4, flags,
                          65535, 0, 0) + payload
        self.seq[s] += len(payload) + (1 if flags & 0x03 else 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src[0],
                         dst[0])
        return ETH + ip + tcp


def write(path, connections, answers, inflight, mismatch_every):
    conns = [conn(k) for k in range(connections)]
    frames = []
    for c in conns:
        frames += [c.seg(True, b"", 0x02), c.seg(False, b"", 0x12), c.seg(True, b"", 0x10)]
        frames += [c.seg(True, CR), c.seg(False, CC)]
        frames += [c.seg(True, setup_job(0xFFFF, inflight)), c.seg(False, setup_ack(0xFFFF, inflight))]
    left, n, ref = answers, 0, [1] * connections
    while left > 0:
        for k, c in enumerate(conns):
            batch = min(inflight, left)
            if batch <= 0:
                break
            refs = [(ref[k] + i) % 65536 or 1 for i in range(batch)]
            ref[k] = (refs[-1] + 1) % 65536 or 1
            odd = [mismatch_every and (n + i + 1) % mismatch_every == 0 for i in range(batch)]
            frames.append(c.seg(True, b"".join(read_job(r, 100 if o else 0)
                                               for r, o in zip(refs, odd))))
            acks = [read_ack(r, 1 if o else 0) for r, o in zip(refs, odd)]
            n += batch
            frames.append(c.seg(False, b"".join(acks)))
            left -= batch
    for c in conns:
        frames += [c.seg(True, b"", 0x11), c.seg(False, b"", 0x11), c.seg(True, b"", 0x10)]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, len(p), len(p)))
            f.write(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--answers", type=int, default=1000)
    ap.add_argument("--inflight", type=int, default=4)
    ap.add_argument("--mismatch-every", type=int, default=0)
    a = ap.parse_args()
    write(a.out, a.connections, a.answers, a.inflight, a.mismatch_every)


if __name__ == "__main__":
    main()
