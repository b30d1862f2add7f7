#!/usr/bin/env bash
# Rebuilds the executable slice data/corpus/exec/ (the default RL corpus): the functions of the bundled standard-
# library corpus (Python and Go) and of the generated tinyfuncs slice (Python, Ruby, Go) that the behaviour runner
# can run alone in the sandbox, each in its own split (src/orchestration/exec-slice.ts). Ruby standard-library
# functions are left out: too few run alone, and some hang the Ruby runner until its batch wall limit (see
# data/corpus/README.md). The warm start of a run on this slice reads the two source corpora.
#
#   scripts/build-exec-corpus.sh           rebuild in place and rewrite SHA256SUMS
#   scripts/build-exec-corpus.sh --check   rebuild into a temporary directory and compare with SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/commands/corpus.js ] || npx tsc -p tsconfig.json
dest=data/corpus/exec
out=$dest
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  out="$tmp/exec"
fi
node bin/batcoder.js corpus exec-slice --from data/corpus/default=python,go --from data/corpus/tinyfuncs --out "$out" --quiet
sums() {
  (cd "$1" && sha256sum manifest.json dropped.jsonl.gz subset-stats.json $(ls train/*.jsonl.gz validation/*.jsonl.gz test/*.jsonl.gz))
}
if [ "${1:-}" = "--check" ]; then
  if diff <(sums "$out") "$dest/SHA256SUMS"; then echo "build-exec-corpus: rebuild identical (SHA256SUMS match)"; else
    echo "build-exec-corpus: rebuild DIFFERS from $dest/SHA256SUMS" >&2
    exit 1
  fi
  exit 0
fi
sums "$dest" > "$dest/SHA256SUMS"
echo "build-exec-corpus: wrote $dest ($(du -sh "$dest" | cut -f1))"
