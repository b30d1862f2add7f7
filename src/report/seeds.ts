/**
 * Several runs of one frozen config that differ only in the seed, summarised: for each held-out metric the value
 * before and after RL and the paired change, per seed, then the mean across seeds with a 95% t-interval (n = the
 * number of seeds, so the interval says how much the result moves from seed to seed). The runs must share the
 * config (all but `seed`, `run_name`, `output_dir`) and the held-out functions; anything else is an error, since
 * it would not be a seed study. `batcoder report --seeds RUN RUN RUN`.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { runPaths } from "../core/runs.js";
import { meanCI, type MeanCI } from "../core/stats.js";

type CI = { mean: number };
interface Headline {
  n: number;
  [k: string]: CI | number;
}
interface EvalSummary {
  step: number;
  n: number;
  roundtrip: CI;
  doc2code_human: CI;
  doc_bleu: CI;
  doc_rougeL: CI;
  doc_valid_rate: number;
  per_function: { ids: string[] };
  headline?: Headline;
  headline_by_lang?: Record<string, Headline>;
}
interface RunSummary {
  steps: number;
  first_eval: EvalSummary | null;
  last_eval: EvalSummary | null;
}

/** Metrics reported, in order: [key in the headline, label, optimised by RL?]. */
export const SEED_METRICS: [string, string][] = [
  ["rt_equiv", "round trips behaviourally equivalent (share)"],
  ["rt_pass", "round-trip pass rate on the original's inputs"],
  ["human_equiv", "doc→code from human docs: equivalent (share)"],
  ["human_pass", "doc→code from human docs: pass rate"],
  ["leak", "doc leak rate"],
  ["doc_len", "doc length (tokens)"],
  ["overlap3", "doc↔code 3-gram overlap"],
];
const STATIC_METRICS: [keyof EvalSummary, string][] = [
  ["roundtrip", "round-trip similarity (the reward's own score: behaviour-first mix)"],
  ["doc2code_human", "doc→code from human docs (the reward's score)"],
  ["doc_rougeL", "doc ROUGE-L vs human docs"],
];

export interface SeedRow {
  scope: string;
  metric: string;
  label: string;
  n: number;
  perSeed: { run: string; seed: number; before: number; after: number; delta: number }[];
  before: MeanCI;
  after: MeanCI;
  delta: MeanCI;
}

export interface SeedSummary {
  runs: string[];
  seeds: number[];
  steps: number;
  nFunctions: number;
  split: string;
  rows: SeedRow[];
}

const IGNORED_KEYS = new Set(["seed", "run_name", "output_dir"]);

