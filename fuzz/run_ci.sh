#!/usr/bin/env bash
# CI fuzzing run: builds the fuzz targets with clang + libFuzzer + ASan/UBSan in a separate
# build directory and fuzzes every target (or the ones named) for FUZZ_SECONDS each, one at a
# time, single job, with its dictionary and a scratch copy of its committed corpus (the
# repository is never written). Exits non-zero when any target crashes, leaks, times out, runs
# out of memory or trips a sanitizer, after printing the reproducer and the command to replay it.
#
#   fuzz/run_ci.sh [target ...]
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 30; 0 only replays the corpus, -runs=0)
#   BUILD_DIR     build directory (default <repo>/build-fuzz)
#   JOBS          build parallelism (default 2; the CI machines have 2 shared cores)
#   CC, CXX       compilers (default clang, clang++)
#   FUZZ_ARGS     extra libFuzzer flags for every target
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=${JOBS:-2}
all_targets=(tpkt_framer cotp s7_header s7_job s7_ack_data userdata szl capture roundtrip_cotp roundtrip_s7 step7_address session sessions)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# -max_len per layer (extract_seeds.py and oss-fuzz/build.sh use the same values): an S7 PDU is
# at most the negotiated PDU size (960 on the largest S7-400 CPUs), a COTP input may carry a
# few DT records, a TPKT stream several frames, a capture file a few dozen packets.
max_len() {
  case $1 in
    tpkt_framer) echo 8192 ;;
    cotp) echo 2048 ;;
    capture) echo 16384 ;;
    session | sessions) echo 8192 ;;
    *) echo 1024 ;;
  esac
}

sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
echo "== configure + build ($build)"
mkdir -p "$build"
cmake -S "$repo" -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
  -DPROTOS7_LIBFUZZER=ON -DPROTOS7_BUILD_FUZZ=ON \
  -DPROTOS7_BUILD_TESTS=OFF -DPROTOS7_BUILD_BENCH=OFF -DPROTOS7_BUILD_SERVER=ON \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build" -j "$jobs" --target "${build_targets[@]}" >"$build/build.log" 2>&1 ||
  { tail -50 "$build/build.log"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

work="$build/fuzz-work"
failed=0
rows=()
for t in "${targets[@]}"; do
  exe="$build/fuzz/fuzz_$t"
  dir="$work/$t"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  # A scratch copy: libFuzzer adds new inputs to its first corpus directory.
  [ -d "$repo/fuzz/corpus/$t" ] && cp "$repo/fuzz/corpus/$t/." "$dir/corpus/" -R
  [ -d "$repo/fuzz/regressions/$t" ] && cp "$repo/fuzz/regressions/$t/." "$dir/corpus/" -R
  dict=()
  [ -f "$repo/fuzz/dict/$t.dict" ] && dict=(-dict="$repo/fuzz/dict/$t.dict")
  printf '== %-15s %ss ... ' "$t" "$seconds"
  status=ok
  budget=(-max_total_time="$seconds")
  [ "$seconds" = 0 ] && budget=(-runs=0)  # libFuzzer reads -max_total_time=0 as "no limit"
  # shellcheck disable=SC2086
  "$exe" "$dir/corpus" "${dict[@]}" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    "${budget[@]}" -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    ${FUZZ_ARGS:-} >"$dir/log" 2>&1 || status=FAIL
  artifact=$(find "$dir/artifacts" -type f | head -1)
  [ -n "$artifact" ] && status=FAIL
  cov=$(grep -Eo 'cov: [0-9]+' "$dir/log" | tail -1 | awk '{print $2}')
  ft=$(grep -Eo 'ft: [0-9]+' "$dir/log" | tail -1 | awk '{print $2}')
  execs=$(awk -F': ' '/stat::number_of_executed_units/ {print $2}' "$dir/log")
  rate=$(awk -F': ' '/stat::average_exec_per_sec/ {print $2}' "$dir/log")
  corpus=$(find "$dir/corpus" -type f | wc -l)
  echo "$status"
  if [ "$status" = FAIL ]; then
    failed=1
    grep -E '^(SUMMARY|==[0-9]+==ERROR|protos7 fuzz invariant failed|.*runtime error)' "$dir/log" | head -3 | sed 's/^/   /'
    if [ -n "$artifact" ]; then
      echo "   reproducer: $artifact"
      rel=${exe#"$repo"/}
      [ "$rel" != "$exe" ] && rel="./$rel"
      echo "   reproduce:  $rel $artifact"
    else
      echo "   log: $dir/log"
    fi
  fi
  rows+=("$(printf '%-15s %-4s %10s %12s %6s %7s %6s' "$t" "$status" "${rate:--}" "${execs:--}" "${cov:--}" "${ft:--}" "$corpus")")
done

echo
printf '%-15s %-4s %10s %12s %6s %7s %6s\n' target stat "execs/s" "total execs" cov ft corpus
for r in "${rows[@]}"; do echo "$r"; done
exit $failed
