#!/usr/bin/env bash
# `protos7 serve --validate --capture` with real third-party clients and with crafted wrong traffic.
#
#   bash conformance/learn/test/validate_interop.sh PROTOS7 WORKDIR [--record DIR]
#
# Passes, each against a freshly started `protos7 serve --validate --capture` with the interop
# suite's layout (interop/README.md: DB1 256 bytes, DB2 1024, I/Q/M 256, 256 counters/timers):
#
#   node-snap7   interop/test/snap7-client.test.js   (node-snap7 1.0.9, snap7's C++ client)
#   nodes7       interop/test/nodes7.test.js          (nodes7 0.3.18, pure JavaScript)
#   cpu-services interop/test/cpu-services.test.js    (node-snap7 + @st-one-io/nodes7: SZL, clock,
#                                                      blocks, upload/download, PLC stop/start)
#   crafted      conformance/learn/test/crafted_client.py: one correct session, then a request
#                over the negotiated PDU size, a TPKT length that lies, a PDU reference reused
#                with a job in flight
#
# Asserts: every test of the suite passes; every validation report of the three client passes is
# empty, except `data_fill_nonzero` where node-snap7's WriteMultiVars sends the stale fill byte
# documented in server/src/session.cpp (write_data_options; CPUs accept it, the strict codec does
# not) - that report must name exactly this deviation; the crafted pass's reports are, in order:
# empty, pdu_over_negotiated_size, tpkt_length_disagrees, pdu_ref_reused; every capture decodes
# with `protos7 dump` without a single error and (when tshark is installed) without a malformed
# packet. Exit 0 ok, 1 failure, 77 skipped (interop suite not installed: bash interop/setup.sh).
# PASSES="clients crafted" (default) selects the passes: `clients` (the three above, needs node and
# the interop suite), `crafted` (python3 only).
#
# --record DIR copies the captures of the three client passes to DIR/protos7_node-snap7.pcap,
# DIR/protos7_nodes7.pcap and DIR/protos7_cpu-services.pcap (how pcaps/ was made, pcaps/README.md).
set -uo pipefail

bin="${1:-}"
work="${2:-}"
[[ -n "$bin" && -x "$bin" && -n "$work" ]] || { echo "usage: $0 PROTOS7 WORKDIR [--record DIR]" >&2; exit 2; }
record=""
[[ "${3:-}" == "--record" ]] && record="${4:?--record needs a directory}"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
interop="$root/interop"
rm -rf "$work"
mkdir -p "$work"

pid=""
stop_server() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  [[ -n "$pid" ]] && wait "$pid" 2>/dev/null
  pid=""
}
trap stop_server EXIT

