/**
 * Metric quality: ROC-AUC of each similarity metric at telling semantics-preserving rewrites of a function
 * (label 1) from semantics-breaking ones (label 0), over HumanEval canonical solutions and sanitized-MBPP
 * reference code (Python).
 *
 *   node dist/bench/similarity/quality.js [--limit N]
 */
import fs from "node:fs";
import zlib from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { extractFunctions, loadLanguage, parseCode } from "../../src/lang/index.js";
import { similarity, METRICS, type Metric } from "../../src/similarity/index.js";
import { rename, reorder, reformat, flipComparison, deleteStatement, swapArguments } from "./rewrites.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function loadPythonFunctions(): Array<{ id: string; code: string }> {
  const out: Array<{ id: string; code: string }> = [];
  const he = zlib
    .gunzipSync(fs.readFileSync(path.join(ROOT, "data/benchmarks/humaneval/HumanEval.jsonl.gz")))
    .toString("utf8");
  for (const line of he.split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { task_id: string; prompt: string; canonical_solution: string; entry_point: string };
    const src = r.prompt + r.canonical_solution;
    const fn = extractFunctions("python", src).functions.find((f) => f.name === r.entry_point);
    if (fn && !fn.hasErrors) out.push({ id: r.task_id, code: fn.codeStripped + "\n" });
  }
  const mb = JSON.parse(fs.readFileSync(path.join(ROOT, "data/benchmarks/mbpp/sanitized-mbpp.json"), "utf8")) as Array<{
    task_id: number;
    code: string;
  }>;
  for (const r of mb) {
    const code = r.code.replace(/\r\n?/g, "\n");
    if (!parseCode("python", code).hasErrors) out.push({ id: `MBPP/${r.task_id}`, code });
  }
  return out;
}

/** ROC-AUC: probability that a random positive outscores a random negative (ties count half). */
export function rocAuc(pos: number[], neg: number[]): number {
  const all = [...pos.map((s) => [s, 1] as const), ...neg.map((s) => [s, 0] as const)].sort((a, b) => a[0] - b[0]);
  // rank-sum with average ranks for ties
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]![0] === all[i]![0]) j++;
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]![1] === 1) rankSumPos += avg;
    i = j;
  }
  return (rankSumPos - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

async function main(): Promise<void> {
  const limitArg = process.argv.indexOf("--limit");
  const limit = limitArg > 0 ? Number(process.argv[limitArg + 1]) : Infinity;
  await loadLanguage("python");
  const fns = loadPythonFunctions().slice(0, limit);
  const kinds = {
    rename: [rename, 1],
    reorder: [reorder, 1],
    reformat: [reformat, 1],
    flip: [flipComparison, 0],
    delete: [deleteStatement, 0],
    swap: [swapArguments, 0],
  } as const;
  const scores: Record<Metric, { pos: number[]; neg: number[]; byKind: Record<string, number[]> }> = Object.fromEntries(
    METRICS.map((m) => [m, { pos: [], neg: [], byKind: {} }]),
  ) as never;
  const counts: Record<string, number> = {};
  const t0 = Date.now();
  fns.forEach((f, idx) => {
    const variants: Array<[string, string, 0 | 1]> = [];
    for (const [k, [fnx, label]] of Object.entries(kinds)) {
      const v = fnx(f.code);
      if (v !== null && v !== f.code) variants.push([k, v, label]);
    }
    // a different task of similar length (the next function with a line count within 50%)
    const n = f.code.split("\n").length;
    for (let d = 1; d < fns.length; d++) {
      const g = fns[(idx + d * 7) % fns.length]!;
      const m = g.code.split("\n").length;
      if (g.id !== f.id && m >= n * 0.5 && m <= n * 1.5) {
        variants.push(["other-task", g.code, 0]);
        break;
      }
    }
    for (const [k, v, label] of variants) {
      counts[k] = (counts[k] ?? 0) + 1;
      for (const m of METRICS) {
        const s = similarity(m, f.code, v, "python").score;
        (label ? scores[m].pos : scores[m].neg).push(s);
        (scores[m].byKind[k] ??= []).push(s);
      }
    }
  });
  const secs = (Date.now() - t0) / 1000;
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
  console.log(
    `functions: ${fns.length} (HumanEval canonical solutions + sanitized MBPP), pairs: ${Object.values(counts).reduce((a, b) => a + b, 0)}`,
  );
  console.log(
    `variants: ${Object.entries(counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
  console.log(
    `\n| metric | ROC-AUC | ${Object.keys(counts)
      .map((k) => `mean ${k}`)
      .join(" | ")} |`,
  );
  console.log(
    `|---|---|${Object.keys(counts)
      .map(() => "---")
      .join("|")}|`,
  );
  for (const m of METRICS) {
    const s = scores[m];
    console.log(
      `| ${m} | ${rocAuc(s.pos, s.neg).toFixed(4)} | ${Object.keys(counts)
        .map((k) => mean(s.byKind[k] ?? []).toFixed(3))
        .join(" | ")} |`,
    );
  }
  // AUC of the hard case alone: preserving vs. small semantic edits (other-task excluded)
  console.log("\nROC-AUC without the other-task negatives (preserving vs. small semantic edits):");
  for (const m of METRICS) {
    const s = scores[m];
    const neg = ["flip", "delete", "swap"].flatMap((k) => s.byKind[k] ?? []);
    console.log(`  ${m.padEnd(9)} ${rocAuc(s.pos, neg).toFixed(4)}`);
  }
  console.log(`\n(${secs.toFixed(1)} s)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) await main();
