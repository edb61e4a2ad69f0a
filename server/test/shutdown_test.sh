#!/usr/bin/env bash
# SIGTERM ends `protos7 serve` within 2 s whatever its clients do (issue #16): a web admin client
# dripping its request head one byte per second, an idle S7 client and one that half-sent a
# frame are connected when the signal comes. Afterwards the S7 port refuses (RST), not hangs.
# Usage: shutdown_test.sh PROTOS7_BINARY
set -euo pipefail
bin=$1
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" serve --listen 127.0.0.1 --port 0 --webadmin-listen 127.0.0.1:0 --data-dir "$dir/data" \
  --log-level info 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do
  grep -q "web admin on" "$dir/log" && grep -q "listening on" "$dir/log" && break
  sleep 0.1
done
s7=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/log" | head -1)
web=$(sed -n 's#.*web admin on http://127.0.0.1:\([0-9]*\).*#\1#p' "$dir/log" | head -1)
[ -n "$s7" ] && [ -n "$web" ] || { cat "$dir/log"; echo "no ports"; exit 1; }
python3 - "$pid" "$s7" "$web" <<'PY'
import os, signal, socket, sys, threading, time
pid, s7, web = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
drip = socket.create_connection(("127.0.0.1", web))
def dripping():
    try:
        for b in b"GET /api/plc HTTP/1.1\r\nHost: 127.0.0.1\r\n":
            drip.send(bytes([b])); time.sleep(1)
    except OSError:
        pass
threading.Thread(target=dripping, daemon=True).start()
idle = socket.create_connection(("127.0.0.1", s7))
half = socket.create_connection(("127.0.0.1", s7)); half.send(b"\x03\x00\x00\x1f\x02")
time.sleep(1.5)
t0 = time.monotonic()
os.kill(pid, signal.SIGTERM)
def running():  # protos7 is the shell's child: once it exits it is a zombie until `wait`
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
while running() and time.monotonic() - t0 < 5:
    time.sleep(0.02)
took = time.monotonic() - t0
print(f"exit {took:.2f} s after SIGTERM")
if took >= 2.0:
    sys.exit(f"protos7 took {took:.2f} s to exit (limit 2 s)")
try:
    socket.create_connection(("127.0.0.1", s7), timeout=1).close()
    sys.exit("the S7 port still accepts connections after exit")
except ConnectionRefusedError:
    pass
PY
wait $pid && status=0 || status=$?
echo "exit status $status"
[ "$status" -eq 0 ] || { cat "$dir/log"; exit 1; }
