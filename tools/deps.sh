#!/usr/bin/env bash
# Installs the Debian 12 packages protos7 needs (as root), or prints the one apt command to run.
#   tools/deps.sh          build and run
#   tools/deps.sh --test   also what the test suite uses (tshark, clang's libFuzzer, node, podman
#                          for the container image and the Kubernetes manifests, ...)
# Transient archive errors (a mirror that times out, a 503) are retried: apt's own retries for
# each download and, around them, up to 3 attempts of the whole update + install.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      libpcap-dev libgtest-dev libcli11-dev libfmt-dev libsqlite3-dev
      libcpp-httplib-dev nlohmann-json3-dev libbenchmark-dev)
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(clang clang-format clang-tidy libclang-rt-14-dev tshark python3 nmap nodejs zip unzip
         chromium sqlite3
         podman runc catatonit python3-prometheus-client python3-yaml curl man-db)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs may come from another source than Debian (e.g. NodeSource): a working node is enough.
if [[ " ${missing[*]-} " == *" nodejs "* ]] && command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}")
fi
missing=($(printf '%s\n' "${missing[@]-}" | sed '/^$/d'))
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  echo "protos7: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-o Acquire::Retries=5 -o Acquire::http::Timeout=30)
  for attempt in 1 2 3; do
    if apt-get "${apt_opts[@]}" update -qq &&
       apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
      exit 0
    fi
    echo "protos7: apt-get failed (attempt $attempt of 3); retrying in $((attempt * 10)) s" >&2
    sleep $((attempt * 10))
  done
  echo "protos7: apt-get failed 3 times: is the Debian archive reachable?" >&2
  exit 1
else
  echo "protos7: missing packages. Run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
