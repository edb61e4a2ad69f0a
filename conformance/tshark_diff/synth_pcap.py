#!/usr/bin/env python3
"""Write a small synthetic S7comm capture that exercises the framing cases the
six Wireshark sample captures do not contain (used to document tshark's
behaviour in FIELDS.md section 3; not part of the differential CI run):

  frame 6  one TCP segment carrying two TPKTs (two S7 PDUs in one frame)
  frame 7  first 10 bytes of a TPKT (S7 PDU split across TCP segments) ...
  frame 8  ... its remaining bytes followed by a second complete TPKT
  frame 9  COTP DT EOT=0 carrying the first 9 bytes of an S7 PDU ...
  frame 10 ... COTP DT EOT=1 carrying the rest (COTP segmentation, non-empty)

Usage: synth_pcap.py OUT.pcap      (python3 stdlib only)
"""
import struct
import sys

CLI, SRV = (bytes([10, 0, 0, 1]), 40000), (bytes([10, 0, 0, 2]), 102)


def tpkt(payload: bytes) -> bytes:
    return struct.pack(">BBH", 3, 0, 4 + len(payload)) + payload


def dt(s7: bytes, eot: bool = True) -> bytes:
    return tpkt(bytes([2, 0xF0, 0x80 if eot else 0x00]) + s7)


def s7_job(pduref: int, param: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">BBHHHH", 0x32, 1, 0, pduref, len(param), len(data)) + param + data


def s7_ackdata(pduref: int, param: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">BBHHHHBB", 0x32, 3, 0, pduref, len(param), len(data), 0, 0) + param + data


SETUP = bytes([0xF0, 0, 0, 1, 0, 1, 0x01, 0xE0])
# Read Var, 2 items: DB1.DBB0 BYTE 4 and M10.3 BIT 1
READ_REQ = bytes([0x04, 2,
                  0x12, 0x0A, 0x10, 0x02, 0x00, 0x04, 0x00, 0x01, 0x84, 0x00, 0x00, 0x00,
                  0x12, 0x0A, 0x10, 0x01, 0x00, 0x01, 0x00, 0x00, 0x83, 0x00, 0x00, 0x53])
READ_RSP_DATA = bytes([0xFF, 0x04, 0x00, 0x20, 1, 2, 3, 4,
                       0xFF, 0x03, 0x00, 0x01, 0x01])
CR = tpkt(bytes([17, 0xE0, 0, 0, 0, 1, 0, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2, 0xC0, 1, 0x0A]))
CC = tpkt(bytes([17, 0xD0, 0, 1, 0, 3, 0, 0xC0, 1, 0x0A, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2]))


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, seq, ack, flags, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, flags, 8192, 0, 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src[0], dst[0])
    ip = ip[:10] + struct.pack(">H", csum(ip)) + ip[12:]
    pseudo = src[0] + dst[0] + struct.pack(">BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack(">H", csum(pseudo + tcp)) + tcp[18:]
    eth = b"\x00\x1b\x1b\x00\x00\x02" + b"\x00\x1b\x1b\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp


def main(out: str) -> None:
    c_seq, s_seq = 1000, 5000
    pkts = []

    def send(frm_cli: bool, payload: bytes, flags: int = 0x18) -> None:
        nonlocal c_seq, s_seq
        if frm_cli:
            pkts.append(frame(CLI, SRV, c_seq, s_seq, flags, payload))
            c_seq += len(payload) + (1 if flags & 0x02 else 0)
        else:
            pkts.append(frame(SRV, CLI, s_seq, c_seq, flags, payload))
            s_seq += len(payload) + (1 if flags & 0x02 else 0)

    send(True, b"", 0x02)                      # 1 SYN
    send(False, b"", 0x12)                     # 2 SYN/ACK
    send(True, b"", 0x10)                      # 3 ACK
    send(True, CR)                             # 4 CR
    send(False, CC)                            # 5 CC
    send(True, dt(s7_job(1, SETUP)) + dt(s7_job(2, READ_REQ)))          # 6 two PDUs
    a = dt(s7_ackdata(1, SETUP))
    send(False, a[:10])                        # 7 first 10 bytes of TPKT
    send(False, a[10:] + dt(s7_ackdata(2, bytes([0x04, 2]), READ_RSP_DATA)))  # 8
    w = s7_job(3, READ_REQ)
    send(True, dt(w[:9], eot=False))           # 9 COTP DT EOT=0, 9 bytes of S7
    send(True, dt(w[9:], eot=True))            # 10 COTP DT EOT=1, rest

    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)))
            f.write(p)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
