#!/usr/bin/env bash
# One idempotent set-up for a fresh machine of this kind (Debian + Node 20), called by both README commands.
# - Debian packages the project needs at run time and in tests (installed only when missing; needs root).
# - npm dependencies (npm ci when package-lock.json changed since the last install).
# - The native kernels addon (node-gyp; a failed build fails set-up) and the TypeScript build into a clean dist/.
set -euo pipefail
cd "$(dirname "$0")/.."

# package -> a file or command that proves it is installed
declare -A NEED=(
  [bubblewrap]=/usr/bin/bwrap
  [ruby]=/usr/bin/ruby
  [golang-go]=/usr/bin/go
  [lua5.4]=/usr/bin/lua5.4
  [php-cli]=/usr/bin/php
  [libopenblas-dev]=/usr/include/x86_64-linux-gnu/cblas.h
  [chromium]=/usr/bin/chromium
  [python3]=/usr/bin/python3
  [libpython3.11-stdlib]=/usr/lib/python3.11/json/__init__.py
  [libruby3.1]=/usr/lib/ruby/3.1.0/set.rb
  [golang-1.19-src]=/usr/lib/go-1.19/src/strings/strings.go
  [git]=/usr/bin/git
  [lua-unit]=/usr/share/lua/5.4/luaunit.lua
  [libjavatuples-java]=/usr/share/java/javatuples.jar
  [libtest-deep-perl]=/usr/share/perl5/Test/Deep.pm
  # MultiPL-E's remaining languages with a Debian toolchain (Swift has none in Debian 12)
  [r-base-core]=/usr/bin/Rscript
  [racket]=/usr/bin/racket
  [ocaml-interp]=/usr/bin/ocaml
  [scala]=/usr/bin/scalac
)
missing=()
for pkg in "${!NEED[@]}"; do
  [ -e "${NEED[$pkg]}" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} — run this script as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The Python reference environment (.venv/: torch, transformers, peft, …) that tests compare against.
bash scripts/setup-python.sh

# node-gyp must build the native kernels against this machine's Node headers (no download): point it at them.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
  export npm_config_nodedir=/usr
fi

# npm dependencies: reinstall when the lockfile changes.
stamp=node_modules/.batcoder-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci" >&2
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi

# Native kernels addon: rebuild when its sources changed since the last build (npm ci builds it the first time).
nstamp=build/.batcoder-native.sha
nwant=$(find binding.gyp native -type f \( -name "*.gyp" -o -name "*.cc" -o -name "*.h" \) | sort | xargs cat | sha256sum | cut -d' ' -f1)
if [ ! -f build/Release/batcoder_kernels.node ] || [ ! -f "$nstamp" ] || [ "$(cat "$nstamp")" != "$nwant" ]; then
  echo "setup: building native kernels (node-gyp)" >&2
  gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  if node "$gyp" rebuild >&2; then echo "$nwant" > "$nstamp"; else
    # The tests compare the native kernels with the TypeScript ones and must never skip that: a failed build
    # fails set-up (and so CI). (At run time the engine still falls back to the TS kernels if the addon is gone.)
    echo "setup: ERROR: the native kernels addon failed to build (see the node-gyp output above)" >&2
    exit 1
  fi
fi

# Compile TypeScript into a clean dist/ (a deleted source or test must not keep running from stale output).
rm -rf dist
npx tsc -p tsconfig.json >&2
