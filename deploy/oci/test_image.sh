#!/usr/bin/env bash
# Builds the protos7 container image from a built binary without any registry and checks that it
# serves a PLC node-snap7 reads; prints the image's size, its start-up time and its memory.
#
#   deploy/oci/test_image.sh BUILD/tools/protos7 [IMAGE]   (as root; CI: tools/test.sh)
#
# IMAGE defaults to localhost/protos7:latest and is kept (deploy/kubernetes/test_kube_play.py
# plays it next). podman runs as these machines need it: runc, host network, the settings of
# deploy/oci/containers.conf. Checked: the container runs as uid 65534, answers `protos7 health`,
# node-snap7 (interop/plc_check.js) reads the order number and writes and reads back a DB word,
# GET /metrics counts those requests, `podman stop` ends it with exit status 0 within its 10 s.
# Exit 0 pass, 1 fail, 77 skipped (not root, no podman).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$(readlink -f "${1:?usage: test_image.sh BUILD/tools/protos7 [IMAGE]}")"
image="${2:-localhost/protos7:latest}"
log() { printf 'test_image: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
[[ $(id -u) -eq 0 ]] || { log "skipped: needs root"; exit 77; }
command -v podman >/dev/null || { log "skipped: no podman (tools/deps.sh --test installs it)"; exit 77; }
[[ -d "$repo/interop/node_modules/node-snap7" ]] || die "node-snap7 is not installed: bash interop/setup.sh"
export CONTAINERS_CONF="$repo/deploy/oci/containers.conf"
pm() { podman --runtime /usr/sbin/runc "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

ctx="$(mktemp -d)"
name="protos7-test-$$"
cleanup() { pm rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$ctx"; }
trap cleanup EXIT
"$repo/deploy/oci/make_rootfs.sh" "$bin" "$ctx"
t0=$(date +%s%N)
pm build -q -f "$repo/deploy/oci/Containerfile" -t "$image" "$ctx" >/dev/null
build_ms=$(ms_since "$t0")
size=$(pm image inspect "$image" --format '{{.Size}}')
log "image $image: $((size / 1024)) KiB ($size bytes), built in $build_ms ms"

# Free ports on the host network.
free_port() {
  local p
  for p in $(seq "$1" "$2"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  return 1
}
port=$(free_port 11200 11299) || die "no free S7 port"
mport=$(free_port 19200 19299) || die "no free metrics port"
t0=$(date +%s%N)
pm run -d --name "$name" --network host "$image" serve --data-dir /var/lib/protos7 \
  --port "$port" --metrics-listen "127.0.0.1:$mport" --flags.disable-webadmin >/dev/null
ready=""
for _ in $(seq 500); do
  if "$bin" health "127.0.0.1:$port" --timeout 1s >/dev/null 2>&1; then ready=$(ms_since "$t0"); break; fi
  sleep 0.01
done
[[ -n "$ready" ]] || { pm logs "$name" >&2; die "the container did not answer protos7 health"; }
log "start-up: podman run to the first S7 answer (COTP + Setup Communication + SZL) in $ready ms"
pid=$(pm inspect "$name" --format '{{.State.Pid}}')
[[ "$(awk '/^Uid:/{print $2}' "/proc/$pid/status")" == 65534 ]] || die "not running as uid 65534"
node "$repo/interop/plc_check.js" 127.0.0.1 "$port" >&2 || die "node-snap7 could not read the PLC"
node "$repo/interop/plc_check.js" 127.0.0.1 "$port" >&2 || die "node-snap7 could not read the PLC twice"
metrics="$(curl -fsS "http://127.0.0.1:$mport/metrics")" || die "GET /metrics failed"
reads=$(awk '/^protos7_requests_total\{function="read_var"\}/{print $2}' <<<"$metrics")
writes=$(awk '/^protos7_requests_total\{function="write_var"\}/{print $2}' <<<"$metrics")
[[ "$reads" -ge 4 && "$writes" -eq 2 ]] || die "metrics: read_var $reads (>= 4), write_var $writes (2)"
rss_kib=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")
log "memory: $rss_kib KiB resident after two node-snap7 clients"
# The same start without a container, for comparison.
bare_port=$(free_port 11300 11399) || die "no free S7 port"
t0=$(date +%s%N)
"$bin" serve --data-dir "$ctx/bare" --listen 127.0.0.1 --port "$bare_port" --flags.disable-webadmin \
  >"$ctx/bare.log" 2>&1 &
bare_pid=$!
bare=""
for _ in $(seq 500); do
  if "$bin" health "127.0.0.1:$bare_port" --timeout 1s >/dev/null 2>&1; then bare=$(ms_since "$t0"); break; fi
  sleep 0.01
done
kill -TERM "$bare_pid"
wait "$bare_pid" || die "the bare server did not exit 0"
[[ -n "$bare" ]] || die "the bare server did not answer"
log "start-up without a container: exec to the first S7 answer in $bare ms"
t0=$(date +%s%N)
pm stop -t 10 "$name" >/dev/null
stop_ms=$(ms_since "$t0")
rc=$(pm inspect "$name" --format '{{.State.ExitCode}}')
[[ "$rc" == 0 ]] || { pm logs "$name" >&2; die "exit status $rc after podman stop"; }
log "podman stop: $stop_ms ms, exit 0"
echo "image_bytes=$size startup_ms=$ready bare_startup_ms=$bare rss_kib=$rss_kib stop_ms=$stop_ms"
