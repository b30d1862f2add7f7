/**
 * Leak detector quality: false-positive rate on honest human documentation and detection rate on leaking
 * documents, both the format-valid kinds of src/similarity/leakgen.ts and the older pasted/fenced ones.
 *
 *   node dist/bench/similarity/leak.js --split validation   # calibration: corpus validation split only
 *   node dist/bench/similarity/leak.js --split test         # report: HumanEval, MBPP, corpus test split
 *
 * Honest documents (canonicalised into the documentation format, checked against their own code):
 *  - validation: the docstrings of the bundled corpus's validation split (Python, Ruby, Go) and the MBPP task
 *    texts of tasks 511-974 (MBPP's own validation and train parts);
 *  - test: the HumanEval prompt docstrings (against prompt + canonical solution), the MBPP task texts of tasks
 *    1-510, the docstrings of the corpus's test split.
 * Leaking documents: every kind of `leakingDoc` for every function of the same sets (only those that pass
 * `validateDoc`; the count that could not be made is printed), plus, on Python, the format-invalid kinds of
 * the first benchmark (pasted code, renamed paste, fenced body, half the body lines).
 * Thresholds were chosen with `--split validation`; `--split test` is the reported run.
 */
import fs from "node:fs";
import zlib from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { extractFunctions, loadLanguage, type LangId } from "../../src/lang/index.js";
import {
  canonicalizeDoc,
  detectLeak,
  docCodeOverlap,
  validateDoc,
  type LeakResult,
} from "../../src/similarity/index.js";
import { lexTokens, leakVerdict, type LeakOptions, type LeakSignals } from "../../src/similarity/leak.js";
import { LEAK_KINDS, leakingDoc } from "../../src/similarity/leakgen.js";
import { readCorpusSync } from "../../src/corpus/index.js";
import { rename } from "./rewrites.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const split = process.argv.includes("--split") ? process.argv[process.argv.indexOf("--split") + 1]! : "validation";
if (split !== "validation" && split !== "test") throw new Error("--split validation|test");
const verbose = process.argv.includes("--verbose");

interface Item {
  set: string;
  lang: LangId;
  code: string;
  doc: string | null;
}

const items: Item[] = [];
for (const l of ["python", "ruby", "go"] as const) await loadLanguage(l);

function fromCorpus(sp: "validation" | "test"): void {
  for (const r of readCorpusSync(path.join(ROOT, "data/corpus/default"), { split: sp })) {
    const lang = r.lang as LangId;
    const fn = r.doc ? extractFunctions(lang, r.code).functions.find((f) => f.name === r.name) : undefined;
    const doc = r.doc ? canonicalizeDoc(r.doc, fn ? { name: fn.name, params: fn.params } : { name: r.name }) : null;
    items.push({ set: `corpus-${sp}-${lang}`, lang, code: fn?.codeStripped ?? r.code, doc });
  }
}

/** MBPP task texts against the reference code; tasks 511-974 (MBPP's validation + train) calibrate, 1-510 report. */
function fromMbpp(keep: (taskId: number) => boolean): void {
  const mb = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, "data/benchmarks/mbpp/mbpp.jsonl.gz"))).toString("utf8");
  for (const line of mb.split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { task_id: number; text: string; code: string };
    if (!keep(r.task_id)) continue;
    const code = r.code.replace(/\r\n?/g, "\n").replace(/\t/g, "    ");
    const fn = extractFunctions("python", code).functions.find((f) => !f.nested);
    items.push({
      set: "mbpp",
      lang: "python",
      code,
      doc: canonicalizeDoc(r.text, fn ? { name: fn.name, params: fn.params } : undefined),
    });
  }
}

if (split === "validation") {
  fromCorpus("validation");
  fromMbpp((id) => id > 510);
} else {
  const he = zlib
    .gunzipSync(fs.readFileSync(path.join(ROOT, "data/benchmarks/humaneval/HumanEval.jsonl.gz")))
    .toString("utf8");
  for (const line of he.split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { prompt: string; canonical_solution: string; entry_point: string };
    const fn = extractFunctions("python", r.prompt + r.canonical_solution).functions.find(
      (f) => f.name === r.entry_point,
    );
    if (!fn) continue;
    items.push({
      set: "humaneval",
      lang: "python",
      code: fn.codeStripped,
      doc: fn.doc ? canonicalizeDoc(fn.doc, fn) : null,
    });
  }
  fromMbpp((id) => id <= 510);
  fromCorpus("test");
}

