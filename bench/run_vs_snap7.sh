#!/usr/bin/env bash
# Server benchmark: protos7 against snap7's server (node-snap7 S7Server, interop/snap7_server.js,
# event mask 0), same load from bench/load/s7load, alternating the two servers in one run.
#
#   cmake --preset release && cmake --build --preset release --target protos7 s7load
#   bash interop/setup.sh                       # node-snap7 (snap7's server)
#   bash bench/run_vs_snap7.sh build/release    # ~8 minutes with the defaults
#
# $1: a build directory holding tools/protos7 and bench/load/s7load (default build/release).
# Env: ROUNDS=5, DURATION=6 (s measured per run), WARMUP=1 (s before measuring),
#      CONFIGS="1:1 16:1 16:8" (connections:jobs in flight), WORKLOADS="single multi",
#      OUT=<file> (raw RESULT lines; default /tmp/protos7-bench-<time>.txt, printed at the end),
#      BASELINE=<another protos7 binary>: a third server, "protos7-base", run the same way and
#      alternating with the two others (before/after comparisons of a change in one run; the
#      table then also gives protos7 / protos7-base),
#      BASELINE_ARGS="...": more `serve` options for that baseline (e.g. BASELINE=the same
#      binary with BASELINE_ARGS=--no-reply-check: what the reply self check costs),
#      BENCH_NICE=-20 (root only): run both servers (every thread) and s7load at that nice
#      value. On a shared machine whose CPUs are oversubscribed by other work, a woken server
#      or client thread otherwise waits a scheduler slice (2-7 ms, seen with `perf sched
#      timehist`) behind it, and the comparison measures the scheduler more than the servers:
#      protos7 serves every connection from one thread, so each such stall delays all of
#      them, while snap7's thread per client stalls one client at a time and gets a larger
#      share of an oversubscribed CPU. The other work is slowed down while this runs.
#
# Both servers run for the whole benchmark on 127.0.0.1 with the interop layout (DB1 256 B,
# DB2 1024 B, I/Q/M 256 B, 256 counters and timers). Every configuration is run ROUNDS times
# per server, the servers alternating run by run (the order flips every round so neither
# always goes first); the table reports medians over the rounds. Server CPU time per request is
# utime + stime of the server process over the measurement window, read by s7load from
# /proc/<pid>/stat (for snap7 that is the node process: snap7's threads plus an idle node loop).
# Each server grants its own Max AmQ; s7load keeps min(asked, granted calling) jobs in flight
# and counts only jobs answered without error.
set -euo pipefail

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_release_binaries "${1:-$bench_root/build/release}"
root="$bench_root"
[[ -d "$root/interop/node_modules/node-snap7" ]] || { echo "run 'bash interop/setup.sh' first" >&2; exit 2; }

rounds="${ROUNDS:-5}"
duration="${DURATION:-6}"
warmup="${WARMUP:-1}"
configs="${CONFIGS:-1:1 16:1 16:8}"
workloads="${WORKLOADS:-single multi}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/protos7-bench.XXXXXX")"
out="${OUT:-${TMPDIR:-/tmp}/protos7-bench-$(date -u +%Y%m%d-%H%M%S).txt}"
: >"$out"

p7_pid=""
s7_pid=""
base_pid=""
cleanup() {
  for p in $p7_pid $s7_pid $base_pid; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $p7_pid $s7_pid $base_pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- servers ---------------------------------------------------------------------------------
mkdir -p "$tmp/data" "$tmp/bins"
head -c 256 /dev/zero >"$tmp/bins/DB1.bin"
head -c 1024 /dev/zero >"$tmp/bins/DB2.bin"
"$protos7" serve --listen 127.0.0.1 --port 0 --data-dir "$tmp/data" -b "$tmp/bins" \
  --inputs-size 256 --outputs-size 256 --flags-size 256 --counters 256 --timers 256 \
  --max-connections 64 --webadmin-listen 127.0.0.1:0 --log-level info >"$tmp/protos7.log" 2>&1 &
p7_pid=$!

# The baseline protos7 (BASELINE): the same layout in a directory of its own.
base_port=""
if [[ -n "${BASELINE:-}" ]]; then
  [[ -x "$BASELINE" ]] || { echo "BASELINE=$BASELINE is not an executable" >&2; exit 2; }
  read -ra base_args <<<"${BASELINE_ARGS:-}"
  mkdir -p "$tmp/base/data" "$tmp/base/bins"
  head -c 256 /dev/zero >"$tmp/base/bins/DB1.bin"
  head -c 1024 /dev/zero >"$tmp/base/bins/DB2.bin"
  "$BASELINE" serve --listen 127.0.0.1 --port 0 --data-dir "$tmp/base/data" -b "$tmp/base/bins" \
    --inputs-size 256 --outputs-size 256 --flags-size 256 --counters 256 --timers 256 \
    --max-connections 64 --webadmin-listen 127.0.0.1:0 --log-level info "${base_args[@]}" >"$tmp/base.log" 2>&1 &
  base_pid=$!
  for _ in $(seq 100); do
    base_port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/base.log" | head -n1)"
    [[ -n "$base_port" ]] && break
    sleep 0.1
  done
  [[ -n "$base_port" ]] || { echo "the baseline protos7 did not start:" >&2; cat "$tmp/base.log" >&2; exit 1; }
fi

s7_port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
(cd "$root/interop" && PORT="$s7_port" exec node snap7_server.js) >"$tmp/snap7.log" 2>&1 &
s7_pid=$!

p7_port=""
for _ in $(seq 100); do
  [[ -z "$p7_port" ]] && p7_port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/protos7.log" | head -n1)"
  [[ -n "$p7_port" ]] && grep -q listening "$tmp/snap7.log" && break
  sleep 0.1
done
[[ -n "$p7_port" ]] || { echo "protos7 did not start:" >&2; cat "$tmp/protos7.log" >&2; exit 1; }
grep -q listening "$tmp/snap7.log" || { echo "snap7_server.js did not start:" >&2; cat "$tmp/snap7.log" >&2; exit 1; }

nice_cmd=()
if [[ -n "${BENCH_NICE:-}" ]]; then
  for p in "$p7_pid" "$s7_pid" $base_pid; do
    for t in /proc/"$p"/task/*; do renice -n "$BENCH_NICE" -p "${t##*/}" >/dev/null; done
  done
  nice_cmd=(nice -n "$BENCH_NICE")
