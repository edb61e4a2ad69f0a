#!/usr/bin/env python3
"""Soak test of `protos7 serve` (issue #16): good S7 clients keep working while hostile traffic
runs at the same time; afterwards nothing acknowledged is lost and the server restarts whole.

    python3 server/test/soak.py build/dev/tools/protos7          # SOAK_SECONDS=180 by default
    SOAK_SECONDS=3600 python3 server/test/soak.py ...            # the release check (1 hour)

Good clients: 4 S7 connections (python, raw ISO-on-TCP) and the real third-party clients
node-snap7 and nodes7 (interop/soak_clients.js; skipped with a note when interop/node_modules is
missing), each writing an increasing counter to its own slots of DB7 and reading it back; every
request's latency is recorded.
Hostile, at the same time (all to 127.0.0.0/8, bounded in count and time):
  * malformed frames (bad TPKT versions and lengths, random bytes, S7 PDUs with garbage);
  * slowloris on S7 (a TPKT header dripped one byte a second) and on HTTP (header lines);
  * a connection flood from 127.0.0.2-127.0.0.41 up to --max-connections (the fd budget);
  * downloads of DBs (Request Download ... _INSE) until the CPU refuses (load memory / block
    count / work memory: 0x8301 / 0xD208 / 0x8306), then _DELE and download again;
  * oversized (Content-Length 100 MB) and chunked HTTP bodies.
At the end: p99 latency of the good clients < SOAK_P99_MS (default 250), server RSS <
SOAK_RSS_MB (default 100), every acknowledged write in DB7.bin, SIGTERM ends the server within
2 s, and a restart serves the same DB7 values and every downloaded DB.
Exit 0 pass, 1 fail, 77 skipped (no protos7 binary).
"""
import json
import os
import random
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
P99_MS = float(os.environ.get("SOAK_P99_MS", "250"))
RSS_MB = float(os.environ.get("SOAK_RSS_MB", "100"))
GOOD_CLIENTS = 4
NODE_CLIENTS = 2  # node-snap7 and nodes7, after the python clients' slots
SLOTS = 16  # DWORD slots per good client in DB7
ALL_SLOTS = (GOOD_CLIENTS + NODE_CLIENTS) * SLOTS
MAX_CONNECTIONS = 200
FD_LIMIT = 512  # ulimit -n of the server: 200 connections + the 192 of fd_headroom() fit
LOAD_MEMORY = 128 * 1024  # the soak profile's load memory: downloads reach it within seconds

stop = threading.Event()
lock = threading.Lock()
stats = {"latencies": [], "good_errors": [], "malformed": 0, "slow_s7": 0, "slow_http": 0, "flood_peak": 0,
         "flood_rounds": 0, "downloads": 0, "refusals": {}, "deleted": 0, "http_413": 0, "http_411": 0,
         "http_other": []}
live_dbs = set()  # downloaded DBs that exist now


# --- ISO-on-TCP / S7 ----------------------------------------------------------------------------
def tpkt(payload):
    return struct.pack(">BBH", 3, 0, 4 + len(payload)) + payload


def dt(pdu):
    return tpkt(b"\x02\xf0\x80" + pdu)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise ConnectionError("closed")
        b += chunk
    return b


def recv_pdu(s):
    h = recv_exact(s, 4)
    body = recv_exact(s, struct.unpack(">H", h[2:4])[0] - 4)
    return body[3:]  # after COTP DT


def s7_header(rosctr, ref, param, data=b""):
    err = b"\x00\x00" if rosctr in (2, 3) else b""  # Ack / Ack_Data carry the error class and code
    return struct.pack(">BBHHHH", 0x32, rosctr, 0, ref, len(param), len(data)) + err + param + data