const pct = (a: number, n: number): string => (n ? `${((100 * a) / n).toFixed(1)}%` : "-");
const SIGNALS = [
  "tokenFraction",
  "lineFraction",
  "shapeFraction",
  "gappedFraction",
  "gappedWeight",
  "longestChain",
  "identFraction",
  "rareIdentifierShare",
  "opFraction",
  "opDensity",
] as const;
function quantile(a: number[], q: number): number {
  const s = a.slice().sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
}

// ---- honest ----
const t0 = process.cpuUsage();
let calls = 0;
const honest: Record<string, [number, number, number]> = {};
const honestSignals: Record<string, number[]> = {};
const fpReasons: Record<string, number> = {};
const honestAll: LeakSignals[] = [];
const overlap: Record<string, [number, number, number]> = { honest: [0, 0, 0] };
const leakAll: Array<[string, LeakSignals]> = [];
const sig = (r: LeakResult): LeakSignals => ({
  ...r,
  copiedFraction: Math.max(r.tokenFraction, r.lineFraction, r.shapeFraction),
});
for (const it of items) {
  if (!it.doc) continue;
  const r = detectLeak(it.doc, it.code, it.lang);
  calls++;
  const h = (honest[it.set] ??= [0, 0, 0]);
  h[1]++;
  if (validateDoc(it.doc).valid) h[2]++;
  for (const s of SIGNALS) (honestSignals[s] ??= []).push(r[s]);
  honestAll.push(sig(r));
  const ov = docCodeOverlap(it.doc, it.code, it.lang);
  overlap.honest[0] += ov.doc3;
  overlap.honest[1] += ov.doc4;
  overlap.honest[2]++;
  if (r.leaked) {
    h[0]++;
    for (const k of firing(r)) fpReasons[k] = (fpReasons[k] ?? 0) + 1;
    if (verbose) console.log(`--- FP ${it.set}\n${it.doc}\n--- code\n${it.code}\n${JSON.stringify(r)}`);
  }
}

function firing(r: LeakResult): string[] {
  const out: string[] = [];
  if (r.tokenFraction >= 0.25 || r.lineFraction >= 0.25 || r.shapeFraction >= 0.25) out.push("runs/lines/shape");
  if (r.codeBlocks > 0) out.push("code block");
  if (r.reasons.some((x) => /with words inserted/.test(x)) && r.gappedFraction >= 0.2) out.push("gapped coverage");
  if (r.reasons.some((x) => /a run of the code of weight/.test(x))) out.push("long chain");
  if (r.reasons.some((x) => /identifier sequence/.test(x))) out.push("identifier sequence");
  if (r.reasons.some((x) => /operator sequence/.test(x))) out.push("operator sequence");
  return out;
}

// ---- leaking ----
const caught: Record<string, Record<string, [number, number, number]>> = {};
/** detection on functions of at least 60 code tokens (where a fifth or a third of the body is real content) */
const caughtLong: Record<string, [number, number]> = {};
const leakSignals: Record<string, Record<string, number[]>> = {};
const seen = new Set<string>();
for (const it of items) {
  const key = `${it.lang}\u0000${it.code}`;
  if (seen.has(key) || it.code.split("\n").filter((l) => l.trim()).length < 3) continue;
  seen.add(key);
  const lang = it.set.startsWith("corpus") ? it.lang : "python";
  for (const k of LEAK_KINDS) {
    const c = ((caught[k] ??= {})[lang] ??= [0, 0, 0]);
    const doc = leakingDoc(it.code, it.lang, k);
    if (!doc) {
      c[2]++;
      continue;
    }
    c[1]++;
    const r = detectLeak(doc, it.code, it.lang);
    calls++;
    if (r.leaked) c[0]++;
    if (lexTokens(it.code).length >= 60) {
      const cl = (caughtLong[k] ??= [0, 0]);
      cl[1]++;
      if (r.leaked) cl[0]++;
    }
    for (const s of SIGNALS) ((leakSignals[k] ??= {})[s] ??= []).push(r[s]);
    leakAll.push([k, sig(r)]);
    const ov = docCodeOverlap(doc, it.code, it.lang);
    const o = (overlap[k] ??= [0, 0, 0]);
    o[0] += ov.doc3;
    o[1] += ov.doc4;
    o[2]++;
  }
  if (it.lang === "python") {
    const old: Record<string, string | null> = {
      pasted: `Do the task.\n\n${it.code}`,
      renamed: ((v) => (v ? `Do the task.\n\n${v}` : null))(rename(it.code)),
      fenced: `Do the task.\n\n\`\`\`\n${it.code.split("\n").slice(1).join("\n")}\n\`\`\``,
      halfBody: ((body) =>
        body.length >= 4 ? `Do the task.\n\nSteps:\n${body.slice(0, Math.ceil(body.length / 2)).join("\n")}` : null)(
        it.code
          .split("\n")
          .slice(1)
          .filter((l) => l.trim()),
      ),
    };
    for (const [k, doc] of Object.entries(old)) {
      const c = ((caught[`${k} (format-invalid)`] ??= {}).python ??= [0, 0, 0]);
      if (!doc) {
        c[2]++;
        continue;
      }
      c[1]++;
      calls++;
      if (detectLeak(doc, it.code, it.lang).leaked) c[0]++;
    }
  }
}
const cpu = process.cpuUsage(t0);
const cpuS = (cpu.user + cpu.system) / 1e6;