# start_server NAME: a fresh server for pass NAME; sets $port.
start_server() {
  local d="$work/$1"
  mkdir -p "$d/data" "$d/bins"
  head -c 256 /dev/zero >"$d/bins/DB1.bin"
  head -c 1024 /dev/zero >"$d/bins/DB2.bin"
  "$bin" serve --listen 127.0.0.1 --port 0 --data-dir "$d/data" -b "$d/bins" \
    --inputs-size 256 --outputs-size 256 --flags-size 256 --counters 256 --timers 256 \
    --flags.disable-webadmin --validate --validate-dir "$d/reports" --capture "$d/session.pcap" \
    --log-level info >"$d/server.log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$d/server.log" | head -n1)"
    [[ -n "$port" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "protos7 serve did not start:" >&2
  cat "$d/server.log" >&2
  return 1
}

status=0
fail() { echo "FAIL: $*"; status=1; }

# check_reports NAME ALLOWED: every report of pass NAME is empty or (ALLOWED non-empty) holds only
# ALLOWED deviations; prints one line per report that is not empty.
check_reports() {
  python3 - "$work/$1/reports" "$2" <<'EOF'
import json, os, sys
d, allowed = sys.argv[1], set(filter(None, sys.argv[2].split(",")))
files = sorted(f for f in os.listdir(d) if f.endswith(".json")) if os.path.isdir(d) else []
bad = 0
devs = 0
for f in files:
    r = json.load(open(os.path.join(d, f)))
    codes = [x["code"] for x in r["deviations"]]
    devs += len(codes)
    if codes:
        print(f"   {f}: {', '.join(codes)} ({r['deviations'][0]['message'][:110]})")
    if any(c not in allowed for c in codes):
        bad += 1
print(f"   {len(files)} connection report(s), {devs} deviation(s)"
      + (f", only the allowed {', '.join(sorted(allowed))}" if devs and not bad else ""))
sys.exit(1 if bad or not files else 0)
EOF
}

# check_capture NAME ALLOWED: the pass's pcap decodes with protos7 dump and tshark: TCP reassembled
# without a gap or anomaly, every TPKT/COTP frame and S7 PDU decodes - except the client PDUs whose
# codec error is in ALLOWED (the deviations the pass sends on purpose, or snap7's fill byte, which
# the strict codec of `protos7 dump` names like the validator does) - and no malformed packet.
check_capture() {
  local cap="$work/$1/session.pcap" n errs
  n="$("$bin" dump --json "$cap" | wc -l)"
  errs="$("$bin" dump --json "$cap" | python3 -c '
import json, sys
allowed = set(filter(None, sys.argv[1].split(",")))
bad = [json.loads(l) for l in sys.stdin if "protos7.error" in l]
for r in bad:
    print("      frame %d: %s" % (r["frame.number"], r["protos7.error"]["code"]), file=sys.stderr)
print(sum(1 for r in bad if r["protos7.error"]["code"] not in allowed))' "$2")"
  echo "   capture $cap: $n PDUs, $errs protos7 dump error(s) beyond the expected ones"
  [[ "$n" -gt 0 && "$errs" == 0 ]] || fail "$1: capture does not decode cleanly with protos7 dump"
  if command -v tshark >/dev/null; then
    local s7 mal
    s7="$(tshark -r "$cap" -Y s7comm 2>/dev/null | wc -l)"
    mal="$(tshark -r "$cap" -Y '_ws.malformed || tcp.analysis.flags' 2>/dev/null | wc -l)"
    echo "   tshark: $s7 S7 frames, $mal malformed or TCP-analysis flagged"
    [[ "$s7" -gt 0 && "$mal" == 0 ]] || fail "$1: tshark does not decode the capture cleanly"
  fi
}

run_client_pass() {  # NAME ALLOWED FILES...
  local name="$1" allowed="$2" rc
  shift 2
  start_server "$name" || { fail "$name: server did not start"; return; }
  echo "== $name: $* against protos7 serve --validate --capture (port $port)"
  (cd "$interop" && env -u S7_REFERENCE S7_HOST=127.0.0.1 S7_PORT="$port" PROTOS7_BIN="$bin" \
    node --test --test-concurrency=1 --test-timeout=60000 "$@" >"$work/$name/suite.log" 2>&1)
  rc=$?
  stop_server
  grep -E '^# (tests|pass|fail) ' "$work/$name/suite.log" | paste -sd' ' | sed 's/^/   suite: /'
  ((rc == 0)) || { fail "$name: the interop suite failed"; tail -n 30 "$work/$name/suite.log"; }
  grep -q BUG "$work/$name/server.log" && fail "$name: the server logged a BUG"
  check_reports "$name" "$allowed" || fail "$name: a validation report names a deviation of correct traffic"
  check_capture "$name" "$allowed"
}

passes="${PASSES:-clients crafted}"
if [[ " $passes " == *" clients "* ]]; then
  if [[ ! -d "$interop/node_modules/node-snap7" ]] || ! command -v node >/dev/null; then
    echo "skipped: the interop suite is not installed (bash interop/setup.sh)"
    exit 77
  fi
  run_client_pass node-snap7 data_fill_nonzero test/snap7-client.test.js
  run_client_pass nodes7 "" test/nodes7.test.js
  run_client_pass cpu-services data_fill_nonzero test/cpu-services.test.js
fi

if [[ " $passes " == *" crafted "* ]]; then
# The crafted pass: the reports must name each deviation, in connection order.
start_server crafted || fail "crafted: server did not start"
echo "== crafted traffic (crafted_client.py) against protos7 serve --validate (port $port)"
python3 "$here/crafted_client.py" 127.0.0.1 "$port" correct over_pdu lying_tpkt reused_ref || fail "crafted client failed"
stop_server
python3 - "$work/crafted/reports" <<'EOF' || fail "crafted: the reports do not name the deviations"
import json, os, sys
d = sys.argv[1]
files = sorted(f for f in os.listdir(d) if f.endswith(".json"))
want = [None, "pdu_over_negotiated_size", "tpkt_length_disagrees", "pdu_ref_reused"]
names = ["correct session", "request over the negotiated PDU size", "TPKT length that lies",
         "PDU reference reused with a job in flight"]
ok = len(files) == len(want)
for f, w, n in zip(files, want, names):
    r = json.load(open(os.path.join(d, f)))
    codes = [x["code"] for x in r["deviations"]]
    good = (not codes) if w is None else (w in codes)
    ok = ok and good
    first = next((x for x in r["deviations"] if x["code"] == w), None)
    print(f"   {n}: {'ok' if good else 'WRONG'}: {', '.join(codes) or 'no deviation'}")
    if first:
        print(f"      {first['message'][:150]}")
        print(f"      bytes {first['bytes'][:64]}{'...' if len(first['bytes']) > 64 else ''}")
sys.exit(0 if ok else 1)
EOF
check_capture crafted s7_length_mismatch
fi

if [[ -n "$record" ]]; then
  mkdir -p "$record"
  for p in node-snap7 nodes7 cpu-services; do cp "$work/$p/session.pcap" "$record/protos7_$p.pcap"; done
  echo "recorded: $record/protos7_{node-snap7,nodes7,cpu-services}.pcap"
fi
((status == 0)) && echo "== validate: all passes ok"
exit "$status"
