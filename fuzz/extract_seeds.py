#!/usr/bin/env python3
"""Extract per-target fuzz seeds from the Wireshark s7comm sample captures.

The captures are read, never copied: the directory is $PROTOS7_PCAP_DIR, else
../shared/pcaps/wireshark next to the repository (--pcap-dir overrides both). Classic pcap over
Ethernet is decoded here with the standard library only: TCP is reassembled per direction (in
sequence order, retransmissions dropped, stopping at a hole), cut into TPKT frames, COTP DTs are
reassembled into S7 PDUs.

Seeds written, one file per seed named by the SHA-1 of its content, under OUT/<target>/:

  tpkt_framer     control byte + chunk sizes + a TPKT byte stream (a window of frames of one
                  direction; see tpkt_framer.cpp for the control byte), in three chunkings
  cotp            every distinct TPDU shape (CR, CC, DT + each S7 seed, DR ...) and, in the
                  record form | len | TPDU |..., S7 PDUs cut into several DTs (reassembly)
  roundtrip_cotp  the TPDUs
  s7_header, roundtrip_s7   every S7 seed
  s7_job, s7_ack_data, userdata   the S7 seeds of ROSCTR 1 / 3 / 7
  szl             the data-unit payloads of Read SZL requests and responses
  capture         small synthetic pcap/pcapng files built from the first frames' payloads of a
                  connection (several link types, IPv6, VLAN, reordering, a retransmission, a
                  lost segment, a TPKT split over segments): no sample capture is copied

The S7 PDUs of the twelve field captures ($PROTOS7_FIELD_PCAP_DIR, else ../shared/pcaps/field;
pcapng is read too) are added to s7_header, roundtrip_s7, s7_job, s7_ack_data and userdata.

S7 PDUs are deduplicated by shape (PDU reference and Userdata sequence number zeroed; at most
--per-shape PDUs per ROSCTR, parameter, data length). With --merge BUILD_DIR (a libFuzzer build,
e.g. build-fuzz) each target's seeds are then minimized with `fuzz_<target> -merge=1`.

usage: extract_seeds.py [--pcap-dir DIR] [--out DIR] [--replace] [--merge BUILD_DIR]
"""
import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SAMPLES = [
    "s7comm_downloading_block_db1.pcap",
    "s7comm_program_blocklist_onlineview.pcap",
    "s7comm_reading_plc_status.pcap",
    "s7comm_reading_setting_plc_time.pcap",
    "s7comm_varservice_libnodavedemo.pcap",
    "s7comm_varservice_libnodavedemo_bench.pcap",
]
# The field captures (../shared/pcaps/field, $PROTOS7_FIELD_PCAP_DIR): their S7 PDUs add the
# Userdata layouts, syntax ids and item kinds the samples lack (programmer commands, cyclic
# services, alarms, DBREAD...) to the S7 targets. Skipped with a note when absent.
FIELD_CAPTURES = [
    "s7comm_clean.pcap", "snap7_s300_everything.pcapng", "step7_s300_AuthPassword.pcapng",
    "step7_s300_readDiagData.pcapng", "step7_s300_readVarTab.pcapng", "step7_s300_stop.pcapng",
    "tia_s300_downloadOb1.pcapng", "tia_s300_flashLed.pcapng", "tia_s300_goOnline.pcapng",
    "wincc_s300_setup-alarm-read.pcapng", "wincc_s300_setup-alarm-read_2.pcapng",
    "wincc_s400_production.pcapng",
]
TARGETS = ["tpkt_framer", "cotp", "s7_header", "s7_job", "s7_ack_data", "userdata", "szl",
           "capture", "roundtrip_cotp", "roundtrip_s7"]
# -max_len per target; run_ci.sh and oss-fuzz/build.sh use the same values.
MAX_LEN = {"tpkt_framer": 8192, "cotp": 2048, "capture": 16384}
DEFAULT_MAX_LEN = 1024


# --- reading the captures -------------------------------------------------------------------