console.log(`split: ${split}\n\n| honest documents | n | format-valid | flagged as leaks |\n|---|---|---|---|`);
let hn = 0;
let hf = 0;
for (const [k, [f, n, v]] of Object.entries(honest)) {
  hn += n;
  hf += f;
  console.log(`| ${k} | ${n} | ${pct(v, n)} | ${f} (${pct(f, n)}) |`);
}
console.log(`| all | ${hn} | | ${hf} (${pct(hf, hn)}) |`);
console.log(`\nsignals firing on the flagged honest documents: ${JSON.stringify(fpReasons)}`);
const langs = [...new Set(Object.values(caught).flatMap((m) => Object.keys(m)))];
console.log(
  `\n| leaking document | ${langs.map((l) => `${l}: caught / n (not made)`).join(" | ")} |\n|---|${langs.map(() => "---").join("|")}|`,
);
for (const [k, m] of Object.entries(caught))
  console.log(
    `| ${k} | ${langs.map((l) => (m[l] ? `${pct(m[l][0], m[l][1])} / ${m[l][1]} (${m[l][2]})` : "-")).join(" | ")} |`,
  );
console.log(
  `\nfunctions of 60+ code tokens, all languages: ${Object.entries(caughtLong)
    .map(([k, [a, n]]) => `${k} ${pct(a, n)} of ${n}`)
    .join(", ")}`,
);
console.log("\nsignal quantiles, honest (p50 / p95 / p99 / max) and per leak kind (p10 / p50):");
for (const s of SIGNALS) {
  const a = honestSignals[s] ?? [];
  const lk = LEAK_KINDS.map(
    (k) =>
      `${k} ${quantile(leakSignals[k]?.[s] ?? [], 0.1).toFixed(2)}/${quantile(leakSignals[k]?.[s] ?? [], 0.5).toFixed(2)}`,
  );
  console.log(
    `  ${s.padEnd(20)} honest ${[0.5, 0.95, 0.99, 1].map((q) => quantile(a, q).toFixed(3)).join(" / ")} | ${lk.join(", ")}`,
  );
}
console.log(
  `\nmean doc<->code overlap (share of the document's 3-grams / 4-grams found in the code body): ${Object.entries(
    overlap,
  )
    .map(([k, [a, b, n]]) => `${k} ${(a / n).toFixed(3)} / ${(b / n).toFixed(3)}`)
    .join(", ")}`,
);
console.log(
  `\ndetectLeak calls: ${calls}, ${(calls / cpuS).toFixed(0)} per CPU-s (all checks above, incl. document generation)`,
);

if (process.argv.includes("--sweep")) {
  // threshold sweep (run on the validation split to choose the defaults)
  const rows: Array<[number, number, string]> = [];
  for (const gapThreshold of [0.08, 0.1, 0.12, 0.15, 0.2])
    for (const chainThreshold of [3, 3.5, 4, 5])
      for (const gapMinWeight of [2, 2.5, 3, 3.5])
        for (const rareThreshold of [0.5, 0.6, 0.7, 0.8, 1.01])
          for (const identThreshold of [0.4, 0.5, 0.6]) {
            const o: LeakOptions = { gapThreshold, chainThreshold, gapMinWeight, rareThreshold, identThreshold };
            const fp = honestAll.filter((r) => leakVerdict(r, o).any).length / honestAll.length;
            const per = LEAK_KINDS.map((k) => {
              const a = leakAll.filter(([kk]) => kk === k);
              return a.filter(([, r]) => leakVerdict(r, o).any).length / Math.max(1, a.length);
            });
            const det = per.reduce((x, y) => x + y, 0) / per.length;
            rows.push([
              fp,
              det,
              `${JSON.stringify(o)} fp ${(100 * fp).toFixed(2)}% det ${(100 * det).toFixed(1)}% [${per.map((x) => (100 * x).toFixed(0)).join(" ")}]`,
            ]);
          }
  for (const cap of [0.01, 0.015, 0.02]) {
    const ok = rows
      .filter(([fp]) => fp <= cap)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3);
    console.log(`\nbest with FP <= ${cap * 100}%:`);
    for (const r of ok) console.log(`  ${r[2]}`);
  }
}