function readJson<T>(file: string, what: string): T {
  if (!fs.existsSync(file)) throw new UserError(`${what}: ${file} not found (is it a finished run directory?)`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

export function seedSummary(runDirs: string[]): SeedSummary {
  if (runDirs.length < 2) throw new UserError("report --seeds: give at least two run directories");
  const runs = runDirs.map((dir) => {
    const p = runPaths(dir);
    const cfg = readJson<Record<string, unknown>>(p.config, "report --seeds");
    const sum = readJson<RunSummary>(p.summary, "report --seeds");
    if (!sum.first_eval || !sum.last_eval || sum.first_eval.step === sum.last_eval.step)
      throw new UserError(`report --seeds: ${dir} has no held-out evaluation both before and after RL`);
    return { dir, cfg, sum };
  });
  const ref = runs[0]!;
  for (const r of runs.slice(1)) {
    const keys = new Set([...Object.keys(ref.cfg), ...Object.keys(r.cfg)]);
    const diff = [...keys].filter(
      (k) => !IGNORED_KEYS.has(k) && JSON.stringify(ref.cfg[k]) !== JSON.stringify(r.cfg[k]),
    );
    if (diff.length)
      throw new UserError(
        `report --seeds: ${r.dir} and ${ref.dir} differ in ${diff.join(", ")} (a seed study varies the seed only)`,
      );
    const a = [...ref.sum.last_eval!.per_function.ids].sort().join(",");
    const b = [...r.sum.last_eval!.per_function.ids].sort().join(",");
    if (a !== b) throw new UserError(`report --seeds: ${r.dir} and ${ref.dir} evaluated different held-out functions`);
  }
  const seeds = runs.map((r) => Number(r.cfg.seed));
  if (new Set(seeds).size !== seeds.length) throw new UserError(`report --seeds: seeds repeat (${seeds.join(", ")})`);
  const rows: SeedRow[] = [];
  const add = (scope: string, metric: string, label: string, get: (e: EvalSummary) => number | undefined) => {
    const perSeed = runs.map((r, i) => {
      const before = get(r.sum.first_eval!);
      const after = get(r.sum.last_eval!);
      return {
        run: path.basename(r.dir),
        seed: seeds[i]!,
        before: before ?? NaN,
        after: after ?? NaN,
        delta: (after ?? NaN) - (before ?? NaN),
      };
    });
    if (perSeed.some((s) => !Number.isFinite(s.delta))) return;
    rows.push({
      scope,
      metric,
      label,
      n: 0,
      perSeed,
      before: meanCI(perSeed.map((s) => s.before)),
      after: meanCI(perSeed.map((s) => s.after)),
      delta: meanCI(perSeed.map((s) => s.delta)),
    });
  };
  const headlineValue = (h: Headline | undefined, k: string): number | undefined => {
    const v = h?.[k];
    return typeof v === "object" && v ? v.mean : undefined;
  };
  const langs = Object.keys(ref.sum.last_eval!.headline_by_lang ?? {}).sort();
  for (const scope of ["all", ...langs]) {
    for (const [k, label] of SEED_METRICS)
      add(scope, k, label, (e) => headlineValue(scope === "all" ? e.headline : e.headline_by_lang?.[scope], k));
    const n = scope === "all" ? ref.sum.last_eval!.headline?.n : ref.sum.last_eval!.headline_by_lang?.[scope]?.n;
    for (const r of rows) if (r.scope === scope) r.n = n ?? 0;
  }
  for (const [k, label] of STATIC_METRICS) add("all", k, label, (e) => (e[k] as CI | undefined)?.mean);
  for (const r of rows) if (r.n === 0) r.n = ref.sum.last_eval!.n;
  return {
    runs: runs.map((r) => r.dir),
    seeds,
    steps: ref.sum.steps,
    nFunctions: ref.sum.last_eval!.n,
    split: String(ref.cfg.eval_split ?? "?"),
    rows,
  };
}

function fmtCI(c: MeanCI): string {
  return `${c.mean.toFixed(3)} [${c.lo.toFixed(3)}, ${c.hi.toFixed(3)}]`;
}

/** A markdown table: per scope, each metric's before, after and change, mean across seeds with a 95% t-interval. */
export function formatSeedSummary(s: SeedSummary): string {
  const lines = [
    `${s.seeds.length} seeds (${s.seeds.join(", ")}), ${s.steps} RL steps, ${s.nFunctions} held-out functions of the ${s.split} split; mean across seeds [95% t-interval, n = ${s.seeds.length}]`,
    "",
    `| scope | metric (n functions) | before | after | change | change per seed |`,
    `|---|---|---|---|---|---|`,
  ];
  for (const r of s.rows) {
    const sig = r.delta.lo > 0 ? " ↑" : r.delta.hi < 0 ? " ↓" : "";
    lines.push(
      `| ${r.scope} | ${r.label} (${r.n}) | ${fmtCI(r.before)} | ${fmtCI(r.after)} | ${fmtCI(r.delta)}${sig} | ${r.perSeed
        .map((p) => `${p.delta >= 0 ? "+" : ""}${p.delta.toFixed(3)}`)
        .join(" ")} |`,
    );
  }
  lines.push("", "↑ / ↓: the 95% interval across seeds lies above / below zero.");
  return lines.join("\n");
}
