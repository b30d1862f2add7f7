/**
 * The RL run behind `batcoder train` / `rl`: training items (code only), held-out evaluation before, during and
 * after RL (plus benchmark pass@1 before and after, ./benchmarks.ts), the trainer, and the paired before/after table.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import type { Policy, Sampler } from "../core/policy.js";
import { readJsonl, writeFileAtomic } from "../core/jsonl.js";
import { ProgressBar } from "../core/progress.js";
import { METRIC_KEYS, runPaths } from "../core/runs.js";
import { bootstrapCI, type MeanCI } from "../core/stats.js";
import type { RLConfig } from "../rl/config.js";
import type { ChatTemplate } from "../engine/chat-template.js";
import { specialStopIds } from "../engine/special.js";
import { evaluateHeldOut, HEADLINE_KEYS, HEADLINE_LABELS, type HeadlineKey, type HeldOutEval } from "../rl/eval.js";
import { BehaviourRunner } from "../behaviour/index.js";
import { createRewardBackend } from "../rl/reward.js";
import { trainRL, type EvalFn, type RewardBackend } from "../rl/trainer.js";
import { loadEvalItems, loadTrainItems } from "./items.js";
import type { WarmStartInfo } from "./warmstart.js";
import {
  benchmarkDelta,
  describePlan,
  passAt1CI,
  planBenchmarks,
  runBenchmarks,
  type BenchmarkRecord,
} from "./benchmarks.js";

// ---------------------------------------------------------------------------------------------------------
// RL with evaluation
// ---------------------------------------------------------------------------------------------------------

/** One line of evals.jsonl: the held-out metrics, and at the first and last evaluation the benchmarks' pass@1. */
export type RunEval = HeldOutEval & { step?: number; benchmarks?: BenchmarkRecord[] };

export interface RLRunResult {
  runDir: string;
  before: RunEval | null;
  after: RunEval | null;
  finished: boolean;
}

