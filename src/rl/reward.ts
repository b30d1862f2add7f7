/**
 * The trainer's RewardBackend: behaviour first, static similarity as tie-break and fallback.
 *
 * For every reconstruction c' of an original c (documentation d):
 *   static  s = similarity(metric, c, c')                       (src/similarity, on the worker-thread RewardPool)
 *   beh     b = share of generated inputs on which c and c' agree (src/behaviour, sandboxed, batched per step)
 *   sim     = w·b + (1 − w)·s   when c is executable (the behaviour runner supports its language and c runs alone)
 *           = s                 otherwise (fallback: not executable, a language the runner lacks, or behaviour off)
 * with w = reward_options.behaviour.weight (default 0.9: behaviour decides, the static metric breaks ties
 * between rebuilds that behave alike, e.g. all-wrong ones).
 * Then the reward module's gates / penalties act on sim exactly as on the static similarity alone:
 *   gate:    total = sim · g_format · g_leak · g_syntax          code = sim · g_syntax
 *   penalty: total = max(minReward, sim − p_format − p_leak − p_syntax)   code = max(minReward, sim − p_syntax)
 * Empty / unusable rebuilt code (and, with syntaxErrors "minimum", code that does not parse) gets the floor.
 * `total` is the documentation's reward (mean/max over its reconstructions); `code` is the reconstruction's own
 * reward (doc→code direction): it carries the syntax penalty as configured, never the documentation's gates.
 *
 * Failures: a job the reward module rejects with a UserError (an unusable original) is an EXPECTED failure: it
 * gets the floor reward and `error` set, and the trainer counts it (`reward/errors`). Anything else (a TypeError
 * in a metric, a sandbox that cannot start) is a programming or host error and is rethrown: never a silent minimum.
 */
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { isLangId, loadLanguage, type LangId } from "../lang/index.js";
import { BEHAVIOUR_LANGS, BehaviourRunner, type BehaviourResult } from "../behaviour/index.js";
import {
  canonicalizeDoc,
  checkDoc,
  isRewardError,
  RewardConfigSchema,
  RewardPool,
  type RewardBreakdown,
  type RewardConfig,
  type RewardJob,
} from "../similarity/index.js";
import type { RLConfig } from "./config.js";
import type { DocVerdict, RewardBackend, RewardScore } from "./trainer.js";

export { canonicalizeDoc };

/** Flattens a reward breakdown into numeric components (nested objects joined with '.', booleans as 0/1). */
export function numericComponents(o: unknown, prefix = "", out: Record<string, number> = {}): Record<string, number> {
  if (!o || typeof o !== "object") return out;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
    else if (typeof v === "boolean") out[key] = v ? 1 : 0;
    else if (v && typeof v === "object" && !Array.isArray(v) && !prefix) numericComponents(v, key, out);
  }
  return out;
}

export function toLangId(lang: string): LangId {
  if (!isLangId(lang)) throw new UserError(`language '${lang}' is not supported by the language layer`);
  return lang;
}

/**
 * RL's defaults for the documentation penalties (over the reward module's own): a documentation that breaks the
 * format costs 0.1, one that leaks the code 0.5 — chosen on the validation split (bench/rl/RESULTS.md, "RL penalty
 * ablation"). With both reject_* flags on (the default), kept documentation is valid and leak-free, so these act
 * only as the reward of rejected documentation.
 */
export const RL_PENALTY_DEFAULTS = { formatPenalty: 0.1, leakPenalty: 0.5 } as const;

/** `reward_options.behaviour`: the behavioural term (src/behaviour). */
export const BehaviourRewardSchema = z
  .object({
    /** Score rebuilds by running them (sandboxed) where the original is executable. */
    enabled: z.boolean().default(true),
    /** w in sim = w·behaviour + (1 − w)·static for executable originals. */
    weight: z
      .number()
      .min(0, "behaviour.weight must be in [0, 1]")
      .max(1, "behaviour.weight must be in [0, 1]")
      .default(0.9),
    /** Generated inputs compared per function. */
    inputs: z.number().int().positive().max(256).default(16),
    /** Input-generation seed (same seed, same inputs, same scores). */
    seed: z.number().int().min(0).default(0),
    /** Per-call wall-clock limit inside the sandbox, ms. */
    call_ms: z.number().int().positive().default(1000),
    /** Sandboxed processes run at once (0 = the runner's default, 2 × CPUs). */
    workers: z.number().int().min(0).default(0),
  })
  .strict();
export type BehaviourRewardConfig = z.infer<typeof BehaviourRewardSchema>;

export interface RLRewardConfig {
  static: RewardConfig;
  behaviour: BehaviourRewardConfig;
}

