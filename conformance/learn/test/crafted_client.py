#!/usr/bin/env python3
"""Sends deliberately wrong S7 traffic to `protos7 serve --validate`, one connection per case.

    crafted_client.py HOST PORT CASE...

Cases (each must make the validator's report for its connection name the deviation in brackets):

  over_pdu       Setup Communication asking for PDU 240, then a Write Var job of 300 bytes
                 in two DT segments                                [pdu_over_negotiated_size]
  lying_tpkt     a Read Var job whose TPKT length claims 2 bytes more than the PDU, followed by a
                 second job whose first 2 bytes it swallows        [tpkt_length_disagrees]
  reused_ref     Max AmQ 2 negotiated, then two Read Var jobs with the same PDU reference sent
                 before the first is answered                      [pdu_ref_reused]
  correct        the same session done right (CR, Setup, Read Var, Write Var): no deviation

Each connection is closed by the client when its case is done (after reading what the server
answered within 0.5 s).
"""
import socket
import struct
import sys
import time


def tpkt(payload: bytes, lie: int = 0) -> bytes:
    return struct.pack(">BBH", 3, 0, 4 + len(payload) + lie) + payload


def dt(s7: bytes, eot: bool = True) -> bytes:
    return bytes([0x02, 0xF0, 0x80 if eot else 0x00]) + s7


# CR: PG connection (calling 0x0100) to rack 0 slot 2 (called 0x0102), TPDU size 1024.
CR = tpkt(bytes.fromhex("11e00000000100c1020100c2020102c0010a"))


def job(ref: int, param: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">BBHHHH", 0x32, 1, 0, ref, len(param), len(data)) + param + data


def setup(ref: int, amq: int, pdu: int) -> bytes:
    return job(ref, struct.pack(">BBHHH", 0xF0, 0, amq, amq, pdu))


def any_item(tsize: int, count: int, db: int, area: int, byte: int) -> bytes:
    addr = byte * 8
    return bytes([0x12, 0x0A, 0x10, tsize]) + struct.pack(">HHB", count, db, area) + addr.to_bytes(3, "big")


def read_var(ref: int, count: int = 4) -> bytes:
    return job(ref, bytes([0x04, 1]) + any_item(0x02, count, 1, 0x84, 0))


def write_var(ref: int, data: bytes) -> bytes:
    param = bytes([0x05, 1]) + any_item(0x02, len(data), 1, 0x84, 0)
    return job(ref, param, bytes([0x00, 0x04]) + struct.pack(">H", len(data) * 8) + data)


def session(host: str, port: int, frames, pause: float = 0.1):
    with socket.create_connection((host, port), timeout=3) as s:
        s.settimeout(0.5)
        for f in frames:
            if f == "wait":
                time.sleep(pause)
                try:
                    s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    pass
                continue
            s.sendall(f)
        time.sleep(0.3)
        try:
            while s.recv(65536):
                pass
        except (socket.timeout, ConnectionResetError, OSError):
            pass


def case_correct(host, port):
    session(host, port, [CR, "wait", tpkt(dt(setup(1, 1, 480))), "wait", tpkt(dt(read_var(2))), "wait",
                         tpkt(dt(write_var(3, b"\x01\x02\x03\x04"))), "wait"])


def case_over_pdu(host, port):
    pdu = write_var(2, bytes(range(256)) + bytes(18))  # 12 + 14 + 4 + 274 = 304 bytes
    assert len(pdu) > 240
    session(host, port, [CR, "wait", tpkt(dt(setup(1, 1, 240))), "wait",
                         tpkt(dt(pdu[:150], eot=False)), tpkt(dt(pdu[150:])), "wait"])


def case_lying_tpkt(host, port):
    first = dt(read_var(2))
    second = tpkt(dt(read_var(3)))
    # The first frame's length field claims 2 bytes more: it ends inside the second frame.
    session(host, port, [CR, "wait", tpkt(dt(setup(1, 1, 480))), "wait", tpkt(first, lie=2) + second, "wait"])


def case_reused_ref(host, port):
    session(host, port, [CR, "wait", tpkt(dt(setup(1, 2, 480))), "wait",
                         tpkt(dt(read_var(7))) + tpkt(dt(read_var(7))), "wait"])


CASES = {"correct": case_correct, "over_pdu": case_over_pdu, "lying_tpkt": case_lying_tpkt,
         "reused_ref": case_reused_ref}


def main():
    if len(sys.argv) < 4 or any(c not in CASES for c in sys.argv[3:]):
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    for c in sys.argv[3:]:
        CASES[c](host, port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
