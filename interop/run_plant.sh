#!/usr/bin/env bash
# Interop test of a plant (issue 14): `protos7 plant` writes a plant file of PLANT_COUNT (64)
# PLCs at 127.0.14.1, 127.0.14.2, ... port 102, one `protos7 serve --plant` process serves them
# on two event loops, and interop/plant/plant.test.js drives them with node-snap7 and nodes7.
#
#   bash interop/run_plant.sh build/dev/tools/protos7
#
# Port 102 on 127.0.x.y needs root (or CAP_NET_BIND_SERVICE on the binary): otherwise, and
# without interop/node_modules, the test is skipped with exit code 77. Fails if a test fails,
# the server dies or logs a BUG. Env: PLANT_COUNT, PLANT_BASE (127.0.14.1:102),
# PROTOS7_INTEROP_KEEP=1 keeps the temporary folder.
set -uo pipefail
bin="${1:-}"
[[ -n "$bin" && -x "$bin" ]] || { echo "usage: $0 PATH/TO/protos7" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
skip() { echo "interop/run_plant.sh: skipped: $*" >&2; exit 77; }
[[ -d "$here/node_modules/node-snap7" ]] || skip "run 'bash interop/setup.sh' first"
[[ $(id -u) -eq 0 ]] || getcap "$bin" 2>/dev/null | grep -q cap_net_bind_service ||
  skip "port 102 needs root or: setcap cap_net_bind_service=+ep $bin"

count="${PLANT_COUNT:-64}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/protos7-plant.XXXXXX")"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  [[ -n "$pid" ]] && wait "$pid" 2>/dev/null
  if [[ "${PROTOS7_INTEROP_KEEP:-0}" == 1 ]]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

"$bin" plant --count "$count" --listen-base "${PLANT_BASE:-127.0.14.1:102}" --name interop -o "$tmp/plant.json" || exit 1
"$bin" serve --plant "$tmp/plant.json" --threads 2 --flags.disable-webadmin >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  grep -q ' ready in ' "$tmp/server.log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
grep -q ' ready in ' "$tmp/server.log" || { echo "the plant did not start:" >&2; cat "$tmp/server.log" >&2; exit 1; }
grep ' ready in ' "$tmp/server.log"

cd "$here" || exit 2
PLANT_FILE="$tmp/plant.json" node --test --test-concurrency=1 --test-timeout=300000 plant/plant.test.js
rc=$?
if ! kill -0 "$pid" 2>/dev/null; then echo "protos7 serve --plant died during the test" >&2; rc=1; fi
if grep -q 'BUG' "$tmp/server.log"; then grep 'BUG' "$tmp/server.log" >&2; rc=1; fi
((rc == 0)) || { echo "--- last 40 lines of the server log" >&2; tail -n 40 "$tmp/server.log" >&2; }
exit "$rc"
