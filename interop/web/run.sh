#!/usr/bin/env bash
# Browser tests of the protos7 web admin: headless Chromium (Debian package chromium) driven by
# playwright-core, S7 checks with node-snap7 (both from interop/package.json).
#
#   bash interop/web/run.sh [path/to/protos7]      # ctest passes the binary it built
#
# Exits 77 (ctest: skipped) when node, chromium or interop/node_modules are missing; run
# `bash interop/setup.sh` once to install the npm packages. Screenshots go to
# interop/web/screenshots/ (PROTOS7_SCREENSHOTS overrides the directory).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-${PROTOS7_BIN:-$here/../../build/dev/tools/protos7}}"
skip() { echo "interop/web: skipped: $*" >&2; exit 77; }

command -v node >/dev/null || skip "node is not installed"
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || skip "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)"
(cd "$here/.." && node -e "require('playwright-core'); require('node-snap7')" 2>/dev/null) ||
  skip "playwright-core / node-snap7 missing: run bash interop/setup.sh"
[[ -x "$bin" ]] || { echo "interop/web: no protos7 binary at $bin" >&2; exit 1; }

export PROTOS7_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
cd "$here"
exec node --test --test-concurrency=1 --test-timeout=120000 ./*.test.js
