/**
 * Leak detector quality on HumanEval + sanitized MBPP (Python): false-positive rate on honest documents and
 * detection rate on leaking ones.
 *
 *   node dist/bench/similarity/leak.js
 *
 * Honest: the HumanEval prompt docstrings, canonicalised into the documentation format, against the
 * canonical solution (these docstrings include usage examples). Leaking, built from every function's code:
 * the code pasted after a summary; the code with its identifiers renamed (the `rename` rewrite); the body
 * lines in a fenced block; half of the body lines pasted.
 */
import fs from "node:fs";
import zlib from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { extractFunctions, loadLanguage } from "../../src/lang/index.js";
import { canonicalizeDoc, detectLeak } from "../../src/similarity/index.js";
import { loadPythonFunctions } from "./quality.js";
import { rename } from "./rewrites.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
await loadLanguage("python");

let honest = 0;
let falsePos = 0;
let fracSum = 0;
const he = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, "data/benchmarks/humaneval/HumanEval.jsonl.gz"))).toString("utf8");
for (const line of he.split("\n")) {
  if (!line.trim()) continue;
  const r = JSON.parse(line) as { prompt: string; canonical_solution: string; entry_point: string };
  const fn = extractFunctions("python", r.prompt + r.canonical_solution).functions.find((f) => f.name === r.entry_point);
  if (!fn?.doc) continue;
  const doc = canonicalizeDoc(fn.doc, fn);
  if (!doc) continue;
  honest++;
  const res = detectLeak(doc, fn.codeStripped, "python");
  fracSum += res.fraction;
  if (res.leaked) falsePos++;
}

const kinds: Record<string, (code: string) => string | null> = {
  pasted: (c) => `Do the task.\n\n${c}`,
  renamed: (c) => {
    const v = rename(c);
    return v ? `Do the task.\n\n${v}` : null;
  },
  fenced: (c) => `Do the task.\n\n\`\`\`\n${c.split("\n").slice(1).join("\n")}\n\`\`\``,
  halfBody: (c) => {
    const body = c.split("\n").slice(1).filter((l) => l.trim());
    return body.length >= 4 ? `Do the task.\n\nSteps:\n${body.slice(0, Math.ceil(body.length / 2)).join("\n")}` : null;
  },
};
const caught: Record<string, [number, number]> = {};
for (const f of loadPythonFunctions()) {
  if (f.code.split("\n").filter((l) => l.trim()).length < 3) continue;
  for (const [k, mk] of Object.entries(kinds)) {
    const doc = mk(f.code);
    if (!doc) continue;
    const c = (caught[k] ??= [0, 0]);
    c[1]++;
    if (detectLeak(doc, f.code, "python").leaked) c[0]++;
  }
}
console.log(`honest HumanEval docs: ${honest}, flagged as leaks: ${falsePos} (${((100 * falsePos) / honest).toFixed(1)}%), mean leaked fraction ${(fracSum / honest).toFixed(3)}`);
console.log("\n| leaking document | n | caught |\n|---|---|---|");
for (const [k, [a, n]] of Object.entries(caught)) console.log(`| ${k} | ${n} | ${((100 * a) / n).toFixed(1)}% |`);
