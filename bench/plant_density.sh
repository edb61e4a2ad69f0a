#!/usr/bin/env bash
# Plant density: N PLCs of the bundled profile in one `protos7 serve --plant` process, each at its
# own 127.x.y.z:102. For each N: the start-up time (cold: storage created; warm: storage there),
# the RSS, a check that every PLC answers SZL 0x001C with its own serial number and AS name
# (s7load --identity), and the RSS per PLC beyond a one-PLC plant. Not a test: nothing in CI runs
# it. Figures in docs/BENCHMARKS.md ("Plant density").
#
#   cmake --preset release && cmake --build --preset release --target protos7 s7load
#   sudo bash bench/plant_density.sh build/release         # root: port 102 and RLIMIT_NOFILE
#
# Env: COUNTS="1000 10000", THREADS (event loops, default: one per core), BASE=127.1.0.1 (first
# address), OUT=<file> (raw RESULT lines), BENCH_NICE=-20: the server at that nice value (on a
# machine whose CPUs other work oversubscribes, the wall time of the start-up is mostly waiting
# for a CPU; the CPU time to ready is the figure that does not depend on it). Each N needs N + about 200 file descriptors: the
# script raises RLIMIT_NOFILE to 2 N + 4096 for the server and s7load (the soft limit only up
# to the hard one when the hard one cannot be raised: 10,000 PLCs then need a hard limit of
# about 10,300).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_release_binaries "${1:-$bench_root/build/release}"
[[ $(id -u) -eq 0 ]] || { echo "run as root (port 102 on 127.x.y.z, RLIMIT_NOFILE)" >&2; exit 2; }
counts="${COUNTS:-1000 10000}"
threads="${THREADS:-0}"
base="${BASE:-127.1.0.1}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/protos7-density.XXXXXX")"
out="${OUT:-${TMPDIR:-/tmp}/protos7-density-$(date -u +%Y%m%d-%H%M%S).txt}"
: >"$out"
pid=""
trap cleanup EXIT

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
# utime + stime of the process (all threads), in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
now_ms() { date +%s%3N; }

# start PLANT_FILE LOG: starts the plant, waits for "ready" (10 minutes at most); sets pid,
# start_ms (wall clock from exec to the ready line) and start_cpu_ms (the process's CPU time then).
start() {
  local t0
  t0="$(now_ms)"
  ${BENCH_NICE:+nice -n "$BENCH_NICE"} "$protos7" serve --plant "$1" --threads "$threads" \
    --flags.disable-webadmin --log-level info >"$2" 2>&1 &
  pid=$!
  for _ in $(seq 30000); do
    grep -q ' ready in ' "$2" && break
    kill -0 "$pid" 2>/dev/null || { cat "$2" >&2; exit 1; }
    sleep 0.02
  done
  start_cpu_ms="$(cpu_ms "$pid")"
  grep -q ' ready in ' "$2" || { echo "no ready line" >&2; cat "$2" >&2; exit 1; }
  start_ms=$(($(now_ms) - t0))
}
stop() {
  local t0
  t0="$(now_ms)"
  kill -TERM "$pid"
  wait "$pid" || true
  stop_ms=$(($(now_ms) - t0))
  pid=""
}

echo "$(machine_line); nice ${BENCH_NICE:-0}" | tee -a "$out"

# A single `protos7 serve` (the sample PLC, no web admin), for reference.
mkdir -p "$tmp/one"
"$protos7" serve --listen "$base" --data-dir "$tmp/one" --flags.disable-webadmin >"$tmp/one.log" 2>&1 &
pid=$!
for _ in $(seq 500); do grep -qs "listening on" "$tmp/one.log" && break; sleep 0.01; done
sleep 0.5
echo "RESULT kind=serve plcs=1 rss_kib=$(rss_kib "$pid")" | tee -a "$out"
stop

for n in 1 $counts; do
  raise_nofile $((2 * n + 4096))
  plant="$tmp/plant-$n.json"
  "$protos7" plant --count "$n" --listen-base "$base:102" --name "density-$n" -o "$plant" 2>/dev/null
  for phase in cold warm; do
    start "$plant" "$tmp/$n-$phase.log"
    internal="$(sed -n 's/.* ready in \([0-9]*\) ms.*/\1/p' "$tmp/$n-$phase.log")"
    loops="$(sed -n 's/.*, \([0-9]*\) event loop(s); ready.*/\1/p' "$tmp/$n-$phase.log")"
    sleep 1  # the loops settle (first sweep, rate ticks)
    rss_ready="$(rss_kib "$pid")"
    ident="$("$s7load" --plant "$plant" --identity | grep '^RESULT ')" || { echo "identity check failed ($n PLCs)" >&2; exit 1; }
    rss_after="$(rss_kib "$pid")"
    stop
    db_bytes="$(find "$tmp/plant-$n-data" -name 'DB*.bin' -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
    echo "RESULT kind=plant plcs=$n phase=$phase loops=$loops load1=$(cut -d" " -f1 /proc/loadavg) start_ms=$start_ms internal_ms=$internal start_cpu_ms=$start_cpu_ms" \
      "rss_kib=$rss_ready rss_after_check_kib=$rss_after db_bytes=$db_bytes stop_ms=$stop_ms ${ident#RESULT }" | tee -a "$out"
  done
done

python3 - "$out" <<'PY'
import sys
rows = [dict(kv.split('=', 1) for kv in l.split()[1:]) for l in open(sys.argv[1]) if l.startswith('RESULT')]
serve = next(r for r in rows if r['kind'] == 'serve')
base = {r['phase']: r for r in rows if r['kind'] == 'plant' and r['plcs'] == '1'}
print()
print(f"one `protos7 serve` (sample PLC, no web admin): RSS {int(serve['rss_kib'])/1024:.1f} MiB")
print()
print('| PLCs | storage | loops | start-up: wall, exec to ready (ms) | in process (ms) | CPU time to ready (ms) | RSS after start (MiB) | RSS per PLC beyond a 1-PLC plant (KiB) | DB bytes per PLC | per PLC beyond its DB bytes (KiB) | identity check (SZL 0x001C) | RSS after the check (MiB) | stop (ms) |')
print('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|')
for r in rows:
    if r['kind'] != 'plant' or r['plcs'] == '1':
        continue
    n, b = int(r['plcs']), base[r['phase']]
    per = (int(r['rss_kib']) - int(b['rss_kib'])) / (n - 1)
    db = int(r['db_bytes']) / n
    print(f"| {n:,} | {r['phase']} | {r['loops']} | {int(r['start_ms']):,} | {int(r['internal_ms']):,} | {int(r['start_cpu_ms']):,} | {int(r['rss_kib'])/1024:.1f} | "
          f"{per:.1f} | {db:.0f} | {per - db/1024:.1f} | {r['identity_ok']}/{r['plcs']} own, {r['distinct_serials']} distinct, "
          f"{float(r['seconds']):.2f} s | {int(r['rss_after_check_kib'])/1024:.1f} | {int(r['stop_ms']):,} |")
PY
echo
echo "raw results: $out"
