#!/usr/bin/env bash
# Plant load: a plant of N (1000) PLCs in one `protos7 serve --plant` process, one HMI-like
# client per PLC (s7load --plant: one connection each) polling 10 mixed items (the `hmi`
# workload: DB1 and DB200 of the sample PLC, M, I, Q, a bit, C, T) every 100 ms; requests/s, p50/p99 latency and the server's CPU
# time per request, with 1 and 2 event loops side by side (alternating run by run, the order
# flipped every round; medians over the rounds). A closed-loop run per configuration (every
# client sends its next job when the answer arrives) shows what the loops can serve at most.
# Not a test: nothing in CI runs it. Figures in docs/BENCHMARKS.md ("Plant load").
#
#   cmake --preset release && cmake --build --preset release --target protos7 s7load
#   sudo bash bench/plant_load.sh build/release      # root: port 102 on 127.x.y.z
#
# Env: PLCS=1000, LOOPS="1 2", ROUNDS=3, DURATION=10 (s measured), WARMUP=2, INTERVAL_MS=100,
# MODES="poll closed", BASE=127.2.0.1, OUT=<file> (raw RESULT lines), BENCH_NICE=-20: the server
# (every thread) and s7load at that nice value. On a machine whose CPUs other work oversubscribes,
# an event loop otherwise gets a CPU for a fraction of the time (strace of a 1,000-PLC closed-loop
# run at load average 15: 256 events per epoll round, 40 ms per round, 9 % of a CPU used) and the
# benchmark measures the scheduler, not the server (the same effect docs/BENCHMARKS.md describes
# for run_vs_snap7.sh).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_release_binaries "${1:-$bench_root/build/release}"
[[ $(id -u) -eq 0 ]] || { echo "run as root (port 102 on 127.x.y.z)" >&2; exit 2; }
plcs="${PLCS:-1000}"
loops_list="${LOOPS:-1 2}"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10}"
warmup="${WARMUP:-2}"
interval="${INTERVAL_MS:-100}"
modes="${MODES:-poll closed}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/protos7-plantload.XXXXXX")"
out="${OUT:-${TMPDIR:-/tmp}/protos7-plantload-$(date -u +%Y%m%d-%H%M%S).txt}"
: >"$out"
pid=""
trap cleanup EXIT
raise_nofile $((4 * plcs + 4096))

nice_cmd=()
[[ -n "${BENCH_NICE:-}" ]] && nice_cmd=(nice -n "$BENCH_NICE")
"$protos7" plant --count "$plcs" --listen-base "${BASE:-127.2.0.1}:102" --name load -o "$tmp/plant.json" 2>/dev/null
machine_line | tee -a "$out"
echo "# $plcs PLCs, rounds $rounds, $duration s measured + $warmup s warm-up per run, poll every $interval ms, loops $loops_list, nice ${BENCH_NICE:-0}" | tee -a "$out"

run_one() {  # loops round mode
  local loops="$1" round="$2" mode="$3" line args=()
  "${nice_cmd[@]}" "$protos7" serve --plant "$tmp/plant.json" --threads "$loops" --flags.disable-webadmin \
    >"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1000); do grep -q ' ready in ' "$tmp/server.log" && break; sleep 0.01; done
  grep -q ' ready in ' "$tmp/server.log" || { cat "$tmp/server.log" >&2; exit 1; }
  [[ "$mode" == poll ]] && args=(--interval-ms "$interval")
  line="$("${nice_cmd[@]}" "$s7load" --plant "$tmp/plant.json" --workload hmi --duration "$duration" --warmup "$warmup" \
    --server-pid "$pid" "${args[@]}" | grep '^RESULT ')" || { echo "s7load failed ($loops loops, $mode)" >&2; exit 1; }
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  grep -q BUG "$tmp/server.log" && { grep BUG "$tmp/server.log" >&2; exit 1; }
  echo "loops=$loops round=$round mode=$mode load1=$(cut -d' ' -f1 /proc/loadavg) ${line#RESULT }" | tee -a "$out"
}

for round in $(seq "$rounds"); do
  order="$loops_list"
  ((round % 2)) || order="$(echo "$loops_list" | tr ' ' '\n' | tac | tr '\n' ' ')"
  for mode in $modes; do
    for loops in $order; do run_one "$loops" "$round" "$mode"; done
  done
done

python3 - "$out" <<'PY'
import statistics, sys
runs = [dict(kv.split('=', 1) for kv in l.split()) for l in open(sys.argv[1]) if l.startswith('loops=')]
groups = {}
for r in runs:
    groups.setdefault((r['mode'], int(r['loops'])), []).append(r)
med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
print()
print('| load | event loops | requests/s | p50 µs | p99 µs | server CPU µs/request | server CPU (cores) | jobs sent late | errors | runs |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for (mode, loops), rs in sorted(groups.items()):
    what = f"poll every {rs[0]['interval_ms']} ms" if mode == 'poll' else 'closed loop'
    cores = med(rs, 'server_cpu_s') / med(rs, 'duration_s')
    print(f"| {rs[0]['plcs']} PLCs × 1 client, {what} | {loops} | {med(rs, 'rps'):,.0f} | {med(rs, 'p50_us'):.0f} | "
          f"{med(rs, 'p99_us'):.0f} | {med(rs, 'server_cpu_us_per_req'):.1f} | {cores:.2f} | "
          f"{statistics.median(int(r['late']) for r in rs)} | {sum(int(r['errors']) for r in rs)} | {len(rs)} |")
loads = [float(r['load1']) for r in runs]
print(f"\n1-minute load average during the runs: median {statistics.median(loads):.1f}, min {min(loads):.1f}, max {max(loads):.1f}")
PY
echo
echo "raw results: $out"
