#!/usr/bin/env bash
# Runs the interop suite (node-snap7 + nodes7, `npm test`) against protos7.
#
#   bash interop/run_vs_protos7.sh build/dev/tools/protos7
#
# Builds nothing: $1 is the protos7 binary. Needs `bash interop/setup.sh` to have run.
# For each PDU size in PROTOS7_PDUS (default "480 240 960": the default, the S7-31x size that
# makes snap7 split transfers and limits multi-var items, and the largest) it starts
# `protos7 serve --pdu-size N` on 127.0.0.1 with an ephemeral port (--port 0; the port is read
# from the server's "listening on" log line, so there is no race for a "free" port) and a fresh
# temporary data directory laid out as the suite expects (interop/README.md, lib/config.js):
#
#   DB1.bin   256 bytes of zeros   (S7_TEST_DB / S7_TEST_DB_SIZE)
#   DB2.bin  1024 bytes of zeros   (S7_BIG_DB / S7_BIG_DB_SIZE)
#   no DB999                       (S7_MISSING_DB)
#   I, Q, M 256 bytes each, 256 counters and timers  (the layout of snap7_server.js)
#
# A DB<n>.bin file in --db-bin-path defines DB n with the file's size (server/README.md,
# "Storage"). The SQLite file is the sample PLC the server seeds into --data-dir; its DB1 is
# not regenerated because DB1.bin exists (an existing BIN is authoritative), and it adds DB200,
# which the suite does not touch.
#
# Runs the suite, stops the server, and fails if any test failed, the server died, or it logged
# a BUG (a reply that failed its own decode check). Exits 0 only if every pass succeeded.
# Env: PROTOS7_PDUS, PROTOS7_INTEROP_KEEP=1 (keep the data dirs and server logs).
set -uo pipefail

bin="${1:-}"
[[ -n "$bin" && -x "$bin" ]] || { echo "usage: $0 PATH/TO/protos7" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$here/node_modules/node-snap7" ]] || { echo "$0: run 'bash interop/setup.sh' first" >&2; exit 2; }
cd "$here" || exit 2

pid=""
tmp=""
stop_server() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  [[ -n "$pid" ]] && wait "$pid" 2>/dev/null
  pid=""
  if [[ -n "$tmp" ]]; then
    if [[ "${PROTOS7_INTEROP_KEEP:-0}" == 1 ]]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
  fi
  tmp=""
}
trap stop_server EXIT

# One pass: server with PDU size $1, the whole suite. Returns the pass's status.
run_pass() {
  local pdu="$1" log port rc
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/protos7-interop.XXXXXX")"
  mkdir -p "$tmp/data" "$tmp/bins"
  head -c 256 /dev/zero >"$tmp/bins/DB1.bin"
  head -c 1024 /dev/zero >"$tmp/bins/DB2.bin"
  log="$tmp/server.log"

  "$bin" serve --listen 127.0.0.1 --port 0 --data-dir "$tmp/data" -b "$tmp/bins" --pdu-size "$pdu" \
    --inputs-size 256 --outputs-size 256 --flags-size 256 --counters 256 --timers 256 \
    --log-level info >"$log" 2>&1 &
  pid=$!

  port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log" | head -n1)"
    [[ -n "$port" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$port" ]]; then
    echo "protos7 serve did not start:" >&2
    cat "$log" >&2
    return 1
  fi
  echo "== protos7 serve --pdu-size $pdu (pid $pid) on 127.0.0.1:$port, data in $tmp"

  # S7_REFERENCE must not be set: against protos7 every test counts. PROTOS7_BIN lets a test
  # start a second, differently configured server of its own (cpu-services.test.js).
  env -u S7_REFERENCE S7_HOST=127.0.0.1 S7_PORT="$port" PROTOS7_BIN="$bin" npm test --silent
  rc=$?

  if ! kill -0 "$pid" 2>/dev/null; then
    echo "protos7 serve died during the suite" >&2
    rc=1
  fi
  if grep -q 'BUG' "$log"; then
    echo "protos7 logged a BUG during the suite:" >&2
    grep 'BUG' "$log" >&2
    rc=1
  fi
  if ((rc != 0)); then
    echo "--- last 40 lines of the server log" >&2
    tail -n 40 "$log" >&2
  fi
  return "$rc"
}

status=0
summary=()
for pdu in ${PROTOS7_PDUS:-480 240 960}; do
  out="$(mktemp)"
  run_pass "$pdu" >"$out" 2>&1  # not piped: run_pass must set pid/tmp in this shell
  rc=$?
  stop_server
  cat "$out"
  counts="$(grep -E '^# (tests|pass|fail|cancelled|skipped|todo) ' "$out" | sed 's/^# //' | paste -sd' ')"
  rm -f "$out"
  summary+=("PDU $pdu: ${counts:-no summary} -> $([[ $rc == 0 ]] && echo ok || echo FAILED)")
  ((rc == 0)) || status=1
done
echo
echo "== interop suite against protos7 ($bin)"
printf '   %s\n' "${summary[@]}"
exit "$status"
