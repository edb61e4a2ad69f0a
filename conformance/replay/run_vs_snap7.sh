#!/usr/bin/env bash
# Replays the six Wireshark sample captures against snap7's server (node-snap7's S7Server,
# interop/snap7_server.js), once per PDU setting, each time against a freshly started server
# (snap7 keeps the memory the captures write, so a second run against the same server differs).
#
#   bash conformance/replay/run_vs_snap7.sh [OUT_DIR]
#
# Env: PROTOS7 (default build/dev/tools/protos7), PROTOS7_PCAP_DIR (default ../shared/pcaps/wireshark),
#      PORT (default 11102), SNAP7_PDUS (default "0 240"), TIMEOUT_MS (default 3000).
# Needs `bash interop/setup.sh` once. Writes OUT_DIR/snap7_pdu<N>.{txt,json,xml}; exit status 0
# (the differences are the point of the report, not a failure of this script) unless something
# could not be run.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/build/replay-vs-snap7}"
protos7="${PROTOS7:-$root/build/dev/tools/protos7}"
pcaps="${PROTOS7_PCAP_DIR:-$root/../shared/pcaps/wireshark}"
port="${PORT:-11102}"
mkdir -p "$out"
[[ -x "$protos7" ]] || { echo "no protos7 binary at $protos7 (set PROTOS7)"; exit 2; }
captures=("$pcaps"/s7comm_*.pcap)
[[ -f "${captures[0]}" ]] || { echo "no captures in $pcaps (set PROTOS7_PCAP_DIR)"; exit 2; }

for pdu in ${SNAP7_PDUS:-0 240}; do
  log="$(mktemp)"
  (cd "$root/interop" && PORT="$port" SNAP7_PDU="$pdu" exec node snap7_server.js) >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if ! grep -q listening "$log"; then
    echo "snap7_server.js did not start:"; cat "$log"; kill "$pid" 2>/dev/null; rm -f "$log"; exit 2
  fi
  echo "== snap7 S7Server: $(cat "$log")"
  base="$out/snap7_pdu$pdu"
  "$protos7" replay "${captures[@]}" --target "127.0.0.1:$port" --timeout "${TIMEOUT_MS:-3000}" \
    --junit "$base.xml" >"$base.txt"
  echo "   protos7 replay exit status $? (1 = some answer is a mismatch, missing or unexpected)"
  kill "$pid"; wait "$pid" 2>/dev/null
  # A second, fresh server for the JSON report, so both reports see the same initial memory.
  (cd "$root/interop" && PORT="$port" SNAP7_PDU="$pdu" exec node snap7_server.js) >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
  "$protos7" replay "${captures[@]}" --target "127.0.0.1:$port" --timeout "${TIMEOUT_MS:-3000}" --json >"$base.json"
  kill "$pid"; wait "$pid" 2>/dev/null; rm -f "$log"
  grep -A1 '^== all captures' "$base.txt" | head -1
  echo "   reports: $base.txt $base.json $base.xml"
done
exit 0