def s7_connect(port, source="127.0.0.1", timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(tpkt(bytes.fromhex("11e00000000100c0010ac1020100c2020102")))
    h = recv_exact(s, 4)  # the CC: TPKT, then the rest
    recv_exact(s, struct.unpack(">H", h[2:4])[0] - 4)
    s.sendall(dt(s7_header(1, 0xFFFF, bytes.fromhex("f0000001000101e0"))))
    recv_pdu(s)
    return s


def header_error(pdu):
    return struct.unpack(">H", pdu[10:12])[0] if pdu[1] in (2, 3) else 0


def write_dword(s, ref, db, offset, value):
    param = bytes.fromhex("050112 0a 10 02 0004".replace(" ", "")) + struct.pack(">H", db) + b"\x84" + \
        (offset * 8).to_bytes(3, "big")
    data = b"\x00\x04\x00\x20" + struct.pack(">I", value)
    s.sendall(dt(s7_header(1, ref, param, data)))
    r = recv_pdu(s)
    if header_error(r) != 0:
        return header_error(r)
    return r[14]  # item return code (0xFF ok)


def read_bytes(s, ref, db, offset, n):
    param = bytes.fromhex("040112 0a 10 02".replace(" ", "")) + struct.pack(">HH", n, db) + b"\x84" + \
        (offset * 8).to_bytes(3, "big")
    s.sendall(dt(s7_header(1, ref, param)))
    r = recv_pdu(s)
    if header_error(r) != 0 or r[14] != 0xFF:
        return None
    return r[18:18 + n]


# --- good clients ---------------------------------------------------------------------------------
def good_client(port, k, acked, sent):
    s = None
    ref = 0
    value = 0
    while not stop.is_set():
        try:
            if s is None:
                s = s7_connect(port)
            slot = k * SLOTS + value % SLOTS
            value += 1
            ref = (ref + 1) & 0x7FFF
            sent[slot] = value
            t0 = time.monotonic()
            rc = write_dword(s, ref, 7, slot * 4, value)
            t1 = time.monotonic()
            if rc != 0xFF:
                raise RuntimeError(f"write rc 0x{rc:02X}")
            acked[slot] = value
            got = read_bytes(s, ref, 7, slot * 4, 4)
            t2 = time.monotonic()
            if got is None or struct.unpack(">I", got)[0] != value:
                raise RuntimeError(f"read back {got!r}, wrote {value}")
            with lock:
                stats["latencies"] += [t1 - t0, t2 - t1]
            time.sleep(0.005)
        except (OSError, ConnectionError, RuntimeError) as e:
            with lock:
                stats["good_errors"].append(f"client {k}: {e}")
            if s is not None:
                s.close()
            s = None
            time.sleep(0.2)
    if s is not None:
        s.close()


# --- hostile traffic ------------------------------------------------------------------------------
def malformed(port):
    frames = [b"\x04\x00\x00\x10" + b"\x00" * 12, b"\x03\x00\x00\x02", b"\x03\x00\xff\xff" + b"A" * 100,
              tpkt(b"\x02\xf0\x80" + b"\x32\x01" + os.urandom(30)), tpkt(os.urandom(40))]
    while not stop.is_set():
        try:
            src = f"127.0.0.{random.randint(50, 60)}"
            s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(src, 0))
            if random.random() < 0.5:
                s.sendall(tpkt(bytes.fromhex("11e00000000100c0010ac1020100c2020102")))
            s.sendall(random.choice(frames) + os.urandom(random.randint(0, 64)))
            s.settimeout(0.5)
            try:
                s.recv(4096)
            except OSError:
                pass
            s.close()
            with lock:
                stats["malformed"] += 1
        except OSError:
            pass
        time.sleep(0.02)


def slowloris(port, payload, key, count=5):
    while not stop.is_set():
        socks = []
        for i in range(count):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=2,
                                                      source_address=(f"127.0.0.{70 + i}", 0)))
            except OSError:
                pass
        for i in range(len(payload)):
            if stop.is_set():
                break
            for s in list(socks):
                try:
                    s.sendall(payload[i:i + 1])
                except OSError:
                    socks.remove(s)
            if not socks:
                break
            time.sleep(1)
        for s in socks:
            s.close()
        with lock:
            stats[key] += count


def flood(port):
    while not stop.is_set():
        socks = []
        for i in range(MAX_CONNECTIONS + 50):
            if stop.is_set():
                break
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=1,
                                                      source_address=(f"127.0.0.{2 + i % 40}", 0)))
            except OSError:
                break
        time.sleep(1.0)
        open_now = 0
        for s in socks:  # the server closes what it refused: count the ones it kept
            s.setblocking(False)
            try:
                open_now += 0 if s.recv(1) == b"" else 1
            except BlockingIOError:
                open_now += 1
            except OSError:
                pass
            s.close()
        with lock:
            stats["flood_peak"] = max(stats["flood_peak"], open_now)
            stats["flood_rounds"] += 1
        time.sleep(2.0)


