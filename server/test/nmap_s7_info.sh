#!/usr/bin/env bash
# nmap's s7-info script (Debian's nmap) against `protos7 serve` on 127.0.0.1:102: it must identify
# the server and print the module (order number, SZL 0x0011) and serial number (SZL 0x001C) the
# server was given on the command line.
#
#   bash server/test/nmap_s7_info.sh PATH/TO/protos7
#
# s7-info only runs on port 102 (its portrule), which needs root (CI runs as root). Exits 77 (the
# ctest skip code) with a message when not root, when nmap or its s7-info script is missing, or
# when port 102 is taken.
set -uo pipefail

bin="${1:-}"
[[ -n "$bin" && -x "$bin" ]] || { echo "usage: $0 PATH/TO/protos7" >&2; exit 2; }
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: nmap's s7-info needs the server on port 102, which needs root (CI runs as root)"
  exit 77
fi
command -v nmap >/dev/null || { echo "SKIP: nmap is not installed (Debian package nmap)"; exit 77; }
nmap --script-help s7-info 2>/dev/null | grep -q s7-info || { echo "SKIP: nmap has no s7-info script"; exit 77; }
if (exec 3<>/dev/tcp/127.0.0.1/102) 2>/dev/null; then
  echo "SKIP: port 102 on 127.0.0.1 is already in use"
  exit 77
fi

module="6ES7 315-2EH14-0AB0"
serial="S C-NMAP00000042"
name="protos7 nmap check"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/protos7-nmap.XXXXXX")"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" serve --listen 127.0.0.1 --port 102 --data-dir "$tmp/data" --flags.disable-webadmin \
  --order-number "$module" --serial-number "$serial" --module-name "$name" >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q 'listening on 127.0.0.1:102 ' "$tmp/server.log" && break
  kill -0 "$pid" 2>/dev/null || { echo "FAIL: protos7 did not start:"; cat "$tmp/server.log"; exit 1; }
  sleep 0.1
done

out="$(nmap -Pn -n -p 102 --script s7-info 127.0.0.1 2>&1)"
echo "$out"
status=0
expect() {
  if grep -qF -- "$1" <<<"$out"; then echo "ok: $1"; else echo "FAIL: nmap did not print \"$1\""; status=1; fi
}
expect "| s7-info: "
expect "Module: $module"
expect "Basic Hardware: $module"
expect "Serial Number: $serial"
expect "Module Type: $name"
expect "Version: 3.2.6"
if ! kill -0 "$pid" 2>/dev/null; then echo "FAIL: protos7 died"; status=1; fi
if grep -q BUG "$tmp/server.log"; then echo "FAIL: protos7 logged a BUG"; grep BUG "$tmp/server.log"; status=1; fi
exit "$status"
