#!/usr/bin/env bash
# Builds the generated TinyStories-style slice data/corpus/tinyfuncs/ (small pure functions in Python, Ruby and Go
# with natural documentation; src/corpus/tinyfuncs.ts) through the corpus pipeline: the same filters,
# decontamination against every benchmark in data/benchmarks/ (removed functions are listed in
# contamination.jsonl), exact + near dedup, and file-keyed train/validation/test splits. Deterministic.
#
#   scripts/build-tinyfuncs.sh [PER_LANG=300] [SEED=1]
set -euo pipefail
cd "$(dirname "$0")/.."
per=${1:-300}
seed=${2:-1}
[ -f dist/src/corpus/tinyfuncs.js ] || npx tsc -p tsconfig.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node --input-type=module -e "
import { generateTinyFunctions } from './dist/src/corpus/tinyfuncs.js';
import fs from 'node:fs';
const files = generateTinyFunctions({ seed: ${seed}, perLang: ${per} });
fs.writeFileSync('$tmp/tiny.jsonl', files.map((f) => JSON.stringify(f)).join('\n') + '\n');
"
cat > "$tmp/config.json" <<JSON
{
  "inputs": [{ "path": "$tmp/tiny.jsonl", "repo": "batcoder-tinyfuncs", "license": "MIT" }],
  "langs": ["python", "ruby", "go"],
  "minLines": 2, "maxLines": 40, "minTokens": 8, "maxTokens": 400, "excludeTests": true,
  "split": { "train": 0.8, "validation": 0.1, "test": 0.1, "key": "file", "seed": "batcoder-tinyfuncs-v1" },
  "shardRecords": 20000, "gzipLevel": 9
}
JSON
rm -rf data/corpus/tinyfuncs
node bin/batcoder.js corpus build --config "$tmp/config.json" --out data/corpus/tinyfuncs --quiet
# the config names a temp path: record the generator's parameters instead
node --input-type=module -e "
import fs from 'node:fs';
const p = 'data/corpus/tinyfuncs/config.json';
const c = JSON.parse(fs.readFileSync(p, 'utf8'));
c.inputs = [{ generator: 'src/corpus/tinyfuncs.ts generateTinyFunctions', seed: ${seed}, perLang: ${per}, repo: 'batcoder-tinyfuncs', license: 'MIT' }];
fs.writeFileSync(p, JSON.stringify(c, null, 2) + '\n');
"
node bin/batcoder.js corpus stats data/corpus/tinyfuncs | head -30
