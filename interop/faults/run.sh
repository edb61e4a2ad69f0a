#!/usr/bin/env bash
# node-snap7 and nodes7 under each fault kind (interop/faults/kinds.js), and docs/CLIENTS.md from
# the validate reports (interop/faults/clients_table.js).
#
#   bash interop/faults/run.sh build/dev/tools/protos7 [OUTDIR]
#
# For every library and kind: a fresh `protos7 serve --faults <kind's rule> --validate` with the
# interop layout (DB1 256 bytes, DB2 1024), drive.js against it, then SIGTERM (the validator writes
# the reports of connections still open). Then docs/CLIENTS.md is rewritten from OUTDIR (default: a
# temporary directory, removed at the end unless KEEP=1). Needs `bash interop/setup.sh`. About two
# minutes. Exit 0 when every pass ran and every fault kind was injected at least once.
set -uo pipefail

bin="${1:-}"
[[ -n "$bin" && -x "$bin" ]] || { echo "usage: $0 PATH/TO/protos7 [OUTDIR]" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[[ -d "$root/interop/node_modules/node-snap7" ]] || { echo "$0: run 'bash interop/setup.sh' first" >&2; exit 77; }
out="${2:-$(mktemp -d "${TMPDIR:-/tmp}/protos7-faults.XXXXXX")}"
mkdir -p "$out"

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

status=0
kinds="$(node -e "console.log(require('$here/kinds').map((k) => k.kind).join(' '))")"
for lib in node-snap7 nodes7; do
  for kind in $kinds; do
    d="$out/$lib/$kind"
    rm -rf "$d"
    mkdir -p "$d/data" "$d/bins"
    head -c 256 /dev/zero >"$d/bins/DB1.bin"
    head -c 1024 /dev/zero >"$d/bins/DB2.bin"
    node -e "const k = require('$here/kinds').find((x) => x.kind === '$kind'); process.stdout.write(JSON.stringify({ rules: k.rules }, null, 1))" >"$d/rules.json"
    "$bin" serve --listen 127.0.0.1 --port 0 --data-dir "$d/data" -b "$d/bins" --flags.disable-webadmin \
      --faults "$d/rules.json" --validate --validate-dir "$d/reports" --log-level info >"$d/server.log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 100); do
      port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$d/server.log" | head -n1)"
      [[ -n "$port" ]] && break
      sleep 0.1
    done
    if [[ -z "$port" ]]; then echo "$lib/$kind: the server did not start" >&2; cat "$d/server.log" >&2; status=1; continue; fi
    (cd "$root/interop" && S7_PORT="$port" S7_TIMEOUT_MS=1000 timeout 60 node "$here/drive.js" "$lib") >"$d/client.json" 2>"$d/client.err"
    sleep 0.5
    stop_server
    injected="$(grep -c 'fault injected' "$d/server.log")"
    echo "$lib $kind: $injected fault(s) injected; client: $(head -c 160 "$d/client.json")"
    ((injected > 0)) || { echo "$lib/$kind: no fault was injected" >&2; status=1; }
    grep -q 'BUG' "$d/server.log" && { echo "$lib/$kind: the server logged a BUG" >&2; grep BUG "$d/server.log" >&2; status=1; }
  done
done
node "$here/clients_table.js" "$out" >"$root/docs/CLIENTS.md" && echo "wrote docs/CLIENTS.md"
[[ "${KEEP:-0}" == 1 || -n "${2:-}" ]] || rm -rf "$out"
exit "$status"
