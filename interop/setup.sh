#!/usr/bin/env bash
# Installs the interop test clients (node-snap7, nodes7, playwright-core) from
# package-lock.json and builds node-snap7's native addon, non-interactively
# and without internet access other than the npm registry.
#
#   bash interop/setup.sh            # from anywhere; idempotent
#
# Needs: node + npm (Debian package nodejs from NodeSource, which ships the
# node headers in /usr/include/node), and a C++ toolchain for node-gyp:
# Debian packages python3 make g++ (installed here with apt-get if missing
# and we are root).
#
# Env: NODEDIR=<dir with include/node/node.h> overrides the header location.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { printf 'interop/setup.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v node >/dev/null || die "node not found (Debian package: nodejs)"
command -v npm >/dev/null || die "npm not found"

# --- build tools for node-gyp ------------------------------------------------
missing=()
for t in python3 make g++; do command -v "$t" >/dev/null || missing+=("$t"); done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing build tools from Debian: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o Acquire::Retries=5 update -qq
    apt-get -o Acquire::Retries=5 install -y -qq --no-install-recommends python3 make g++ >/dev/null
  else
    die "missing build tools: ${missing[*]} (apt-get install python3 make g++)"
  fi
fi

# --- node headers --------------------------------------------------------------
# node-gyp would otherwise download the headers tarball from nodejs.org, which
# is not reachable here. Point it at the headers of the installed node.
node_bin="$(readlink -f "$(command -v node)")"
nodedir="${NODEDIR:-$(dirname "$(dirname "$node_bin")")}"
hdr="$nodedir/include/node/node_version.h"
[[ -f "$hdr" && -f "$nodedir/include/node/common.gypi" ]] ||
  die "node headers not found under $nodedir/include/node (set NODEDIR; NodeSource's nodejs package ships them, Debian's own needs libnode-dev)"
hv="$(awk '/#define NODE_(MAJOR|MINOR|PATCH)_VERSION /{printf "%s%s", sep, $3; sep="."}' "$hdr")"
nv="$(node -p process.versions.node)"
[[ "$hv" == "$nv" ]] || die "headers in $nodedir are for node $hv but node is $nv"
log "node $nv, npm $(npm -v), headers: $nodedir/include/node"

export npm_config_nodedir="$nodedir"        # read by node-gyp (inherited env)
export npm_config_build_from_source=true    # prebuild-install: don't try GitHub
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# --- install -----------------------------------------------------------------
# npm 11 (>= 11.19 here) has an install-script policy: package.json's
# "allowScripts" (written by `npm install-scripts approve node-snap7`) lists
# the dependencies whose install scripts may run. It is name-only
# ("node-snap7": true) on purpose: this machine's global npmrc sets
# omit-lockfile-registry-resolved=true, so the lockfile has no "resolved"
# URL and a pinned "node-snap7@1.0.9" entry can never match (npm refuses it).
# npm 11.19 still runs *unreviewed* scripts with a warning (only `false`
# denies); --strict-allow-scripts makes any unreviewed script a hard error,
# so CI notices a new dependency with an install script. npm 10 has no policy
# and runs install scripts anyway. Either way `npm ci` builds the addon.
strict=()
npm_major="$(npm -v | cut -d. -f1)"
if ((npm_major >= 11)) && npm help install-scripts >/dev/null 2>&1; then strict=(--strict-allow-scripts); fi
# A transient registry error (a timeout, a 5xx) is retried: npm's own fetch retries, and up to
# 3 attempts of the whole `npm ci` (which starts from a clean node_modules each time).
export npm_config_fetch_retries=5 npm_config_fetch_retry_mintimeout=2000 npm_config_fetch_retry_maxtimeout=60000
for attempt in 1 2 3; do
  npm ci --no-audit --no-fund --foreground-scripts "${strict[@]}" && break
  ((attempt < 3)) || die "npm ci failed 3 times: is the npm registry reachable?"
  log "npm ci failed (attempt $attempt of 3); retrying in $((attempt * 10)) s"
  sleep $((attempt * 10))
done

addon_ok() { node -e "const s=require('node-snap7'); new s.S7Client(); new s.S7Server()" 2>/dev/null; }

if ! addon_ok; then
  log "node-snap7 addon not loadable after npm ci; running npm rebuild node-snap7"
  npm rebuild node-snap7 --foreground-scripts || true
fi
if ! addon_ok; then
  # Last resort: build with npm's bundled node-gyp directly.
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [[ -f "$gyp" ]] || gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  log "building node-snap7 with $gyp --nodedir=$nodedir"
  (cd node_modules/node-snap7 && node "$gyp" rebuild --nodedir="$nodedir")
fi
addon_ok || { node -e "require('node-snap7')"; die "node-snap7 addon does not load"; }
node -e "require('nodes7'); require('playwright-core')" || die "nodes7/playwright-core missing"
log "ok: node-snap7 (native addon built), nodes7, playwright-core installed"