fi

machine_line | tee -a "$out"
echo "# protos7 $protos7 pid $p7_pid port $p7_port; snap7 (node-snap7 S7Server) pid $s7_pid port $s7_port" | tee -a "$out"
[[ -n "$base_pid" ]] && echo "# protos7-base $BASELINE ${BASELINE_ARGS:-} pid $base_pid port $base_port" | tee -a "$out"
echo "# rounds $rounds, $duration s measured + $warmup s warm-up per run, configs $configs, workloads $workloads, nice ${BENCH_NICE:-0}" | tee -a "$out"

run_one() {  # server round workload conns k
  local server="$1" round="$2" workload="$3" conns="$4" k="$5" port pid line
  case "$server" in
    protos7) port="$p7_port"; pid="$p7_pid" ;;
    protos7-base) port="$base_port"; pid="$base_pid" ;;
    *) port="$s7_port"; pid="$s7_pid" ;;
  esac
  kill -0 "$pid" 2>/dev/null || { echo "$server died" >&2; exit 1; }
  line="$("${nice_cmd[@]}" "$s7load" --port "$port" --connections "$conns" --inflight "$k" --duration "$duration" \
    --warmup "$warmup" --workload "$workload" --server-pid "$pid" | grep '^RESULT ')" ||
    { echo "s7load failed against $server ($workload, $conns connections, $k in flight)" >&2; exit 1; }
  echo "server=$server round=$round load1=$(cut -d' ' -f1 /proc/loadavg) ${line#RESULT }" | tee -a "$out"
}

# --- runs ------------------------------------------------------------------------------------
for round in $(seq "$rounds"); do
  if ((round % 2)); then order="protos7 snap7 ${base_pid:+protos7-base}"; else order="${base_pid:+protos7-base} snap7 protos7"; fi
  for workload in $workloads; do
    for cfg in $configs; do
      for server in $order; do run_one "$server" "$round" "$workload" "${cfg%%:*}" "${cfg##*:}"; done
    done
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"

# --- table (medians over the rounds) ---------------------------------------------------------
python3 - "$out" <<'EOF'
import statistics, sys
runs = []
for line in open(sys.argv[1]):
    if line.startswith('server='):
        runs.append(dict(kv.split('=', 1) for kv in line.split()))
groups = {}
for r in runs:
    groups.setdefault((r['workload'], int(r['conns']), int(r['k'])), {}).setdefault(r['server'], []).append(r)
med = lambda rs, key: statistics.median(float(r[key]) for r in rs)
print()
base = any('protos7-base' in by for by in groups.values())
print('| workload | clients × in flight | server | granted PDU / AmQ | requests/s | p50 µs | p99 µs | server CPU µs/request | errors | protos7 / snap7 requests/s |'
      + (' protos7 / protos7-base CPU per request |' if base else ''))
print('|---|---|---|---|---:|---:|---:|---:|---:|---:|' + ('---:|' if base else ''))
for (w, c, k), by in groups.items():
    p7, s7, pb = by.get('protos7', []), by.get('snap7', []), by.get('protos7-base', [])
    ratio = med(p7, 'rps') / med(s7, 'rps') if p7 and s7 and med(s7, 'rps') > 0 else float('nan')
    cpu = med(p7, 'server_cpu_us_per_req') / med(pb, 'server_cpu_us_per_req') if p7 and pb and med(pb, 'server_cpu_us_per_req') > 0 else float('nan')
    for name, rs in (('protos7', p7), ('protos7-base', pb), ('snap7', s7)):
        if not rs:
            continue
        granted = sorted({f"{r['pdu']} / {r['amq_calling']}-{r['amq_called']} (window {r['window']})" for r in rs})
        errors = sum(int(r['errors']) for r in rs)
        print(f"| {w} | {c} × {k} | {name} | {', '.join(granted)} | {med(rs, 'rps'):,.0f} | "
              f"{med(rs, 'p50_us'):.0f} | {med(rs, 'p99_us'):.0f} | {med(rs, 'server_cpu_us_per_req'):.1f} | "
              f"{errors} | {f'**{ratio:.2f}**' if name == 'protos7' else ''} |"
              + (f" {f'**{cpu:.3f}**' if name == 'protos7' else ''} |" if base else ''))
print()
loads = [float(r['load1']) for r in runs if 'load1' in r]
if loads:
    print(f'1-minute load average during the runs: median {statistics.median(loads):.1f}, '
          f'min {min(loads):.1f}, max {max(loads):.1f} (on {__import__("os").cpu_count()} CPUs)')
print('rounds per cell:', ', '.join(f"{w} {c}x{k}: " + '/'.join(str(len(v)) for v in by.values())
                                   for (w, c, k), by in groups.items()))
EOF
echo
echo "raw results: $out"