# The PG's side of s7comm_downloading_block_db1.pcap (server/test/download_test.cpp): DB1 of 400
# zero bytes, the block number patched.
BLOCK = [bytes.fromhex("70700101050a0001000001f400000000029147602bb5029147602bb5001c000000000190" + "0" * 372),
         bytes.fromhex("0" * 428 + "0501000c00080011"),
         bytes.fromhex("0401100c010000c7000504010000010100000052545749000000000054657374484d49"
                       "0044415441444200000100c0df0000000000000000")]


def pi(s, name, db):
    arg = b"\x01\x00" + f"0A{db:05d}P".encode()
    param = bytes.fromhex("28000000000000fd00") + bytes([len(arg)]) + arg + bytes([len(name)]) + name.encode()
    s.sendall(dt(s7_header(1, 0x1A00, param)))
    return header_error(recv_pdu(s))


def download(s, db):
    """0 when DB `db` was downloaded and inserted, else the CPU's error."""
    fname = f"_0A{db:05d}P".encode()
    param = bytes.fromhex("1a00010000000000") + bytes([len(fname)]) + fname + b"\x0d1000500000400"
    s.sendall(dt(s7_header(1, 0x0E00, param)))
    err = header_error(recv_pdu(s))
    if err != 0:
        return err
    for i, part in enumerate(BLOCK):
        job = recv_pdu(s)  # the server's Download Block job
        if i == 0:
            part = part[:6] + struct.pack(">H", db) + part[8:]
        more = 1 if i < 2 else 0
        data = struct.pack(">HH", len(part), 0x00FB) + part
        s.sendall(dt(s7_header(3, struct.unpack(">H", job[4:6])[0], bytes([0x1B, more]), data)))
    job = recv_pdu(s)  # Download Ended (its error field: the CPU's verdict)
    ended_error = struct.unpack(">H", job[12:14])[0] if len(job) >= 14 else 0  # job header 10, then 1C xx word
    s.sendall(dt(struct.pack(">BBHHHHBB", 0x32, 3, 0, struct.unpack(">H", job[4:6])[0], 1, 0, 0, 0) + b"\x1c"))
    if ended_error != 0:
        return ended_error
    return pi(s, "_INSE", db)


def downloader(port):
    s = s7_connect(port, "127.0.0.90")
    db = 1000
    while not stop.is_set():
        try:
            err = download(s, db)
        except (OSError, ConnectionError) as e:
            with lock:
                stats["good_errors"].append(f"downloader: {e}")
            return
        with lock:
            if err == 0:
                stats["downloads"] += 1
                live_dbs.add(db)
            else:
                stats["refusals"][f"0x{err:04X}"] = stats["refusals"].get(f"0x{err:04X}", 0) + 1
        if err == 0:
            db += 1
            continue
        # Full: delete a few of ours and download again (churn within the limit).
        with lock:
            victims = sorted(live_dbs)[:5]
        for v in victims:
            if pi(s, "_DELE", v) == 0:
                with lock:
                    live_dbs.discard(v)
                    stats["deleted"] += 1
        db += 1
        time.sleep(0.5)
    s.close()


def http_bodies(web_port):
    reqs = [(b"POST /api/dbs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100000000\r\n\r\n" + b"{" * 1000, "http_413"),
            (b"POST /api/dbs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n100000\r\n" + b"[" * 1000, "http_411")]
    while not stop.is_set():
        for raw, key in reqs:
            try:
                s = socket.create_connection(("127.0.0.1", web_port), timeout=3, source_address=("127.0.0.100", 0))
                s.sendall(raw)
                status = s.recv(64).split(b" ")[1]
                s.close()
                with lock:
                    if status == key[-3:].encode():
                        stats[key] += 1
                    else:
                        stats["http_other"].append(status.decode())
            except (OSError, IndexError):
                pass
        time.sleep(0.2)


