#!/usr/bin/env bash
# Validates the interop suite against snap7's own server (node-snap7's
# S7Server, see snap7_server.js): once with the PDU size the client proposes
# and once with PDU 240 imposed like an S7-31x CPU. Tests of behaviour where
# snap7's server is known to differ from a real CPU are reported as TODO
# (S7_REFERENCE=snap7); every other test must pass.
#
#   bash interop/run_vs_snap7.sh           # PORT (default 1102), SNAP7_PDUS="0 240"
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
port="${PORT:-1102}"
rc=0
for pdu in ${SNAP7_PDUS:-0 240}; do
  log="$(mktemp)"
  PORT="$port" SNAP7_PDU="$pdu" node snap7_server.js >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if ! grep -q listening "$log"; then
    echo "snap7_server.js did not start:"; cat "$log"; kill "$pid" 2>/dev/null; rm -f "$log"; exit 1
  fi
  echo "== snap7 S7Server: $(cat "$log")"
  S7_HOST=127.0.0.1 S7_PORT="$port" S7_REFERENCE=snap7 \
    node --test --test-concurrency=1 --test-timeout=60000 test/*.test.js || rc=1
  kill "$pid"; wait "$pid" 2>/dev/null; rm -f "$log"
done
exit "$rc"
