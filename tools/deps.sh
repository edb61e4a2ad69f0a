#!/usr/bin/env bash
# Installs the Debian 12 packages protos7 needs (as root), or prints the one apt command to run.
#   tools/deps.sh          build and run
#   tools/deps.sh --test   also what the test suite uses (tshark, clang's libFuzzer, node, ...)
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      libpcap-dev libgtest-dev libcli11-dev libfmt-dev libsqlite3-dev
      libcpp-httplib-dev nlohmann-json3-dev libbenchmark-dev)
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(clang libclang-rt-14-dev tshark python3 nmap nodejs zip unzip chromium sqlite3)
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
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "protos7: missing packages. Run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