# --- the server -----------------------------------------------------------------------------------
def start_server(binary, work, profile):
    env = dict(os.environ, PROTOS7_WEBADMIN_TOKEN="soak-" + os.urandom(12).hex())
    log = open(os.path.join(work, "log"), "ab")
    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1", "--port", "0", "--webadmin-listen", "127.0.0.1:0",
                          "--data-dir", os.path.join(work, "data"), "-b", os.path.join(work, "bin"),
                          "--profile", profile, "--max-connections", str(MAX_CONNECTIONS),
                          "--max-connections-per-address", "16", "--frame-timeout", "3s", "--setup-timeout", "3s",
                          "--log-level", "info"],
                         stdout=log, stderr=log, env=env,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT)))
    ports = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(ports) < 2:
        with open(os.path.join(work, "log"), "rb") as f:
            text = f.read().decode(errors="replace")
        for line in text.splitlines()[-50:]:
            if "listening on 127.0.0.1:" in line:
                ports["s7"] = int(line.rsplit(":", 1)[1].split()[0])
            m = re.search(r"web admin on (?:http://)?127\.0\.0\.1:(\d+)", line)
            if m:
                ports["web"] = int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.1)
    if len(ports) < 2:
        p.kill()
        sys.exit(f"soak: protos7 did not start:\n{text[-2000:]}")
    return p, ports


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_node_clients(here, port):
    """node-snap7 and nodes7 (interop/soak_clients.js) as good clients, or None when not set up."""
    interop = os.path.normpath(os.path.join(here, "..", "..", "interop"))
    if not os.path.isdir(os.path.join(interop, "node_modules", "node-snap7")):
        print("soak: node-snap7 / nodes7 not set up (bash interop/setup.sh): python clients only")
        return None
    env = dict(os.environ, S7_PORT=str(port), SOAK_SECONDS=str(max(1.0, SECONDS - 3)), SOAK_DB="7",
               SOAK_FIRST_SLOT=str(GOOD_CLIENTS * SLOTS), SOAK_SLOTS=str(SLOTS))
    return subprocess.Popen(["node", os.path.join(interop, "soak_clients.js")], env=env, cwd=interop,
                            stdout=subprocess.PIPE, text=True)


