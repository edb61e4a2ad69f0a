#!/usr/bin/env bash
# Builds protos7 (release preset, the protos7 binary only) and runs it: with no arguments the
# server on its bundled sample PLC (port 1102 when not root, so no privilege is needed); with
# arguments `protos7 ARGS...`, run in the caller's directory (relative paths are the caller's).
# Everything the build prints goes to stderr: stdout is protos7's alone, so
# `tools/run.sh dump --json capture.pcap > capture.json` writes only the dump.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
"$repo/tools/deps.sh" >&2
(
  cd "$repo"
  cmake --preset release >/dev/null
  cmake --build --preset release --target protos7
) >&2
bin="$repo/build/release/tools/protos7"
if [[ $# -gt 0 ]]; then exec "$bin" "$@"; fi
port=102
[[ $(id -u) -eq 0 ]] || port=1102
echo "protos7: the binary is $bin (export PATH=\"$(dirname "$bin"):\$PATH\" to call it as protos7)" >&2
exec "$bin" serve --port "$port"
