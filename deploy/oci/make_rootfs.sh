#!/usr/bin/env bash
# Makes the root file system of the protos7 container image from a built binary, without any
# registry: the binary, the shared libraries it loads (found with ldd, copied from this Debian
# 12 machine) and each one's Debian copyright file, a passwd/group for the unprivileged user,
# /tmp, the state directory, the bundled profile and protos7's licence files. Writes it as a tar
# (numeric owners: root, the state directory 65534) for `ADD rootfs.tar /` (Containerfile).
#
#   deploy/oci/make_rootfs.sh BUILD/tools/protos7 OUT_DIR     -> OUT_DIR/rootfs.tar
set -euo pipefail
bin="$(readlink -f "$1")"
out="$2"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ -x "$bin" ]] || { echo "make_rootfs: $1 is not an executable" >&2; exit 64; }
mkdir -p "$out"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,etc,tmp,var/lib/protos7,usr/share/protos7/profiles,usr/share/doc/protos7}
install -m 0755 "$bin" "$root/usr/bin/protos7"
strip --strip-unneeded "$root/usr/bin/protos7"

# Shared libraries, at the paths ldd resolved them to (the dynamic loader included), and the
# copyright file of the Debian package each belongs to.
ldd "$bin" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
  pkg="$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)" || pkg=""
  [[ -z "$pkg" ]] && pkg="$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)" || true
  if [[ -n "$pkg" && -f "/usr/share/doc/$pkg/copyright" ]]; then
    mkdir -p "$root/usr/share/doc/$pkg"
    cp "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/copyright"
  fi
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
protos7:x:65534:65534:protos7:/var/lib/protos7:/usr/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
protos7:x:65534:
GROUP
echo "hosts: files dns" >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown 65534:65534 "$root/var/lib/protos7"
chmod 0750 "$root/var/lib/protos7"
cp "$repo/server/profiles/s7-300.json" "$root/usr/share/protos7/profiles/"
cp "$repo/LICENSE" "$repo/NOTICE" "$repo/THIRD_PARTY_NOTICES.md" "$root/usr/share/doc/protos7/"
tar --numeric-owner -C "$root" -cf "$out/rootfs.tar" .
echo "make_rootfs: $out/rootfs.tar ($(du -k "$out/rootfs.tar" | cut -f1) KiB, $(find "$root" -name '*.so*' | wc -l) shared libraries)" >&2
