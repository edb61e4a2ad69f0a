#!/usr/bin/env bash
# Builds the Debian package from the release build, installs it into this machine (dpkg -i, as
# root) and runs the installed binary the way its systemd unit does, then removes it again.
#
#   deploy/debian/test_deb.sh [BUILD_DIR]      (default build/release; CI: tools/test.sh)
#
# Checked:
#  - the package installs (its dependencies come from dpkg-shlibdeps) and holds the binary, the
#    man pages, the docs, the bundled profile, the unit and the conffile /etc/protos7/protos7.conf;
#  - `systemd-analyze verify` accepts the unit (when systemd-analyze exists);
#  - the unit's ExecStart line, run as an unprivileged user with CAP_NET_BIND_SERVICE as its only
#    capability (what DynamicUser + AmbientCapabilities give it; systemd is not PID 1 here, so the
#    line is run directly, with the state directory made as StateDirectory= would), serves S7 on
#    a port below 1024, answers `protos7 health` and `protos7 client read`, and stops on SIGTERM
#    within the unit's TimeoutStopSec with exit status 0;
#  - `dpkg --purge` removes it all.
# Exit 0 when all holds; 77 (skipped) when not root or dpkg is missing.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:-$repo/build/release}" && pwd)"
log() { printf 'test_deb: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
[[ $(id -u) -eq 0 ]] || { log "skipped: needs root (dpkg -i)"; exit 77; }
command -v dpkg >/dev/null || { log "skipped: no dpkg"; exit 77; }

# --- build the package -------------------------------------------------------------------------
# The package's install prefix and the service files only while packaging: the build directory
# goes back to a plain `cmake --install` (prefix /usr/local, no /etc files) at the end.
restore_build() {
  cmake -S "$repo" -B "$build" -DPROTOS7_INSTALL_SERVICE=OFF -DCMAKE_INSTALL_PREFIX=/usr/local >/dev/null
}
stage="$(mktemp -d)"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null
  dpkg --purge protos7 >/dev/null 2>&1 || true
  rm -rf "$stage"
  restore_build
}
trap cleanup EXIT
cmake -S "$repo" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DPROTOS7_INSTALL_SERVICE=ON >/dev/null
cmake --build "$build" --target protos7 >&2
rm -rf "$build/deb"
(cd "$build" && cpack -G DEB -B "$build/deb" >&2)
deb="$(ls "$build"/deb/protos7_*.deb)"
log "built $deb ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb --field "$deb" Package Version Architecture Depends >&2

# --- install -----------------------------------------------------------------------------------
dpkg --purge protos7 >/dev/null 2>&1 || true
dpkg -i "$deb" >&2 || { apt-get install -f -y -qq >&2; dpkg -i "$deb" >&2; }
for f in /usr/bin/protos7 /usr/share/man/man1/protos7.1.gz /usr/share/man/man1/protos7-serve.1.gz \
         /usr/share/doc/protos7/README.md /usr/share/doc/protos7/LICENSE \
         /usr/share/doc/protos7/THIRD_PARTY_NOTICES.md /usr/share/protos7/profiles/s7-300.json \
         /usr/lib/systemd/system/protos7.service /etc/protos7/protos7.conf; do
  [[ -e "$f" || -e "${f%.gz}" ]] || die "$f not installed"
done
grep -qx /etc/protos7/protos7.conf /var/lib/dpkg/info/protos7.conffiles || die "protos7.conf is not a conffile"
/usr/bin/protos7 --version >&2
unit=/usr/lib/systemd/system/protos7.service
if command -v systemd-analyze >/dev/null; then
  # Without systemd as PID 1, verify still checks the unit's syntax, directives and ExecStart.
  out="$(systemd-analyze verify "$unit" 2>&1)" || die "systemd-analyze verify: $out"
  [[ -z "$out" ]] && log "systemd-analyze verify: clean" || log "systemd-analyze verify says: $out"
fi

# --- run the unit's ExecStart as the unit would -------------------------------------------------
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
[[ "$exec_start" == "/usr/bin/protos7 serve --config /etc/protos7/protos7.conf"* ]] ||
  die "unexpected ExecStart: $exec_start"
# A privileged port nobody uses (the conffile's 102 may be taken on a CI machine by a test).
port=""
for p in $(seq 990 1020); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n "$port" ]] || die "no free port in 990..1020"
sed -e "s/^port = .*/port = $port/" -e "s/^webadmin-listen = .*/webadmin-listen = 127.0.0.1:0/" \
  /etc/protos7/protos7.conf >"$stage/protos7.conf"
chmod 0755 "$stage"
chmod 0644 "$stage/protos7.conf"
mkdir -p "$stage/state"
chown 65534:65534 "$stage/state"
chmod 0750 "$stage/state"
cmd="${exec_start//\/etc\/protos7\/protos7.conf/$stage/protos7.conf}"
cmd="${cmd//\/var\/lib\/protos7/$stage/state}"
log "running as uid 65534 with only CAP_NET_BIND_SERVICE: $cmd"
# shellcheck disable=SC2086
setpriv --reuid=65534 --regid=65534 --clear-groups \
  --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
  --bounding-set=-all,+net_bind_service --no-new-privs \
  $cmd >"$stage/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "serving;" "$stage/serve.log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
grep -q "serving;" "$stage/serve.log" || { cat "$stage/serve.log" >&2; die "the service did not start"; }
grep -q "listening on 0.0.0.0:$port" "$stage/serve.log" || { cat "$stage/serve.log" >&2; die "not on port $port"; }
caps="$(grep CapEff /proc/$pid/status | awk '{print $2}')"
[[ "$caps" == "0000000000000400" ]] || die "effective capabilities $caps, not CAP_NET_BIND_SERVICE alone"
[[ "$(stat -c %u /proc/$pid)" == 65534 ]] || die "not running as uid 65534"
/usr/bin/protos7 health "127.0.0.1:$port" >&2 || die "protos7 health failed"
/usr/bin/protos7 client "127.0.0.1:$port" write MW10=4711 >&2 || die "client write failed"
[[ "$(/usr/bin/protos7 client "127.0.0.1:$port" read MW10)" == "MW10 = 4711 (16#1267)" ]] ||
  die "client read did not give back 4711"
ls "$stage/state" | grep -q '^DB1.bin$' || die "no DB1.bin in the state directory"
t0=$(date +%s%N)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $rc -eq 0 ]] || { cat "$stage/serve.log" >&2; die "exit status $rc after SIGTERM"; }
(( ms < 10000 )) || die "stop took $ms ms (TimeoutStopSec=10s)"
log "stopped on SIGTERM in $ms ms, exit 0"

dpkg --purge protos7 >&2
[[ ! -e /usr/bin/protos7 && ! -e /etc/protos7/protos7.conf ]] || die "dpkg --purge left files"
log "ok: installed, served on port $port as uid 65534 with CAP_NET_BIND_SERVICE only, purged"
