#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script for protos7 (also run locally by check_build.sh).
#
# Uses what the OSS-Fuzz builder sets: $CC $CXX $CFLAGS $CXXFLAGS $LIB_FUZZING_ENGINE $SRC $WORK
# $OUT. Builds the fuzz targets with CMake (PROTOS7_LIBFUZZER=ON, the engine from
# $LIB_FUZZING_ENGINE) and puts into $OUT, per target: the binary fuzz_<name>, its dictionary
# fuzz_<name>.dict, fuzz_<name>.options (max_len) and fuzz_<name>_seed_corpus.zip (the
# committed corpus and regression inputs).
#
# libpcap (protos7::capture, fuzz_capture): the runner image has no libpcap.so, so when its
# source is at $SRC/libpcap (the Dockerfiles clone it) it is built here, statically and with the
# same sanitizer flags; otherwise (check_build.sh) the system libpcap is used.
#
# The repository: $PROTOS7_SRC, else $SRC/protos7, else the checkout this script lives in.

repo=${PROTOS7_SRC:-}
if [ -z "$repo" ]; then
  if [ -d "${SRC:-/nonexistent}/protos7" ]; then
    repo=$SRC/protos7
  else
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  fi
fi
work=${WORK:-$(mktemp -d)}
jobs=${JOBS:-$(nproc)}
targets=(tpkt_framer cotp s7_header s7_job s7_ack_data userdata szl capture roundtrip_cotp roundtrip_s7 step7_address)

if [ -d "${SRC:-/nonexistent}/libpcap" ]; then
  cmake -S "$SRC/libpcap" -B "$work/libpcap-build" -G Ninja \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$work/libpcap" -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF \
    -DDISABLE_DBUS=ON -DDISABLE_RDMA=ON -DDISABLE_BLUETOOTH=ON -DDISABLE_LINUX_USBMON=ON \
    -DDISABLE_NETMAP=ON -DDISABLE_DPDK=ON -DBUILD_WITH_LIBNL=OFF -DENABLE_REMOTE=OFF
  cmake --build "$work/libpcap-build" -j "$jobs" --target install
  rm -f "$work"/libpcap/lib/libpcap.so*  # link the archive even if a shared one was installed
  if [ ! -f "$work/libpcap/lib/pkgconfig/libpcap.pc" ]; then
    mkdir -p "$work/libpcap/lib/pkgconfig"
    printf 'Name: libpcap\nDescription: libpcap\nVersion: 1.10\nLibs: -L%s/lib -lpcap\nCflags: -I%s/include\n' \
      "$work/libpcap" "$work/libpcap" >"$work/libpcap/lib/pkgconfig/libpcap.pc"
  fi
  export PKG_CONFIG_PATH="$work/libpcap/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi

# Only the fuzz targets are built; tests, benchmarks and the server are not configured.
cmake -S "$repo" -B "$work/protos7-build" -G Ninja \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPROTOS7_LIBFUZZER=ON -DPROTOS7_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" -DPROTOS7_BUILD_FUZZ=ON \
  -DPROTOS7_BUILD_TESTS=OFF -DPROTOS7_BUILD_BENCH=OFF -DPROTOS7_BUILD_SERVER=OFF
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$work/protos7-build" -j "$jobs" --target "${build_targets[@]}"

# -max_len per layer: the same values as fuzz/run_ci.sh and fuzz/extract_seeds.py.
max_len() {
  case $1 in
    tpkt_framer) echo 8192 ;;
    cotp) echo 2048 ;;
    capture) echo 16384 ;;
    *) echo 1024 ;;
  esac
}

for t in "${targets[@]}"; do
  cp "$work/protos7-build/fuzz/fuzz_$t" "$OUT/"
  cp "$repo/fuzz/dict/$t.dict" "$OUT/fuzz_$t.dict"
  printf '[libfuzzer]\nmax_len = %s\ntimeout = 10\n' "$(max_len "$t")" >"$OUT/fuzz_$t.options"
  seeds=()
  for d in corpus regressions; do
    [ -d "$repo/fuzz/$d/$t" ] && seeds+=("$repo/fuzz/$d/$t")
  done
  rm -f "$OUT/fuzz_${t}_seed_corpus.zip"
  if [ ${#seeds[@]} -gt 0 ]; then
    # zip -j: flat, by file name (the names are content hashes, so corpus and regressions
    # cannot collide with different contents).
    find "${seeds[@]}" -type f -print0 | xargs -0 zip -q -j "$OUT/fuzz_${t}_seed_corpus.zip"
  fi
done
