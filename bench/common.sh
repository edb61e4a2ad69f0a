#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # sets variables for, and reads those of, the sourcing script
# Set-up shared by the benchmark scripts (sourced, not run). cleanup() stops `$pid` (the server
# a script started, or "") and removes `$tmp` (its scratch directory): a script sets both and
# traps cleanup on EXIT.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# need_release_binaries BUILD_DIR: sets protos7 and s7load, or exits naming the build command.
need_release_binaries() {
  protos7="$1/tools/protos7"
  s7load="$1/bench/load/s7load"
  [[ -x "$protos7" && -x "$s7load" ]] || {
    echo "need $protos7 and $s7load (cmake --build --preset release --target protos7 s7load)" >&2
    exit 2
  }
}

# RLIMIT_NOFILE to $1: the hard limit too where allowed (root with CAP_SYS_RESOURCE), else the
# soft limit up to the hard one (a container may forbid raising it: the PLCs must then fit).
raise_nofile() {
  local hard
  hard="$(ulimit -Hn)"
  # Never lower the hard limit (a process cannot raise it again).
  [[ "$hard" != unlimited && "$hard" -lt "$1" ]] && { ulimit -Hn "$1" 2>/dev/null || true; }
  hard="$(ulimit -Hn)"
  if [[ "$hard" == unlimited || "$hard" -ge "$1" ]]; then ulimit -Sn "$1"; else ulimit -Sn "$hard"; fi
}

cleanup() {
  [[ -n "${pid:-}" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}

# The "# date: ...; machine: ..." line every result file starts with.
machine_line() {
  echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs" \
    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(uname -sr);" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
