#!/usr/bin/env bash
# Keeps the OSS-Fuzz build working without docker: runs build.sh the way the OSS-Fuzz builder
# does (CC=clang CXX=clang++ LIB_FUZZING_ENGINE=-fsanitize=fuzzer, the builder's default
# ASan + UBSan flags, OUT and WORK in a temporary directory), then checks that $OUT holds every
# target with its dictionary, options and seed corpus, and that each target runs its seeds.
#
#   fuzz/oss-fuzz/check_build.sh        (KEEP=1 keeps the temporary directory)
#
# Differences from the real builder: the system libpcap is used (no $SRC/libpcap), and
# libstdc++ instead of the builder's libc++.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then
  echo "check_build: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
mkdir -p "$tmp/out" "$tmp/work" "$tmp/src"

export CC=${CC:-clang} CXX=${CXX:-clang++} LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export SRC="$tmp/src" WORK="$tmp/work" OUT="$tmp/out" PROTOS7_SRC="$repo" JOBS=${JOBS:-2}
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,undefined -fsanitize-address-use-after-scope -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
bash "$here/build.sh" >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log"; echo "check_build: build.sh failed"; exit 1; }

status=0
for t in tpkt_framer cotp s7_header s7_job s7_ack_data userdata szl capture roundtrip_cotp roundtrip_s7 step7_address; do
  for f in "fuzz_$t" "fuzz_$t.dict" "fuzz_$t.options" "fuzz_${t}_seed_corpus.zip"; do
    [ -e "$OUT/$f" ] || { echo "check_build: missing \$OUT/$f"; status=1; }
  done
  [ -x "$OUT/fuzz_$t" ] || continue
  rm -rf "$tmp/seeds" && mkdir "$tmp/seeds"
  unzip -q "$OUT/fuzz_${t}_seed_corpus.zip" -d "$tmp/seeds"
  if ! "$OUT/fuzz_$t" -runs=0 -dict="$OUT/fuzz_$t.dict" "$tmp/seeds" >"$tmp/$t.log" 2>&1; then
    echo "check_build: fuzz_$t fails on its seed corpus:"; tail -20 "$tmp/$t.log"; status=1
  else
    printf 'check_build: fuzz_%-15s ok (%s seeds)\n' "$t" "$(find "$tmp/seeds" -type f | wc -l)"
  fi
done
exit $status