export async function runRL(opts: {
  cfg: RLConfig;
  policy: Policy;
  resume: boolean;
  progress: boolean;
  log: (s: string) => void;
  warmInfo?: WarmStartInfo | null;
  stopAfterSteps?: number;
  /** Samples the rollouts instead of the policy (--sampler-url); see TrainerOptions.rolloutSampler. */
  rolloutSampler?: Sampler;
  /** The model's own chat template (train --model): both directions and the held-out eval use it. */
  chat?: ChatTemplate | null;
  /**
   * The user's own model (`train --model`): `eval_benchmarks: null` means OWN_MODEL_BENCHMARKS (src/rl/config.ts)
   * instead of none.
   */
  ownModel?: boolean;
}): Promise<RLRunResult> {
  const { policy } = opts;
  // Benchmarks first: a bad name, instruct format without a chat template or no sandbox fail before anything runs.
  const plan = planBenchmarks(opts.cfg, {
    ownModel: !!opts.ownModel,
    hasChatTemplate: !!opts.chat,
    model: policy.info.modelName,
  });
  // the resolved config names the benchmarks it ran (null resolved to the command's default)
  const cfg: RLConfig = { ...opts.cfg, eval_benchmarks: plan ? plan.benchmarks.map((b) => b.name) : [] };
  const runDir = path.join(cfg.output_dir, cfg.run_name);
  const tok = policy.tokenizer;
  const train = loadTrainItems(cfg, tok);
  const langs = [...new Set(train.map((t) => t.lang))];
  const evalItems =
    cfg.eval_at_start || cfg.eval_at_end || cfg.eval_steps > 0 ? await loadEvalItems(cfg, tok, cfg.eval_size) : [];
  if (plan) {
    opts.log(describePlan(plan));
    if (!evalItems.length)
      throw new UserError(
        "eval_benchmarks run at the held-out evaluations before and after RL, but there are none " +
          "(eval_at_start / eval_at_end are off, or the eval split is empty); set eval_benchmarks=[] to skip them",
      );
  }
  if (evalItems.length && evalItems.length < Math.min(200, cfg.eval_size)) {
    opts.log(
      `note: only ${evalItems.length} held-out documented functions available for evaluation (asked for ${cfg.eval_size})`,
    );
  }
  const reward: RewardBackend = await createRewardBackend(cfg, [
    ...new Set([...langs, ...evalItems.map((e) => e.lang)]),
  ]);
  fs.mkdirSync(runDir, { recursive: true });
  if (opts.warmInfo) writeFileAtomic(runPaths(runDir).warmstart, JSON.stringify(opts.warmInfo, null, 2));
  opts.log(
    `RL: ${train.length} training functions (code only), ${evalItems.length} held-out functions; run dir ${runDir}`,
  );
  if (cfg.signature_hint)
    opts.log(
      "NOTE: signature_hint is ON — doc→code prompts include the function's signature after <|code|> (not the pure method)",
    );
  const maxRebuild = cfg.max_rebuild_tokens ?? cfg.max_code_tokens + 16;
  // Behaviour of held-out rebuilds (headline metrics): fixed input seed, so every evaluation runs the same inputs.
  const evalBehaviour = evalItems.length && cfg.eval_behaviour ? new BehaviourRunner({ seed: 0 }) : null;
  const evaluate: EvalFn | undefined = evalItems.length
    ? async (sampler, step) => {
        let bar: ProgressBar | null = null;
        const r = await evaluateHeldOut(sampler, evalItems, reward, {
          maxDocTokens: cfg.max_doc_tokens,
          maxCodeTokens: maxRebuild,
          batchSize: cfg.eval_batch_size,
          signatureHint: cfg.signature_hint,
          temperature: cfg.eval_temperature,
          behaviour: evalBehaviour,
          chat: opts.chat ?? null,
          onProgress: (d, t) => {
            bar ??= new ProgressBar(`eval@${step} (${evalItems.length} fns)`, t, opts.progress);
            bar.update(d);
          },
        });
        (bar as ProgressBar | null)?.done(
          `round-trip ${r.roundtrip.mean.toFixed(3)}  doc→code(human) ${r.doc2code_human.mean.toFixed(3)}`,
        );
        const out = { ...r } as unknown as Record<string, unknown>;
        if (plan && (step === 0 || step === cfg.max_steps)) {
          // pass@1 through the eval harness (sandboxed execution), greedy, the same settings before and after
          out.benchmarks = await runBenchmarks(plan, sampler, {
            step,
            runDir,
            chat: opts.chat ? { template: opts.chat, stopTokenIds: specialStopIds(policy.tokenizer) } : null,
            batchSize: cfg.eval_batch_size,
            progress: opts.progress,
            log: opts.log,
          });
        }
        return out;
      }
    : undefined;
  let bar: ProgressBar | null = null;
  try {
    const res = await trainRL({
      config: cfg,
      policy,
      reward,
      train,
      evaluate,
      runDir,
      resume: opts.resume,
      stopAfterSteps: opts.stopAfterSteps,
      ...(opts.rolloutSampler ? { rolloutSampler: opts.rolloutSampler } : {}),
      chat: opts.chat ?? null,
      hooks: {
        onStart: (i) => {
          bar = new ProgressBar("rl", i.maxSteps, opts.progress);
          if (i.resumed) opts.log(`resumed at step ${i.startStep}`);
        },
        onStep: (m) =>
          bar?.update(
            m.step,
            `r(doc) ${m[METRIC_KEYS.rewardCode2Doc]!.toFixed(3)} r(code) ${(m[METRIC_KEYS.rewardDoc2Code] ?? NaN).toFixed(3)} valid ${m[METRIC_KEYS.docValidRate]!.toFixed(2)} kl ${m[METRIC_KEYS.kl]!.toFixed(4)} ${m[METRIC_KEYS.stepSeconds]!.toFixed(1)}s/step`,
            true,
          ),
        onPhase: (p) => {
          if (!opts.progress) return;
          if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${p}\n`);
          else process.stderr.write(`${p}\n`);
        },
      },
    });
    const evals = readJsonl<RunEval & { step: number }>(runPaths(runDir).evals);
    return { runDir, before: evals[0] ?? null, after: evals.length > 1 ? evals.at(-1)! : null, finished: res.finished };
  } finally {
    await reward.close?.();
  }
}

type PairedKey = "roundtrip" | "doc2code_human" | "doc_bleu" | "doc_rougeL" | HeadlineKey;

/**
 * Paired change after − before over the same held-out functions (same ids, same order), with a 95% bootstrap
 * interval of the mean difference, over the functions where the metric applies in both (and, with `lang`, of
 * that language). Null when the two evaluations did not score the same functions or nothing applies.
 */
export function pairedDelta(before: HeldOutEval, after: HeldOutEval, key: PairedKey, lang?: string): MeanCI | null {
  const a = before.per_function;
  const b = after.per_function;
  if (!a || !b || a.ids.length !== b.ids.length || a.ids.some((id, i) => id !== b.ids[i])) return null;
  const xa = a[key],
    xb = b[key];
  if (!xa || !xb) return null;
  const d: number[] = [];
  xa.forEach((x, i) => {
    const y = xb[i];
    if (lang && a.langs?.[i] !== lang) return;
    if (typeof x === "number" && typeof y === "number" && Number.isFinite(x) && Number.isFinite(y)) d.push(y - x);
  });
  return d.length ? bootstrapCI(d) : null;
}

/**
 * The before/after table printed at the end of `batcoder train`; `beforeLabel` heads the first column ("warm start"
 * for the embedded model, "before RL" for an own model).
 */
export function beforeAfterTable(
  before: RunEval | null,
  after: RunEval | null,
  opts: { beforeLabel?: string } = {},
): string {
  if (!before) return "(no held-out evaluation)";
  const f = (c: { mean: number; lo: number; hi: number }) =>
    `${c.mean.toFixed(3)} [${c.lo.toFixed(3)}, ${c.hi.toFixed(3)}]`;
  const sgn = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
  const deltaText = (d: MeanCI | null) =>
    d ? `${sgn(d.mean)} [${sgn(d.lo)}, ${sgn(d.hi)}]${d.lo > 0 ? " *" : d.hi < 0 ? " (lower)" : ""}` : "";
  const staticRows: Array<[string, "roundtrip" | "doc2code_human" | "doc_bleu" | "doc_rougeL"]> = [
    ["round-trip similarity (code→doc→code, static)", "roundtrip"],
    ["doc→code similarity from human docs (static)", "doc2code_human"],
    ["doc BLEU vs human docs", "doc_bleu"],
    ["doc ROUGE-L vs human docs", "doc_rougeL"],
  ];
  const w = Math.max(...staticRows.map((r) => r[0].length), ...HEADLINE_KEYS.map((k) => HEADLINE_LABELS[k].length)) + 2;
  const row = (label: string, a: MeanCI | undefined, b: MeanCI | undefined, d: MeanCI | null) =>
    `${label.padEnd(w)}  ${(a ? f(a) : "n/a").padEnd(24)}  ${after ? (b ? f(b) : "n/a").padEnd(24) + "  " + deltaText(d) : ""}`;
  const lines = [
    `held-out functions: n=${before.n} (mean [95% bootstrap CI]; Δ is the paired after − before difference over the same functions)`,
    `${"".padEnd(w)}  ${(opts.beforeLabel ?? "warm start").padEnd(24)}  ${after ? "after RL".padEnd(24) + "  Δ paired [95% CI]" : ""}`,
  ];
  const headlineBlock = (title: string, hb: HeldOutEval["headline"], ha: HeldOutEval["headline"], lang?: string) => {
    if (!hb) return;
    lines.push(`${title} (n=${hb.n}, executable originals ${hb.n_executable}; NOT optimised by RL)`);
    for (const k of HEADLINE_KEYS) {
      if (!hb[k] && !ha?.[k]) continue;
      lines.push(row(`  ${HEADLINE_LABELS[k]}`, hb[k], ha?.[k], after ? pairedDelta(before, after, k, lang) : null));
    }
  };
  headlineBlock("headline, all languages", before.headline, after?.headline);
  for (const lang of Object.keys(before.headline_by_lang ?? {})) {
    headlineBlock(`headline, ${lang}`, before.headline_by_lang![lang], after?.headline_by_lang?.[lang], lang);
  }
  const benchBefore = before.benchmarks ?? [];
  if (benchBefore.length || after?.benchmarks?.length) {
    const fmt = benchBefore[0]?.format ?? after?.benchmarks?.[0]?.format;
    lines.push(
      `benchmarks: pass@1 [95% bootstrap CI over tasks], greedy, ${fmt === "instruct" ? "instruct format (the model's chat template)" : "completion format"}, sandboxed; NOT optimised by RL`,
    );
    const names = [...new Set([...benchBefore, ...(after?.benchmarks ?? [])].map((b) => b.name))];
    for (const name of names) {
      const b = benchBefore.find((x) => x.name === name);
      const a = after?.benchmarks?.find((x) => x.name === name);
      const n = b?.tasks ?? a?.tasks ?? 0;
      lines.push(
        row(
          `  ${name} (n=${n} tasks)`,
          b ? passAt1CI(b) : undefined,
          a ? passAt1CI(a) : undefined,
          a && b ? benchmarkDelta(b, a) : null,
        ),
      );
    }
  }
  lines.push("static similarities (the reward's own terms, shown beside)");
  for (const [label, k] of staticRows)
    lines.push(row(`  ${label}`, before[k], after?.[k], after ? pairedDelta(before, after, k) : null));
  lines.push(
    `${"  doc format-valid rate".padEnd(w)}  ${before.doc_valid_rate.toFixed(3).padEnd(24)}  ${after ? after.doc_valid_rate.toFixed(3) : ""}`,
  );
  if (after) lines.push("* = the paired 95% interval lies above zero; (lower) = it lies below zero");
  return lines.join("\n");
}
