/**
 * Encoding speed of this tokenizer vs an older build of src/engine/tokenizer.ts, same text, same process,
 * alternating rounds (the machine is shared: only the ratio within one run means anything).
 *
 *   node dist/bench/tokenizer/compare-builds.js --old /path/to/old/engine/tokenizer.js [--mb 3] [--vocab 8192] [--rounds 3]
 *
 * Both sides load the same trained vocabulary (tokenizer.json written by this build; the old build's fromJSON
 * reads it), start with a cold word cache each round, and must give identical ids.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";

const { values } = parseArgs({
  options: { old: { type: "string" }, mb: { type: "string" }, vocab: { type: "string" }, rounds: { type: "string" } },
});
if (!values.old) throw new Error("--old path/to/old/tokenizer.js is required");
interface OldTok {
  encode(t: string): number[];
}
const oldMod = (await import(pathToFileURL(path.resolve(values.old)).href)) as {
  BpeTokenizer: { fromJSON(o: unknown): OldTok };
};
const limit = Number(values.mb ?? 3) * 1e6;
const rounds = Number(values.rounds ?? 3);

const docs: string[] = [];
let total = 0;
const walk = (d: string): void => {
  for (const n of fs.readdirSync(d).sort()) {
    if (total >= limit) return;
    const p = path.join(d, n);
    const st = fs.statSync(p);
    if (st.isDirectory()) walk(p);
    else if (/\.(js|ts|md|py)$/.test(n) && st.size < 1_000_000 && !n.endsWith(".min.js")) {
      const t = fs.readFileSync(p, "utf8");
      docs.push(t);
      total += Buffer.byteLength(t);
    }
  }
};
walk("node_modules");
const text = docs.join("\n");
const bytes = Buffer.byteLength(text);
const trained = await BpeTokenizer.train(docs, { vocabSize: Number(values.vocab ?? 8192) });
const json = trained.toHuggingFaceJSON();
console.log(`text ${(bytes / 1e6).toFixed(2)} MB, vocab ${trained.vocabSize}`);
const secs = (f: () => void): number => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
let oldS = 0;
let newS = 0;
for (let r = 0; r < rounds; r++) {
  const o = oldMod.BpeTokenizer.fromJSON(json);
  const n = BpeTokenizer.fromJSON(json);
  let a: number[] = [];
  let b: number[] = [];
  const so = secs(() => (a = o.encode(text)));
  const sn = secs(() => (b = n.encode(text)));
  if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw new Error("old and new builds give different ids");
  oldS += so;
  newS += sn;
  console.log(`round ${r + 1}: old ${(bytes / 1e6 / so).toFixed(2)} MB/s, new ${(bytes / 1e6 / sn).toFixed(2)} MB/s`);
}
console.log(
  `encode (cold cache, ${rounds} rounds): old ${((rounds * bytes) / 1e6 / oldS).toFixed(2)} MB/s, new ${((rounds * bytes) / 1e6 / newS).toFixed(2)} MB/s, new/old ${(oldS / newS).toFixed(2)}, identical ids`,
);
