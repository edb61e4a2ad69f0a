#!/usr/bin/env bash
# The checks a release runs on top of CI (tools/test.sh), too slow for every CI run on 2 cores:
#   - clang-tidy on every source of the tree (CI: the codec and the server core);
#   - the fuzzers for FUZZ_SECONDS (default 300) each (CI: 20 s each);
#   - the OSS-Fuzz / ClusterFuzzLite build script, run locally;
#   - node-snap7 and nodes7 under every fault kind (interop/faults/run.sh, rewrites
#     docs/CLIENTS.md: commit it when it changed).
# Run after tools/test.sh (it uses build/dev and build/asan-ubsan, and the npm clients).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }

step "clang-tidy on the whole tree"
LINT_TIDY=all bash tools/lint.sh build/dev

step "libFuzzer, ${FUZZ_SECONDS:-300} s per target"
FUZZ_SECONDS="${FUZZ_SECONDS:-300}" fuzz/run_ci.sh

step "OSS-Fuzz / ClusterFuzzLite build script, run locally"
fuzz/oss-fuzz/check_build.sh

step "client libraries under every fault kind (docs/CLIENTS.md)"
bash interop/faults/run.sh build/dev/tools/protos7

step "release checks passed"
