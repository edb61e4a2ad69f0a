#!/usr/bin/env bash
# Builds protos7 (release) and runs it: with no arguments, the server on its bundled sample PLC
# (port 1102 when not root, so no privilege is needed); with arguments, `protos7 ARGS...`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
bin=build/release/tools/protos7
if [[ $# -gt 0 ]]; then exec "$bin" "$@"; fi
if "$bin" serve --help >/dev/null 2>&1; then
  port=102; [[ $(id -u) -eq 0 ]] || port=1102
  exec "$bin" serve --port "$port"
fi
# The server is not built yet: show the codec at work on a sample capture instead.
pcaps="${PROTOS7_PCAP_DIR:-../shared/pcaps/wireshark}"
exec "$bin" dump "$pcaps/s7comm_varservice_libnodavedemo.pcap"