def finish_node_clients(node, acked, sent):
    """Waits for the node clients; merges their slots and errors; returns their latencies (ms)."""
    if node is None:
        return []
    try:
        out, _ = node.communicate(timeout=60)
        result = json.loads(out.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
        node.kill()
        stats["good_errors"].append(f"node clients gave no result: {e}")
        return []
    for slot, v in result["slots"].items():
        acked[int(slot)], sent[int(slot)] = v["acked"], v["sent"]
    stats["good_errors"].extend(result["errors"])
    return result["latencies_ms"]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/dev/tools/protos7"
    if not os.access(binary, os.X_OK):
        print(f"soak: skipped: no protos7 at {binary}")
        return 77
    here = os.path.dirname(os.path.abspath(__file__))
    work = tempfile.mkdtemp(prefix="protos7-soak-")
    os.makedirs(os.path.join(work, "bin"))
    with open(os.path.join(work, "bin", "DB7.bin"), "wb") as f:
        f.write(bytes(ALL_SLOTS * 4))
    with open(os.path.join(here, "..", "profiles", "s7-300.json")) as f:
        prof = json.load(f)
    prof["limits"]["load_memory"] = LOAD_MEMORY
    profile = os.path.join(work, "profile.json")
    with open(profile, "w") as f:
        json.dump(prof, f)

    srv, ports = start_server(binary, work, profile)
    print(f"soak: {SECONDS:.0f} s against protos7 pid {srv.pid} (S7 {ports['s7']}, web {ports['web']}), in {work}")
    acked = [0] * ALL_SLOTS
    sent = [0] * ALL_SLOTS
    node = start_node_clients(here, ports["s7"])
    threads = [threading.Thread(target=good_client, args=(ports["s7"], k, acked, sent)) for k in range(GOOD_CLIENTS)]
    threads += [threading.Thread(target=malformed, args=(ports["s7"],)),
                threading.Thread(target=slowloris, args=(ports["s7"], b"\x03\x00\x00\x20" + b"\x02\xf0\x80" * 9,
                                                         "slow_s7")),
                threading.Thread(target=slowloris, args=(ports["web"], b"GET /api/dbs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                         b"X-a: " + b"b" * 40, "slow_http")),
                threading.Thread(target=flood, args=(ports["s7"],)),
                threading.Thread(target=downloader, args=(ports["s7"],)),
                threading.Thread(target=http_bodies, args=(ports["web"],))]
    for t in threads:
        t.start()
    peak_rss = 0.0
    end = time.monotonic() + SECONDS
    while time.monotonic() < end and srv.poll() is None:
        peak_rss = max(peak_rss, rss_mb(srv.pid))
        time.sleep(1)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    node_lat = finish_node_clients(node, acked, sent)
    final_rss = rss_mb(srv.pid) if srv.poll() is None else 0.0
    peak_rss = max(peak_rss, final_rss)

    failures = []
    if srv.poll() is not None:
        failures.append(f"the server died during the soak (exit {srv.returncode})")
    t0 = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    try:
        srv.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv.wait()
    stop_s = time.monotonic() - t0

    lat = sorted(stats["latencies"])
    p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else float("inf")
    p50 = lat[len(lat) // 2] * 1000 if lat else float("inf")
    node_lat.sort()
    node_p99 = node_lat[int(len(node_lat) * 0.99)] if node_lat else 0.0
    with open(os.path.join(work, "bin", "DB7.bin"), "rb") as f:
        disk = f.read()
    lost = [i for i in range(len(acked))
            if struct.unpack(">I", disk[i * 4:i * 4 + 4])[0] not in (acked[i], sent[i])]

    srv2, ports2 = start_server(binary, work, profile)
    missing = []
    try:
        s = s7_connect(ports2["s7"])
        back = read_bytes(s, 1, 7, 0, len(disk))
        if back != disk:
            missing.append("DB7 differs from DB7.bin after the restart")
        for db in sorted(live_dbs):
            if read_bytes(s, 2, db, 0, 1) is None:
                missing.append(f"DB{db}")
        s.close()
    finally:
        srv2.send_signal(signal.SIGTERM)
        srv2.wait(timeout=10)

    print(f"soak: good clients: {len(lat)} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms (bound {P99_MS:.0f}), "
          f"{len(stats['good_errors'])} errors")
    if node is not None:
        print(f"soak: node-snap7 + nodes7: {len(node_lat)} requests, p50 "
              f"{node_lat[len(node_lat) // 2] if node_lat else float('inf'):.1f} ms, p99 {node_p99:.1f} ms")
    print(f"soak: hostile: {stats['malformed']} malformed connections, {stats['slow_s7']} S7 and "
          f"{stats['slow_http']} HTTP slowloris connections, {stats['flood_rounds']} floods (at most "
          f"{stats['flood_peak']} connections kept of {MAX_CONNECTIONS + 50} tried), {stats['downloads']} DB downloads "
          f"(refusals {stats['refusals']}, {stats['deleted']} deleted, {len(live_dbs)} at the end), "
          f"{stats['http_413']} x 413, {stats['http_411']} x 411 {stats['http_other'][:5]}")
    print(f"soak: server RSS peak {peak_rss:.1f} MB, at the end {final_rss:.1f} MB (bound {RSS_MB:.0f}); "
          f"SIGTERM -> exit in {stop_s:.2f} s; {len(lost)} acknowledged writes lost; restart: "
          f"{'all data back' if not missing else missing[:5]}")
    if stats["good_errors"]:
        failures.append(f"good clients failed: {stats['good_errors'][:5]}")
    if p99 > P99_MS:
        failures.append(f"p99 {p99:.1f} ms > {P99_MS} ms")
    if node is not None and (not node_lat or node_p99 > P99_MS):
        failures.append(f"node clients: {len(node_lat)} requests, p99 {node_p99:.1f} ms (bound {P99_MS} ms)")
    if peak_rss > RSS_MB:
        failures.append(f"RSS {peak_rss:.1f} MB > {RSS_MB} MB")
    if stop_s > 2.0:
        failures.append(f"SIGTERM took {stop_s:.2f} s")
    if lost:
        failures.append(f"acknowledged writes lost in slots {lost[:10]}")
    if missing:
        failures.append(f"missing after restart: {missing[:10]}")
    if not stats["refusals"]:
        failures.append("the downloads never reached the CPU's limit")
    if stats["http_413"] == 0 or stats["http_411"] == 0:
        failures.append("oversized / chunked bodies were not refused")
    for f in failures:
        print(f"soak: FAIL: {f}")
    if not failures:
        subprocess.run(["rm", "-rf", work], check=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
