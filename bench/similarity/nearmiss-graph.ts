/**
 * Near misses: ROC-AUC of each metric at ranking semantics-preserving structural rewrites (loop <-> comprehension,
 * negated condition with swapped arms, early return, while <-> for, inlined helper; hand-written, label 1)
 * above one-token semantic breaks of the same function (flipped comparison, off-by-one literal, wrong arithmetic
 * operator; made by `breakEdits`, label 0), in Python, Ruby and JavaScript. The reference is the base function.
 *
 *   node dist/bench/similarity/nearmiss-graph.js [--verbose]
 */
import { loadLanguage, type LangId } from "../../src/lang/index.js";
import { similarity, type Metric } from "../../src/similarity/index.js";
import { NEARMISS } from "./nearmiss-data.js";
import { breakEdits } from "./rewrites.js";
import { rocAuc } from "./quality.js";

const METRICS_HERE: Metric[] = ["bleu", "codebleu", "dfg"];
const verbose = process.argv.includes("--verbose");
const pos: Record<string, number[]> = {};
const neg: Record<string, number[]> = {};
const byKind: Record<string, Record<string, number[]>> = {};
let nPos = 0;
let nNeg = 0;
for (const [lang, bases] of Object.entries(NEARMISS) as Array<[LangId, (typeof NEARMISS)["python"]]>) {
  await loadLanguage(lang);
  for (const b of bases) {
    const pairs: Array<[string, string, 0 | 1]> = [
      ...b.rewrites.map(([k, c]) => [k, c, 1] as [string, string, 1]),
      ...breakEdits(b.base, lang).map(([k, c]) => [k, c, 0] as [string, string, 0]),
    ];
    for (const [kind, code, label] of pairs) {
      if (label) nPos++;
      else nNeg++;
      const line: string[] = [];
      for (const m of METRICS_HERE) {
        const s = similarity(m, b.base, code, lang).score;
        for (const key of [m, `${m}:${lang}`]) ((label ? pos : neg)[key] ??= []).push(s);
        ((byKind[m] ??= {})[kind] ??= []).push(s);
        line.push(`${m} ${s.toFixed(3)}`);
      }
      if (verbose)
        console.log(`${lang.padEnd(10)} ${b.name.padEnd(18)} ${kind.padEnd(15)} ${label} ${line.join("  ")}`);
    }
  }
}
const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
console.log(`pairs: ${nPos} preserving, ${nNeg} breaking`);
const langs = Object.keys(NEARMISS);
console.log(
  `\n| metric | ROC-AUC all | ${langs.map((l) => `AUC ${l}`).join(" | ")} |\n|---|---|${langs.map(() => "---").join("|")}|`,
);
for (const m of METRICS_HERE)
  console.log(
    `| ${m} | ${rocAuc(pos[m]!, neg[m]!).toFixed(3)} | ${langs.map((l) => rocAuc(pos[`${m}:${l}`]!, neg[`${m}:${l}`]!).toFixed(3)).join(" | ")} |`,
  );
const kinds = Object.keys(byKind.dfg!);
console.log(`\n| metric | ${kinds.map((k) => `mean ${k}`).join(" | ")} |\n|---|${kinds.map(() => "---").join("|")}|`);
for (const m of METRICS_HERE)
  console.log(`| ${m} | ${kinds.map((k) => mean(byKind[m]![k]!).toFixed(3)).join(" | ")} |`);
