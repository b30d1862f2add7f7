#!/usr/bin/env bash
# Rebuilds the bundled default corpus data/corpus/default/ from the standard libraries that Debian packages
# ship (Python 3.11: libpython3.11-stdlib, Ruby 3.1: libruby3.1, Go 1.19: golang-1.19-src) with the corpus
# pipeline and the config in data/corpus/default-config.json. The build is deterministic: a rebuild gives the
# same bytes, which SHA256SUMS records.
#
#   scripts/build-default-corpus.sh           rebuild in place, copy the licenses, rewrite SHA256SUMS
#   scripts/build-default-corpus.sh --check   rebuild into a temporary directory and compare with SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."

mode=build
[ "${1:-}" = "--check" ] && mode=check

for p in /usr/lib/python3.11/json/__init__.py /usr/lib/ruby/3.1.0/set.rb /usr/lib/go-1.19/src/strings/strings.go; do
  if [ ! -e "$p" ]; then
    echo "build-default-corpus: $p is missing — run scripts/setup.sh as root (it installs the stdlib packages)" >&2
    exit 1
  fi
done
[ -f dist/src/cli/commands/corpus.js ] || npx tsc -p tsconfig.json

dest=data/corpus/default
if [ "$mode" = check ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  out="$tmp/default"
else
  out="$dest"
fi

node bin/batcoder.js corpus build --config data/corpus/default-config.json --out "$out" --quiet

# The deterministic files (stats.json holds timings and is left out).
sums() {
  (cd "$1" && sha256sum manifest.json config.json contamination.jsonl dropped-files.jsonl $(ls train/*.jsonl.gz validation/*.jsonl.gz test/*.jsonl.gz))
}

if [ "$mode" = check ]; then
  if diff <(sums "$out") "$dest/SHA256SUMS"; then
    echo "build-default-corpus: rebuild is byte-identical to $dest (SHA256SUMS match)"
  else
    echo "build-default-corpus: rebuild DIFFERS from $dest/SHA256SUMS" >&2
    exit 1
  fi
  exit 0
fi

mkdir -p "$dest/licenses"
cp /usr/lib/python3.11/LICENSE.txt "$dest/licenses/python-3.11-LICENSE.txt"
cp /usr/share/doc/libpython3.11-stdlib/copyright "$dest/licenses/python-3.11-debian-copyright"
cp /usr/share/doc/libruby3.1/copyright "$dest/licenses/ruby-3.1-debian-copyright"
cp /usr/share/doc/golang-1.19-src/copyright "$dest/licenses/go-1.19-debian-copyright"
if [ -f /usr/share/go-1.19/LICENSE ]; then cp /usr/share/go-1.19/LICENSE "$dest/licenses/go-1.19-LICENSE"; fi
sums "$dest" > "$dest/SHA256SUMS"
echo "build-default-corpus: wrote $dest ($(du -sh "$dest" | cut -f1)); SHA256SUMS updated"
