#!/usr/bin/env bash
# `cmake --install` into a prefix, the prefix moved elsewhere, the installed protos7 run from
# there: the GNU install directories hold the binary, the man pages, the docs and the bundled
# profile, nothing installed names the first prefix, and the moved binary serves the installed
# profile (a relocatable prefix).
#
#   tools/test/install_test.sh BUILD_DIR        (ctest: install_relocatable)
set -euo pipefail
build="$(cd "${1:?usage: install_test.sh BUILD_DIR}" && pwd)"
tmp="$(mktemp -d)"
pid=""
cleanup() { [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
die() { echo "install_test: FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/first" >"$tmp/install.log" || { cat "$tmp/install.log"; die "cmake --install"; }
mv "$tmp/first" "$tmp/moved"
p="$tmp/moved"
for f in bin/protos7 share/man/man1/protos7.1 share/man/man1/protos7-serve.1 \
         share/man/man1/protos7-client.1 share/doc/protos7/README.md share/doc/protos7/LICENSE \
         share/doc/protos7/THIRD_PARTY_NOTICES.md share/doc/protos7/docs/PROFILE.md \
         share/protos7/profiles/s7-300.json; do
  [[ -f "$p/$f" ]] || die "$f not installed"
done
[[ ! -e "$p/etc" && ! -e "$p/lib/systemd" ]] || die "service files installed without PROTOS7_INSTALL_SERVICE"
if grep -rl "$tmp/first" "$p" >/dev/null; then die "installed files name the install prefix"; fi
"$p/bin/protos7" --version | grep -q "^protos7 " || die "the moved binary does not run"
if command -v man >/dev/null; then
  MANPATH="$p/share/man" man -w protos7-serve >/dev/null || die "man does not find protos7-serve"
fi
"$p/bin/protos7" serve --profile "$p/share/protos7/profiles/s7-300.json" --listen 127.0.0.1 \
  --port 0 --flags.disable-webadmin --data-dir "$tmp/data" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "serving;" "$tmp/serve.log" && break; sleep 0.05; done
grep -q "serving;" "$tmp/serve.log" || { cat "$tmp/serve.log"; die "the moved binary does not serve"; }
kill -TERM "$pid"
wait "$pid" || die "serve exited with $? after SIGTERM"
pid=""
echo "install_test: ok ($(find "$p" -type f | wc -l) files, moved prefix runs)"