def read_pcapng(data):
    """Yields (frame_number, linktype, packet bytes) of a pcapng file (SHB, IDB, EPB, SPB)."""
    pos, n, endian, links = 0, 0, "<", []
    while pos + 12 <= len(data):
        btype = struct.unpack(endian + "I", data[pos:pos + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: its byte-order magic sets the endianness
            endian = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(endian + "I", data[pos + 4:pos + 8])[0]
        if blen < 12 or pos + blen > len(data):
            return
        body = data[pos + 8:pos + blen - 4]
        if btype == 1 and len(body) >= 2:
            links.append(struct.unpack(endian + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, _, _, caplen = struct.unpack(endian + "IIII", body[:16])
            n += 1
            yield n, links[iface] if iface < len(links) else -1, body[20:20 + caplen]
        elif btype == 3 and len(body) >= 4:
            n += 1
            yield n, links[0] if links else -1, body[4:]
        pos += blen


def read_pcap(path):
    """Yields (frame_number, linktype, packet bytes) of a classic pcap or a pcapng file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        yield from read_pcapng(data)
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    pos, n = 24, 0
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        n += 1
        yield n, linktype, data[pos:pos + incl]
        pos += incl


def tcp_segments(path):
    """Yields (frame, (src, sport), (dst, dport), seq, flags, payload) of the IPv4 TCP frames."""
    for frame, linktype, pkt in read_pcap(path):
        if linktype != 1 or len(pkt) < 14:
            continue
        ethertype, off = struct.unpack(">H", pkt[12:14])[0], 14
        while ethertype in (0x8100, 0x88A8) and len(pkt) >= off + 4:
            ethertype, off = struct.unpack(">H", pkt[off + 2:off + 4])[0], off + 4
        if ethertype != 0x0800:
            continue
        ip = pkt[off:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:total]
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        yield frame, (ip[12:16], sport), (ip[16:20], dport), seq, tcp[13], tcp[doff:]


def streams(path):
    """Reassembled TCP connections: [(client->server bytes, server->client bytes)]."""
    conns = {}  # frozenset of endpoints -> {"order": [...], endpoint: {...}}
    for frame, src, dst, seq, flags, payload in tcp_segments(path):
        key = frozenset((src, dst))
        c = conns.setdefault(key, {"client": None, "dirs": {}})
        if flags & 0x02 and not flags & 0x10:  # SYN without ACK: src is the client
            c["client"] = src
        d = c["dirs"].setdefault(src, {"isn": None, "segs": []})
        if flags & 0x02:
            d["isn"] = (seq + 1) & 0xFFFFFFFF
        elif payload:
            d["segs"].append((seq, frame, payload))
    out = []
    for key, c in conns.items():
        if len(key) != 2 or 102 not in [e[1] for e in key]:
            continue
        client = c["client"] or next((e for e in key if e[1] != 102), None)
        if client is None:
            continue
        server = next(e for e in key if e != client)
        pair = []
        for ep in (client, server):
            d = c["dirs"].get(ep, {"isn": None, "segs": []})
            pair.append(reassemble(d["isn"], d["segs"]))
        out.append(tuple(pair))
    return out


def reassemble(isn, segs):
    if not segs:
        return b""
    base = isn if isn is not None else segs[0][0]
    rel = sorted((((s - base) & 0xFFFFFFFF), fr, p) for s, fr, p in segs)
    data, nxt = bytearray(), 0
    for off, _, p in rel:
        if off > nxt:
            break  # a hole: stop, seeds must be real streams
        if off + len(p) > nxt:
            data += p[nxt - off:]
            nxt = off + len(p)
    return bytes(data)


def tpkt_frames(stream):
    pos, frames = 0, []
    while pos + 4 <= len(stream) and stream[pos] == 3:
        length = struct.unpack(">H", stream[pos + 2:pos + 4])[0]
        if length < 7 or pos + length > len(stream):
            break
        frames.append(stream[pos:pos + length])
        pos += length
    return frames


def s7_pdus(frames):
    """COTP DT reassembly of one direction: the S7 PDUs."""
    pdus, pending = [], b""
    for fr in frames:
        tpdu = fr[4:]
        if len(tpdu) < 3 or tpdu[1] >> 4 != 0xF:
            continue
        li = tpdu[0]
        pending += tpdu[1 + li:]
        if tpdu[2] & 0x80:
            if pending:
                pdus.append(pending)
            pending = b""
    return pdus


# --- seeds -----------------------------------------------------------------------------------

def shape(pdu):
    """A PDU with the fields that vary between otherwise identical requests zeroed."""
    b = bytearray(pdu)
    if len(b) >= 6:
        b[4:6] = b"\0\0"  # PDU reference
    hs = 12 if len(b) > 1 and b[1] in (2, 3) else 10
    if len(b) >= hs + 8 and b[1] == 7:
        b[hs + 7] = 0  # Userdata sequence number
    return bytes(b)


def shape_key(pdu):
    b = shape(pdu)
    if len(b) < 10:
        return b
    hs = 12 if b[1] in (2, 3) else 10
    plen = struct.unpack(">H", b[6:8])[0]
    return (b[1], b[hs:hs + plen], len(b) - hs - plen)


def dt(user, eot=True, nr=0):
    return bytes([2, 0xF0, (0x80 if eot else 0) | (nr & 0x7F)]) + user


def tpkt(payload):
    return struct.pack(">BBH", 3, 0, 4 + len(payload)) + payload


def szl_payloads(pdu):
    """Data-unit payload of a Read SZL (group 4, sub 1) Userdata PDU, or None."""
    if len(pdu) < 10 or pdu[0] != 0x32 or pdu[1] != 7:
        return None
    plen, dlen = struct.unpack(">HH", pdu[6:10])
    param, data = pdu[10:10 + plen], pdu[10 + plen:10 + plen + dlen]
    if len(param) < 8 or param[:3] != b"\x00\x01\x12" or len(data) < 4:
        return None
    if param[5] & 0x0F != 4 or param[6] != 1:
        return None
    return data[4:]


# --- synthetic captures for the capture target ----------------------------------------------

CLIENT_IP, SERVER_IP = bytes([192, 168, 0, 10]), bytes([192, 168, 0, 1])
CLIENT_IP6 = bytes.fromhex("fe800000000000000000000000000010")
SERVER_IP6 = bytes.fromhex("fe800000000000000000000000000001")


def tcp_header(sport, dport, seq, ack, flags, payload):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 8192, 0, 0) + payload


def ipv4(src, dst, seg):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0x4000, 64, 6, 0, src, dst) + seg


def ipv6(src, dst, seg):
    return struct.pack(">IHBB16s16s", 6 << 28, len(seg), 6, 64, src, dst) + seg


def ether(ip_packet, v6=False, vlan=False):
    eth = b"\x00\x1b\x1b\x00\x00\x01" + b"\x00\x0c\x29\x00\x00\x02"
    if vlan:
        eth += b"\x81\x00\x00\x05"
    return eth + (b"\x86\xdd" if v6 else b"\x08\x00") + ip_packet


def conversation(c2s, s2c):
    """TCP segments of a connection: handshake, then the frames alternating, then FIN."""
    cseq, sseq = 1000, 5000
    segs = [(0, 0x02, cseq, 0, b""), (1, 0x12, sseq, cseq + 1, b""), (0, 0x10, cseq + 1, sseq + 1, b"")]
    cseq += 1
    sseq += 1
    for i in range(max(len(c2s), len(s2c))):
        for side, frames in ((0, c2s), (1, s2c)):
            if i < len(frames):
                if side == 0:
                    segs.append((0, 0x18, cseq, sseq, frames[i]))
                    cseq += len(frames[i])
                else:
                    segs.append((1, 0x18, sseq, cseq, frames[i]))
                    sseq += len(frames[i])
    segs.append((0, 0x11, cseq, sseq, b""))
    segs.append((1, 0x11, sseq, cseq + 1, b""))
    return segs


def packets(segs, link="ether", v6=False, vlan=False):
    out = []
    for side, flags, seq, ack, payload in segs:
        sport, dport = (40000, 102) if side == 0 else (102, 40000)
        src, dst = (CLIENT_IP, SERVER_IP) if side == 0 else (SERVER_IP, CLIENT_IP)
        seg = tcp_header(sport, dport, seq, ack, flags, payload)
        if v6:
            src, dst = (CLIENT_IP6, SERVER_IP6) if side == 0 else (SERVER_IP6, CLIENT_IP6)
            ip = ipv6(src, dst, seg)
        else:
            ip = ipv4(src, dst, seg)
        if link == "ether":
            out.append(ether(ip, v6, vlan))
        elif link == "raw":
            out.append(ip)
        elif link == "sll":
            out.append(struct.pack(">HHH8sH", 0 if side == 1 else 4, 1, 6, b"\0" * 8, 0x86DD if v6 else 0x0800) + ip)
        elif link == "null":
            out.append(struct.pack("<I", 24 if v6 else 2) + ip)
    return out


def pcap_file(pkts, linktype, nano=False, big=False):
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, p in enumerate(pkts):
        out += struct.pack(e + "IIII", 1408528800 + i, 1000 * i, len(p), len(p)) + p
    return out


def pcapng_file(pkts, linktype):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", linktype, 0, 65535))
    for i, p in enumerate(pkts):
        out += block(6, struct.pack("<IIIII", 0, 0, i, len(p), len(p)) + p)
    return out


def capture_seeds(conns):
    """Small synthetic captures from the first frames of the first connections."""
    seeds = []
    for c2s, s2c in conns:
        a, b = tpkt_frames(c2s)[:3], tpkt_frames(s2c)[:3]
        if not a or not b:
            continue
        segs = conversation(a, b)
        seeds.append(pcap_file(packets(segs), 1))
        seeds.append(pcap_file(packets(segs, vlan=True), 1, nano=True, big=True))
        seeds.append(pcap_file(packets(segs, "raw"), 101))
        seeds.append(pcap_file(packets(segs, "sll"), 113))
        seeds.append(pcap_file(packets(segs, "null"), 0))
        seeds.append(pcap_file(packets(segs, v6=True), 1))
        seeds.append(pcapng_file(packets(segs), 1))
        data = [i for i, s in enumerate(segs) if s[4]]
        reordered = list(segs)
        reordered[data[0]], reordered[data[2]] = reordered[data[2]], reordered[data[0]]
        seeds.append(pcap_file(packets(reordered), 1))
        seeds.append(pcap_file(packets(segs[:data[1] + 1] + [segs[data[1]]] + segs[data[1] + 1:]), 1))
        seeds.append(pcap_file(packets(segs[:data[2]] + segs[data[2] + 1:]), 1))
        # One TPKT split over two segments, then two TPKTs in one segment.
        side, flags, seq, ack, p = segs[data[0]]
        split = segs[:data[0]] + [(side, flags, seq, ack, p[:5]), (side, flags, seq + 5, ack, p[5:])]
        rest = segs[data[0] + 1:]
        split += rest
        seeds.append(pcap_file(packets(split), 1))
        seeds.append(pcap_file(packets(segs[:3] + [(0, 0x18, 1001, 5001, a[0] + a[1])] + [segs[-2]]), 1))
        seeds.append(pcap_file(packets(segs[:3] + [(0, 0x04, 1001, 5001, b"")]), 1))  # RST
        if len(seeds) >= 26:
            break  # two connections' worth
    return seeds


# --- main ------------------------------------------------------------------------------------

def field_seeds(args, seeds, s7_seen, s7_count):
    """The S7 PDUs of the field captures, deduplicated by shape with those of the samples."""
    for name in FIELD_CAPTURES:
        path = os.path.join(args.field_dir, name)
        if not os.path.exists(path):
            print("extract_seeds: %s not found, its seeds are skipped (set PROTOS7_FIELD_PCAP_DIR "
                  "or --field-dir)" % path, file=sys.stderr)
            continue
        for c2s, s2c in streams(path):
            for stream in (c2s, s2c):
                for pdu in s7_pdus(tpkt_frames(stream)):
                    if len(pdu) < 10 or pdu[0] != 0x32 or len(pdu) > DEFAULT_MAX_LEN:
                        continue
                    sh, key = shape(pdu), shape_key(pdu)
                    if sh in s7_seen or s7_count.get(key, 0) >= args.per_shape:
                        continue
                    s7_seen.add(sh)
                    s7_count[key] = s7_count.get(key, 0) + 1
                    seeds["s7_header"].append(pdu)
                    seeds["roundtrip_s7"].append(pdu)
                    by_type = {1: "s7_job", 3: "s7_ack_data", 7: "userdata"}.get(pdu[1])
                    if by_type:
                        seeds[by_type].append(pdu)


def write_seeds(out_dir, target, seeds, replace):
    d = os.path.join(out_dir, target)
    os.makedirs(d, exist_ok=True)
    if replace:
        for name in os.listdir(d):
            if len(name) == 40 and all(ch in "0123456789abcdef" for ch in name):
                os.remove(os.path.join(d, name))
    n = 0
    for s in seeds:
        name = hashlib.sha1(s).hexdigest()
        path = os.path.join(d, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(s)
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap-dir", default=os.environ.get("PROTOS7_PCAP_DIR",
                                                         os.path.join(REPO, "..", "shared", "pcaps", "wireshark")))
    ap.add_argument("--field-dir", default=os.environ.get(
        "PROTOS7_FIELD_PCAP_DIR", os.path.join(REPO, "..", "shared", "pcaps", "field")))
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--replace", action="store_true", help="remove the seeds (sha1-named files) already in OUT/<target>")
    ap.add_argument("--merge", metavar="BUILD_DIR", help="minimize with BUILD_DIR/fuzz/fuzz_<target> -merge=1")
    ap.add_argument("--per-shape", type=int, default=2, help="S7 PDUs kept per shape (default 2)")
    args = ap.parse_args()

    seeds = {t: [] for t in TARGETS}
    s7_seen, s7_count, tpdu_seen = set(), {}, set()
    all_conns = []
    for name in SAMPLES:
        path = os.path.join(args.pcap_dir, name)
        if not os.path.exists(path):
            sys.exit("extract_seeds: %s not found (set PROTOS7_PCAP_DIR or --pcap-dir)" % path)
        conns = streams(path)
        all_conns.extend([c for c in conns if c[0] and c[1]][:1])
        for c2s, s2c in conns:
            for stream in (c2s, s2c):
                frames = tpkt_frames(stream)
                # tpkt_framer: windows of up to 12 frames / 1500 bytes at a few places.
                for start in range(0, min(len(frames), 60), 20):
                    window = b""
                    for fr in frames[start:start + 12]:
                        if len(window) + len(fr) > 1500:
                            break
                        window += fr
                    if window:
                        seeds["tpkt_framer"].append(b"\x00" + window)            # one read
                        seeds["tpkt_framer"].append(b"\x03\x01\x05\xc8" + window)  # reads of 1, 5, 200
                        seeds["tpkt_framer"].append(b"\x71\x0b" + window)          # 7-byte storage
                for fr in frames:
                    tpdu = fr[4:]
                    if len(tpdu) >= 2 and tpdu[1] >> 4 != 0xF and tpdu not in tpdu_seen:
                        tpdu_seen.add(tpdu)
                        seeds["cotp"].append(tpdu)
                for pdu in s7_pdus(frames):
                    if len(pdu) < 10 or pdu[0] != 0x32:
                        continue
                    sh, key = shape(pdu), shape_key(pdu)
                    if sh in s7_seen or s7_count.get(key, 0) >= args.per_shape:
                        continue
                    s7_seen.add(sh)
                    s7_count[key] = s7_count.get(key, 0) + 1
                    seeds["s7_header"].append(pdu)
                    seeds["roundtrip_s7"].append(pdu)
                    by_type = {1: "s7_job", 3: "s7_ack_data", 7: "userdata"}.get(pdu[1])
                    if by_type:
                        seeds[by_type].append(pdu)
                    if len(pdu) <= 1021:
                        seeds["cotp"].append(dt(pdu))
                    szl = szl_payloads(pdu)
                    if szl is not None:
                        seeds["szl"].append(szl)
    field_seeds(args, seeds, s7_seen, s7_count)
    # The reassembly form of the cotp target: | len | TPDU | records, PDUs cut into DTs.
    pdus = seeds["s7_header"]
    for pdu in [p for p in pdus if len(p) > 30][:12]:
        cuts = [0, len(pdu) // 3, 2 * len(pdu) // 3, len(pdu)]
        rec = b""
        for i in range(3):
            t = dt(pdu[cuts[i]:cuts[i + 1]], eot=(i == 2), nr=i)
            if len(t) > 255:
                break
            rec += bytes([len(t)]) + t
        else:
            seeds["cotp"].append(rec)
    seeds["roundtrip_cotp"] = [s for s in seeds["cotp"] if s and s[0] != 0 and len(s) > s[0]]
    seeds["capture"] = capture_seeds(all_conns)

    if args.merge:
        for t in TARGETS:
            exe = os.path.join(args.merge, "fuzz", "fuzz_" + t)
            with tempfile.TemporaryDirectory() as raw, tempfile.TemporaryDirectory() as merged:
                write_seeds(raw, t, seeds[t], False)
                cmd = [exe, "-merge=1", "-max_len=%d" % MAX_LEN.get(t, DEFAULT_MAX_LEN), merged,
                       os.path.join(raw, t)]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                kept = []
                for name in sorted(os.listdir(merged)):
                    with open(os.path.join(merged, name), "rb") as f:
                        kept.append(f.read())
                print("%-15s %4d seeds, %4d after merge" % (t, len(set(seeds[t])), len(kept)))
                seeds[t] = kept
    total = 0
    for t in TARGETS:
        n = write_seeds(args.out, t, seeds[t], args.replace)
        size = sum(len(s) for s in set(seeds[t]))
        total += size
        print("%-15s %4d seeds (%d new), %7d bytes" % (t, len(set(seeds[t])), n, size))
    print("total %d bytes in %s" % (total, args.out))


if __name__ == "__main__":
    main()