const issuesOf = (e: z.ZodError, prefix: string) =>
  e.issues
    .map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join(".") || "(root)"}: ${i.message}`)
    .join("; ");

/** Reward config from the RL config: metric from `reward_metric`, `reward_options.behaviour` apart, the rest for src/similarity. */
export function rlRewardConfigFor(cfg: RLConfig): RLRewardConfig {
  const { behaviour, ...rest } = cfg.reward_options as Record<string, unknown>;
  const r = RewardConfigSchema.safeParse({ metric: cfg.reward_metric, ...RL_PENALTY_DEFAULTS, ...rest });
  if (!r.success) throw new UserError(`invalid reward_options: ${issuesOf(r.error, "")}`);
  const b = BehaviourRewardSchema.safeParse(behaviour ?? {});
  if (!b.success) throw new UserError(`invalid reward_options.behaviour: ${issuesOf(b.error, "behaviour")}`);
  return { static: r.data, behaviour: b.data };
}

/** The static part only (what src/similarity's reward() takes). */
export function rewardConfigFor(cfg: RLConfig): RewardConfig {
  return rlRewardConfigFor(cfg).static;
}

/** Whether a breakdown's rebuilt code sits at the floor reward (empty, unusable, or syntax errors with "minimum"). */
function atFloor(r: RewardBreakdown): boolean {
  return (
    r.rebuilt.empty ||
    r.warnings.some((w) => /^candidate has no code tokens|^candidate code|minimum reward \(syntaxErrors/.test(w))
  );
}

/**
 * Combines the reward module's breakdown (static similarity, gates / penalties) with a behaviour result, by the
 * formula at the top of this file. `beh` null (or not executable) = static fallback. Pure: unit-tested by hand.
 */
export function combineReward(
  r: RewardBreakdown,
  beh: BehaviourResult | null,
  cfg: RLRewardConfig,
): {
  total: number;
  code: number;
  sim: number;
  executable: boolean;
  behaviour: number | null;
  staticSim: number;
  syntaxBad: boolean;
} {
  const s = r.similarity;
  const executable = !!beh && beh.executable && beh.score !== null;
  const b = executable ? beh!.score! : null;
  const w = cfg.behaviour.weight;
  const sim = b === null ? s : w * b + (1 - w) * s;
  const floor = r.mode === "gate" ? 0 : cfg.static.minReward;
  const syntaxBad = !r.rebuilt.empty && r.rebuilt.parseErrors > 0;
  if (atFloor(r)) return { total: floor, code: floor, sim: 0, executable, behaviour: b, staticSim: s, syntaxBad };
  const t = r.terms;
  let total: number, code: number;
  if (r.mode === "gate") {
    const g = (k: string) => t[k] ?? 1;
    code = sim * g("syntaxGate");
    total = code * g("formatGate") * g("leakGate");
  } else {
    const p = (k: string) => t[k] ?? 0;
    code = Math.max(cfg.static.minReward, sim - p("syntaxPenalty"));
    total = Math.max(cfg.static.minReward, sim - p("formatPenalty") - p("leakPenalty") - p("syntaxPenalty"));
  }
  return { total, code, sim, executable, behaviour: b, staticSim: s, syntaxBad };
}

export interface RLRewardBackend extends RewardBackend {
  readonly config: RLRewardConfig;
}

export async function createRewardBackend(cfg: RLConfig, langs: string[]): Promise<RLRewardBackend> {
  for (const l of new Set(langs)) await loadLanguage(toLangId(l));
  const rc = rlRewardConfigFor(cfg);
  const rewardCfg = rc.static;
  const pool = new RewardPool({ workers: cfg.reward_workers || undefined });
  const behaviourLangs = new Set<string>(BEHAVIOUR_LANGS);
  const runner = rc.behaviour.enabled
    ? new BehaviourRunner({
        seed: rc.behaviour.seed,
        nInputs: rc.behaviour.inputs,
        callMs: rc.behaviour.call_ms,
        workers: rc.behaviour.workers || undefined,
      })
    : null;
  return {
    config: rc,
    penalties: { formatPenalty: rewardCfg.formatPenalty, leakPenalty: rewardCfg.leakPenalty },
    checkDoc(doc: string, code: string, lang: string): DocVerdict {
      return checkDoc(doc, code, toLangId(lang), rewardCfg);
    },
    async score(jobs: RewardJob<string>[]): Promise<RewardScore[]> {
      if (jobs.length === 0) return [];
      const behIdx = runner ? jobs.map((j, i) => (behaviourLangs.has(j.lang) ? i : -1)).filter((i) => i >= 0) : [];
      // static (worker threads) and behaviour (sandboxed processes) at the same time; behaviour batched for the step
      const [res, behRes] = await Promise.all([
        pool.score(
          jobs.map((j) => ({
            code: j.code,
            doc: j.doc,
            rebuilt: j.rebuilt,
            lang: toLangId(j.lang),
            cfg: rewardCfg,
            docCheck: j.docCheck,
          })),
        ),
        runner && behIdx.length
          ? runner.compare(
              behIdx.map((i) => ({ lang: jobs[i]!.lang, original: jobs[i]!.code, rebuilt: jobs[i]!.rebuilt })),
            )
          : Promise.resolve([]),
      ]);
      const beh = new Map<number, BehaviourResult>(behIdx.map((i, k) => [i, behRes[k]!]));
      return res.map((r, i) => {
        if (isRewardError(r)) {
          // A programming error in a metric is never a silent minimum reward.
          if (!r.userFacing)
            throw new Error(`reward: scoring job ${i} (${jobs[i]!.lang}) failed with an internal error: ${r.error}`);
          const floor = rewardCfg.mode === "gate" ? 0 : rewardCfg.minReward;
          return { total: floor, similarity: 0, code: floor, error: r.error, components: { error: 1 } };
        }
        const c = combineReward(r, beh.get(i) ?? null, rc);
        const components = numericComponents({
          similarity: c.sim,
          static: c.staticSim,
          executable: c.executable,
          ...(c.behaviour !== null ? { behaviour: c.behaviour } : {}),
          ...r.terms,
          format_score: r.format.score,
          leak_fraction: r.leak.fraction,
          rebuilt_parse_errors: r.rebuilt.parseErrors,
          rebuilt_syntax_error: c.syntaxBad,
          rebuilt_empty: r.rebuilt.empty,
          sim: r.similarityComponents,
        });
        return { total: c.total, similarity: c.sim, code: c.code, components };
      });
    },
    close: () => pool.close(),
  };
}
