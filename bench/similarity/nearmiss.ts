/**
 * ROC-AUC of each metric (behaviour, graph = dfg, CodeBLEU, BLEU, exact) at ranking semantics-preserving
 * rewrites (label 1) above one-token semantic breaks (label 0), per language, on data/nearmiss/<lang>.jsonl
 * (made and execution-checked by nearmiss-gen.js). Behaviour uses its defaults (seed 0, 24 inputs), not the
 * checker's inputs.
 *
 * The pairs are split by reference function (`nearMissSplit`, a hash of the reference id): settings of the graph
 * metric are chosen on the "dev" part only; the "validation" part is held out and reported separately.
 *
 *   node dist/bench/similarity/nearmiss.js [--seed S] [--split dev|validation|all]
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadLanguage, type LangId } from "../../src/lang/index.js";
import { similarity, type Metric } from "../../src/similarity/index.js";
import { BehaviourRunner } from "../../src/behaviour/index.js";
import { strHash } from "../../src/similarity/ged.js";
import { rocAuc } from "./quality.js";
import type { NearMissPair } from "./nearmiss/types.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const LANGS = ["python", "ruby", "javascript"] as const;
const STATIC: Metric[] = ["dfg", "codebleu", "bleu", "exact"];
const NAMES: Record<string, string> = {
  behaviour: "behaviour",
  dfg: "graph (dfg)",
  codebleu: "CodeBLEU",
  bleu: "BLEU",
  exact: "exact",
};

export function loadNearMiss(lang: string): NearMissPair[] {
  const file = path.join(ROOT, "data/nearmiss", `${lang}.jsonl`);
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as NearMissPair);
}

/** Deterministic split of the near-miss pairs by reference function (never by pair: a function's rewrites and
 * breaks stay together). About half of the references are "dev". */
export function nearMissSplit(ref: string): "dev" | "validation" {
  return (strHash(`nearmiss-split:${ref}`) >>> 0) % 2 === 0 ? "dev" : "validation";
}

/** The structural rewrite kinds the graph normalisation targets (the rest are library-level rewrites and renamings). */
const STRUCTURAL =
  /^rewrite:(negated-if|for-to-while|for-of-to-while|each-to-while|early-return|single-exit|inlined-helper|loop-to-comprehension|comprehension|loop|for-loop|ternary)$/;

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

async function main(): Promise<void> {
  const seed = process.argv.includes("--seed") ? Number(process.argv[process.argv.indexOf("--seed") + 1]) : 0;
  const split = process.argv.includes("--split") ? process.argv[process.argv.indexOf("--split") + 1]! : "all";
  if (!["dev", "validation", "all"].includes(split)) throw new Error(`--split: dev, validation or all, not ${split}`);
  const runner = new BehaviourRunner({ seed });
  const table: string[] = [];
  const kindRows: string[] = [];
  const pooled: Record<string, { pos: number[]; neg: number[] }> = {};
  const structural: Record<string, number[]> = {};
  for (const lang of LANGS) {
    await loadLanguage(lang as LangId);
    const pairs = loadNearMiss(lang).filter((p) => split === "all" || nearMissSplit(p.ref) === split);
    const t0 = performance.now();
    const beh = await runner.compare(
      pairs.map((p) => ({ lang, original: p.original, rebuilt: p.variant, entryPoint: p.entry })),
    );
    const behMs = performance.now() - t0;
    const scores: Record<string, number[]> = { behaviour: beh.map((r) => r.score ?? 0) };
    const nonExec = beh.filter((r) => !r.executable).length;
    for (const m of STATIC) scores[m] = pairs.map((p) => similarity(m, p.original, p.variant, lang as LangId).score);
    for (const m of Object.keys(NAMES)) {
      const acc = (pooled[m] ??= { pos: [], neg: [] });
      scores[m]!.forEach((x, i) => (pairs[i]!.label === 1 ? acc.pos : acc.neg).push(x));
      scores[m]!.forEach((x, i) => STRUCTURAL.test(pairs[i]!.kind) && (structural[m] ??= []).push(x));
    }
    const cells = Object.keys(NAMES).map((m) => {
      const s = scores[m]!;
      return rocAuc(
        s.filter((_, i) => pairs[i]!.label === 1),
        s.filter((_, i) => pairs[i]!.label === 0),
      ).toFixed(3);
    });
    const nPos = pairs.filter((p) => p.label === 1).length;
    table.push(
      `| ${lang} | ${nPos} / ${pairs.length - nPos} | ${cells.join(" | ")} | ${nonExec} | ${(behMs / 1000).toFixed(1)} s |`,
    );
    const kinds = [...new Set(pairs.map((p) => p.kind))].sort();
    for (const k of kinds) {
      const idx = pairs.map((p, i) => (p.kind === k ? i : -1)).filter((i) => i >= 0);
      kindRows.push(
        `| ${lang} | ${k} | ${idx.length} | ${Object.keys(NAMES)
          .map((m) => mean(idx.map((i) => scores[m]![i]!)).toFixed(3))
          .join(" | ")} |`,
      );
    }
  }
  console.log(`near-miss ROC-AUC, split ${split} (behaviour seed ${seed}; label 1 = rewrite, 0 = one-token break)\n`);
  console.log(
    `| language | rewrites / breaks | ${Object.values(NAMES).join(" | ")} | behaviour not executable | behaviour time |`,
  );
  console.log(
    `|---|---|${Object.keys(NAMES)
      .map(() => "---")
      .join("|")}|---|---|`,
  );
  for (const r of table) console.log(r);
  const all = Object.keys(NAMES).map((m) => rocAuc(pooled[m]!.pos, pooled[m]!.neg).toFixed(3));
  console.log(`| all | ${pooled.dfg!.pos.length} / ${pooled.dfg!.neg.length} | ${all.join(" | ")} | | |`);
  const st = Object.keys(NAMES).map((m) => rocAuc(structural[m] ?? [], pooled[m]!.neg).toFixed(3));
  console.log(
    `| all, structural rewrites only | ${structural.dfg?.length ?? 0} / ${pooled.dfg!.neg.length} | ${st.join(" | ")} | | |`,
  );
  console.log(`\nmean score by kind\n`);
  console.log(`| language | kind | n | ${Object.values(NAMES).join(" | ")} |`);
  console.log(
    `|---|---|---|${Object.keys(NAMES)
      .map(() => "---")
      .join("|")}|`,
  );
  for (const r of kindRows) console.log(r);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) await main();
