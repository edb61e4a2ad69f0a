#!/usr/bin/python3
"""`protos7 serve` as operators run it (issue #17), end to end with the real binary:

  - --log-format json: every line of the server's log is a JSON object (time, level, msg);
  - GET /metrics (--metrics-listen) parses with Prometheus's own parser (prometheus_client) and
    counts exactly the requests this test made with `protos7 client`, per function, with the
    item error it caused and a latency observation per answer; GET /healthz answers 200;
  - a second server on the same data directory exits 75; one on a busy S7 port exits 69; one
    whose web admin address is busy exits 69 unless the web admin is disabled;
  - --listen ::1 serves IPv6 clients (skipped where the host has no IPv6 loopback);
  - SIGTERM ends the server with exit status 0.

    serve_operations.py PROTOS7        (exit 0 pass, 1 fail, 77 skipped: no prometheus_client)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("skipped: python3-prometheus-client is not installed")
    sys.exit(77)

BIN = os.path.abspath(sys.argv[1])
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


class Server:
    def __init__(self, tmp, *args):
        self.log = os.path.join(tmp, f"serve-{time.monotonic_ns()}.log")
        with open(self.log, "w") as f:
            self.p = subprocess.Popen([BIN, "serve", *args], stdout=f, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def wait(self, needle, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.text():
                return True
            if self.p.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def value_after(self, prefix):
        """The word after `prefix` in the log ("listening on 127.0.0.1:" -> the port)."""
        t = self.text()
        i = t.index(prefix) + len(prefix)
        j = i
        while j < len(t) and t[j].isdigit():
            j += 1
        return int(t[i:j])

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def client(port, *args, host="127.0.0.1"):
    return subprocess.run([BIN, "client", f"{host}:{port}", *args], capture_output=True, text=True,
                          timeout=30)


def metrics(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read().decode()
        ctype = r.headers["Content-Type"]
    samples = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, ctype


def json_line(line):
    try:
        return {"time", "level", "msg"} <= json.loads(line).keys()
    except (ValueError, AttributeError):
        return False


def run(tmp):
    a = Server(tmp, "--listen", "127.0.0.1", "--port", "0", "--metrics-listen", "127.0.0.1:0",
               "--flags.disable-webadmin", "--data-dir", os.path.join(tmp, "a"), "--log-format", "json")
    check(a.wait("serving;"), "server A starts")
    port = a.value_after("listening on 127.0.0.1:")
    mport = a.value_after("metrics on http://127.0.0.1:")
    made = {"read_var": 0, "write_var": 0, "read_szl": 0}
    for _ in range(3):
        check(client(port, "read", "DB1.DBW0").returncode == 0, "client read DB1.DBW0: exit 0")
        made["read_var"] += 1
    for v in (1, 2):
        check(client(port, "write", f"DB1.DBW10={v}").returncode == 0, "client write DB1.DBW10: exit 0")
        made["write_var"] += 1
    r = client(port, "read", "DB999.DBW0")
    check(r.returncode == 1 and "object does not exist" in r.stderr, "client read DB999.DBW0: exit 1")
    made["read_var"] += 1
    check(client(port, "szl", "0x0011").returncode == 0, "client szl 0x0011: exit 0")
    made["read_szl"] += 1
    connections = 7
    answers = connections + sum(made.values())
    ok = False
    for _ in range(50):  # the last answer's round may still be finishing
        samples, ctype = metrics(f"http://127.0.0.1:{mport}/metrics")
        if samples.get(("protos7_request_duration_seconds_count", ())) == answers:
            ok = True
            break
        time.sleep(0.05)
    check(ctype.startswith("text/plain; version=0.0.4"), f"/metrics content type {ctype}")
    check(ok, f"protos7_request_duration_seconds_count == {answers} (one per answer)")
    fn = lambda name, f: samples.get((name, (("function", f),)))
    check(fn("protos7_requests_total", "setup_communication") == connections, "setup requests counted")
    for f, n in made.items():
        check(fn("protos7_requests_total", f) == n, f"protos7_requests_total{{function={f}}} == {n}")
    check(fn("protos7_item_errors_total", "read_var") == 1, "one Read Var item error counted")
    check(fn("protos7_request_errors_total", "read_var") == 0, "no Read Var header error")
    check(samples.get(("protos7_connections_accepted_total", ())) == connections, "connections counted")
    check(samples.get(("protos7_commit_duration_seconds_count", ()), 0) >= 2, "commits timed")
    check(samples.get(("protos7_fsync_duration_seconds_count", ()), 0) >= 2, "fsyncs timed")
    with urllib.request.urlopen(f"http://127.0.0.1:{mport}/healthz", timeout=5) as h:
        check(h.status == 200 and json.loads(h.read())["status"] == "ok", "/healthz: 200 ok")

    b = Server(tmp, "--port", "0", "--flags.disable-webadmin", "--data-dir", os.path.join(tmp, "a"))
    check(b.p.wait(10) == 75 and "in use by another protos7" in b.text(), "same data dir: exit 75")
    c = Server(tmp, "--listen", "127.0.0.1", "--port", str(port), "--flags.disable-webadmin",
               "--data-dir", os.path.join(tmp, "c"))
    check(c.p.wait(10) == 69, "busy S7 port: exit 69")
    d = Server(tmp, "--port", "0", "--webadmin-listen", f"127.0.0.1:{mport}", "--webadmin-no-auth",
               "--data-dir", os.path.join(tmp, "d"))
    check(d.p.wait(10) == 69 and "web admin: cannot listen" in d.text(), "busy web admin port: exit 69")
    e = Server(tmp, "--port", "0", "--webadmin-listen", f"127.0.0.1:{mport}", "--flags.disable-webadmin",
               "--data-dir", os.path.join(tmp, "e"))
    check(e.wait("serving;") and e.stop() == 0, "busy web admin port with the web admin disabled: serves")

    v6 = Server(tmp, "--listen", "::1", "--port", "0", "--flags.disable-webadmin",
                "--data-dir", os.path.join(tmp, "v6"))
    if v6.wait("serving;"):
        p6 = v6.value_after("listening on [::1]:")
        r = client(p6, "read", "DB1.DBW0", host="[::1]")
        check(r.returncode == 0, "IPv6 client of --listen ::1: exit 0")
        check(v6.stop() == 0, "IPv6 server: exit 0 on SIGTERM")
    else:
        print("skip  --listen ::1: " + v6.text().strip().splitlines()[-1])

    check(a.stop() == 0, "server A: exit 0 on SIGTERM")
    lines = [l for l in a.text().splitlines() if l.strip()]
    bad = [l for l in lines if not json_line(l)]
    check(lines and not bad, f"--log-format json: {len(lines)} lines, all JSON objects" + (f" (not: {bad[:1]})" if bad else ""))


def main():
    tmp = tempfile.mkdtemp(prefix="protos7-ops.")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
