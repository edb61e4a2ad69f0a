#!/usr/bin/env bash
# The conformance kit at production scale (issue 19), side by side in one run:
#   1. protos7 serve --capture records a capture under load (bench/load/s7load: 8 connections
#      x 4 Read Var jobs in flight) for DURATION seconds: about a million answers; the live rate
#      is s7load's, the recording server's max RSS is measured too;
#   2. tshark reads the capture (every S7 field dissected, output discarded): time, max RSS;
#   3. protos7 dump --json, learn and replay (against the in-process protos7, its bundled
#      profile) read it: time, answers per second, max RSS each.
#
#   bash bench/capture_scale.sh BUILD_DIR [WORK_DIR]
#   DURATION=13 CONNECTIONS=8 INFLIGHT=4 PORT=11502 bash bench/capture_scale.sh build/release
#
# BUILD_DIR holds tools/protos7 and bench/load/s7load (cmake --preset release && cmake --build
# --preset release --target protos7 s7load). Needs /usr/bin/time (GNU time) and tshark. Prints a
# table and the replay rate as a fraction of the live recording rate (goal: at least 1/3).
set -euo pipefail

build=${1:?usage: capture_scale.sh BUILD_DIR [WORK_DIR]}
work=${2:-$(mktemp -d /tmp/protos7-capture-scale.XXXXXX)}
protos7=$(realpath "$build/tools/protos7")
s7load=$(realpath "$build/bench/load/s7load")
duration=${DURATION:-13}
connections=${CONNECTIONS:-8}
inflight=${INFLIGHT:-4}
port=${PORT:-11502}
mkdir -p "$work"
cd "$work"
rm -rf data cap.pcap

# GNU time: "<seconds> <max RSS KB>" of a command into a file.
timed() {
  local out=$1
  shift
  /usr/bin/time -f "%e %M" -o "$out" "$@"
}

echo "== recording: protos7 serve --capture, s7load $connections x $inflight for ${duration} s"
/usr/bin/time -f "%e %M" -o serve.time "$protos7" serve --port "$port" --data-dir data \
  --capture cap.pcap --flags.disable-webadmin --log-level warn --max-amq "$inflight" &
time_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
"$s7load" --port "$port" --connections "$connections" --inflight "$inflight" \
  --duration "$duration" --warmup 0 > s7load.txt
kill -INT "$(pgrep -P "$time_pid" -x protos7)"
wait "$time_pid" || true
result=$(grep '^RESULT' s7load.txt)
live_rps=$(sed -E 's/.* rps=([0-9.]+).*/\1/' <<<"$result")
echo "$result"

echo "== tshark"
timed tshark.time tshark -Q -r cap.pcap -T fields -e frame.number -e s7comm.header.rosctr \
  -e s7comm.header.pduref -e s7comm.param.func -e s7comm.resp.data > /dev/null
echo "== protos7 dump --json"
timed dump.time "$protos7" dump --json cap.pcap --progress off > /dev/null
echo "== protos7 learn"
timed learn.time "$protos7" learn cap.pcap -o profile.json --progress off 2> learn.txt
echo "== protos7 replay (in-process protos7, bundled profile)"
status=0
timed replay.time "$protos7" replay cap.pcap --json --progress off > replay.json || status=$?
[[ $status -le 1 ]] || { echo "replay failed ($status)"; exit 1; }

answers=$(python3 -c 'import json; print(json.load(open("replay.json"))["totals"]["answers"])')
verdicts=$(python3 -c 'import json; t = json.load(open("replay.json"))["totals"]; print(", ".join(f"{t[k]} {k}" for k in ("exact", "equivalent", "mismatch", "missing", "unexpected") if t[k]))')
size=$(stat -c %s cap.pcap)
echo
echo "capture: $(du -h cap.pcap | cut -f1) ($size bytes), $answers answers; replay verdicts: $verdicts"
printf '%-34s %9s %12s %12s\n' "run" "seconds" "answers/s" "max RSS MB"
row() {  # name, time file, (optional) answers/s override
  local s kb
  read -r s kb < "$2"
  printf '%-34s %9.2f %12s %12.1f\n' "$1" "$s" \
    "${3:-$(python3 -c "print(round($answers / $s))")}" "$(python3 -c "print($kb / 1024)")"
}
read -r _ serve_kb < serve.time
printf '%-34s %9.2f %12.0f %12.1f\n' "live: serve --capture + s7load" "$duration" "$live_rps" \
  "$(python3 -c "print($serve_kb / 1024)")"
row "tshark -r (S7 fields)" tshark.time
row "protos7 dump --json" dump.time
row "protos7 learn" learn.time
row "protos7 replay (in-process)" replay.time
read -r rs _ < replay.time
python3 -c "r = $answers / $rs; print(f'replay rate / live rate = {r:.0f} / {$live_rps:.0f} = {r / $live_rps:.2f} (goal >= 0.33)')"
echo "(work directory: $work)"
