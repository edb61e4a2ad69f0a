#!/usr/bin/env bash
# Builds and runs every test: gcc 12 with warnings as errors, the style checks (tools/lint.sh),
# the interop suite with real third-party clients, the release build (-O3) with warnings as
# errors, every README example, the Debian package, the container image and the Kubernetes
# manifests (podman), the whole suite again built by clang 14 (warnings as errors) under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the fuzzers for a bounded time.
#   FUZZ_SECONDS=20 (per target; 0 skips the timed fuzzing, the corpus replay still runs)
# Needs root (apt-get, dpkg -i, podman), the Debian archive and the npm registry (or a warm apt
# and npm cache): tools/deps.sh and interop/setup.sh install what is missing, retrying transient
# errors.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh --test
export PROTOS7_PCAP_DIR="${PROTOS7_PCAP_DIR:-$(cd .. && pwd)/shared/pcaps/wireshark}"

step() { printf '\n=== %s\n' "$*"; }

# The npm clients first: the ctest suites below use them (validate_clients, webadmin_browser).
step "interop set-up: node-snap7, nodes7, playwright-core from npm"
bash interop/setup.sh

step "gcc 12, warnings as errors"
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev

step "lint: clang-format, 100 columns, functions within 100 lines, clang-tidy (codec, server)"
bash tools/lint.sh build/dev

step "interop: node-snap7 and nodes7 against protos7 serve (PDU 480, 240, 960)"
bash interop/run_vs_protos7.sh build/dev/tools/protos7

step "interop: a plant of 64 PLCs on 127.0.14.x:102 in one process, node-snap7 and nodes7"
rc=0
bash interop/run_plant.sh build/dev/tools/protos7 || rc=$?
((rc == 0 || rc == 77)) || exit "$rc"

step "learn + replay against protos7 (counts per capture), bundled-profile replay, serve --validate"
python3 conformance/learn/test/learn_replay.py build/dev/tools/protos7 conformance/learn/test/known_gaps.txt \
  "$PROTOS7_PCAP_DIR"/s7comm_*.pcap pcaps/*.pcap
python3 conformance/learn/test/replay_bundled.py build/dev/tools/protos7 "$PROTOS7_PCAP_DIR"/s7comm_*.pcap
ctest --test-dir build/dev -R '^(field_replay|replay_bundled_field)$' --output-on-failure -V |
  grep -E '^[0-9]+: ' | sed -E 's/^[0-9]+: //'
bash conformance/learn/test/validate_interop.sh "$PWD/build/dev/tools/protos7" "$PWD/build/dev/validate-ci"

# The release preset (-O3) sees warnings the -O2 builds do not; only the binary (and what it
# links), which the deployment steps below use.
step "release preset (gcc 12 -O3), warnings as errors: protos7"
cmake --preset release -DPROTOS7_WERROR=ON >/dev/null
cmake --build --preset release --target protos7

step "README examples, run as written (tools/readme_test.py)"
python3 tools/readme_test.py build/release/tools/protos7

step "Debian package: dpkg -i, the unit's ExecStart as an unprivileged user"
bash deploy/debian/test_deb.sh build/release

step "container image (podman, no registry): node-snap7 reads the PLC it serves"
bash deploy/oci/test_image.sh build/release/tools/protos7 localhost/protos7:latest

step "Kubernetes manifests (podman kube play) and the compose file"
/usr/bin/python3 deploy/kubernetes/test_kube_play.py localhost/protos7:latest build/release/tools/protos7
/usr/bin/python3 deploy/compose/test_compose.py localhost/protos7:latest build/release/tools/protos7

# clang 14 with warnings as errors is proved by this build (the asan-ubsan preset is clang).
step "clang 14, warnings as errors: AddressSanitizer + UndefinedBehaviorSanitizer"
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan
# The soak test (3 minutes, RSS and latency bounds) runs in the gcc pass: under the sanitizers
# its RSS bound would measure ASan's shadow memory and quarantine, not the server.
ctest --preset asan-ubsan -LE soak

# 20 s per target keeps CI within its hour on 2 cores (measured: docs/CI.md); the release check
# (tools/release_check.sh) fuzzes longer and runs the slow checks CI leaves out.
if [[ -x fuzz/run_ci.sh && "${FUZZ_SECONDS:-20}" != "0" ]]; then
  step "libFuzzer, ${FUZZ_SECONDS:-20} s per target"
  FUZZ_SECONDS="${FUZZ_SECONDS:-20}" fuzz/run_ci.sh
fi
step "all tests passed"
