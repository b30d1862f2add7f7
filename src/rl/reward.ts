/**
 * The trainer's RewardBackend on top of the similarity module (src/similarity): documentation checks with
 * `validateDoc` + `detectLeak`, rewards with `reward()` on the worker-thread `RewardPool`.
 */
import { UserError } from "../core/errors.js";
import { isLangId, loadLanguage, type LangId } from "../lang/index.js";
import { canonicalizeDoc, checkDoc, isRewardError, RewardConfigSchema, RewardPool, type RewardConfig, type RewardJob } from "../similarity/index.js";
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

/** Reward config for src/similarity's reward(): metric from the RL config, the rest from reward_options. */
export function rewardConfigFor(cfg: RLConfig): RewardConfig {
  const r = RewardConfigSchema.safeParse({ metric: cfg.reward_metric, ...RL_PENALTY_DEFAULTS, ...cfg.reward_options });
  if (!r.success) throw new UserError(`invalid reward_options: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return r.data;
}

export async function createRewardBackend(cfg: RLConfig, langs: string[]): Promise<RewardBackend> {
  for (const l of new Set(langs)) await loadLanguage(toLangId(l));
  const rewardCfg = rewardConfigFor(cfg);
  const pool = new RewardPool({ workers: cfg.reward_workers || undefined });
  let errors = 0;
  return {
    penalties: { formatPenalty: rewardCfg.formatPenalty, leakPenalty: rewardCfg.leakPenalty },
    checkDoc(doc: string, code: string, lang: string): DocVerdict {
      return checkDoc(doc, code, toLangId(lang), rewardCfg);
    },
    async score(jobs: RewardJob<string>[]): Promise<RewardScore[]> {
      if (jobs.length === 0) return [];
      const res = await pool.score(jobs.map((j) => ({ code: j.code, doc: j.doc, rebuilt: j.rebuilt, lang: toLangId(j.lang), cfg: rewardCfg, docCheck: j.docCheck })));
      return res.map((r) => {
        if (isRewardError(r)) {
          // A job the reward module could not score (e.g. an unusable original): the defined minimum, counted.
          errors++;
          return { total: rewardCfg.mode === "gate" ? 0 : rewardCfg.minReward, similarity: 0, components: { error: 1, errors_total: errors } };
        }
        const components = numericComponents({ similarity: r.similarity, ...r.terms, format_score: r.format.score, leak_fraction: r.leak.fraction, rebuilt_parse_errors: r.rebuilt.parseErrors, rebuilt_empty: r.rebuilt.empty, sim: r.similarityComponents });
        return { total: r.reward, similarity: r.similarity, components };
      });
    },
    close: () => pool.close(),
  };
}
