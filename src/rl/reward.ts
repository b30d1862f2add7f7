/**
 * The trainer's RewardBackend on top of the similarity module (src/similarity): documentation checks with
 * `validateDoc` + `detectLeak`, rewards with `reward()` on the worker-thread `RewardPool`.
 */
import { UserError } from "../cli/errors.js";
import type { RLConfig } from "./config.js";
import type { DocVerdict, RewardBackend, RewardJob, RewardScore } from "./trainer.js";

/** What the trainer uses of src/similarity (names fixed by the project plan). */
export interface SimilarityModule {
  loadLanguage(lang: string): Promise<void>;
  validateDoc(text: string): { valid: boolean; violations: string[] };
  detectLeak(doc: string, code: string, lang: string): { leaked: boolean; fraction: number; reasons: string[] };
  canonicalizeDoc(raw: string, fn?: unknown): string | null;
  RewardConfigSchema: { parse(x: unknown): unknown };
  RewardPool: new (opts: { workers?: number }) => { score(jobs: unknown[]): Promise<unknown[]>; close(): Promise<void> };
}

let cached: SimilarityModule | null = null;

/** Loads src/similarity and src/lang (imported lazily so the trainer's unit tests do not need tree-sitter). */
export async function loadSimilarity(): Promise<SimilarityModule> {
  if (cached) return cached;
  const spec = "../similarity/index.js";
  const langSpec = "../lang/index.js";
  let sim: Record<string, unknown>;
  let lang: Record<string, unknown>;
  try {
    sim = (await import(spec)) as Record<string, unknown>;
    lang = (await import(langSpec)) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`the similarity/lang modules are not available in this build: ${(e as Error).message}`);
  }
  const need = ["validateDoc", "detectLeak", "canonicalizeDoc", "RewardConfigSchema", "RewardPool"];
  const missing = need.filter((k) => !(k in sim));
  if (missing.length) throw new UserError(`src/similarity does not export ${missing.join(", ")} yet`);
  cached = { ...(sim as unknown as SimilarityModule), loadLanguage: lang.loadLanguage as SimilarityModule["loadLanguage"] };
  return cached;
}

function pickNumber(o: Record<string, unknown>, keys: string[]): number | undefined {
  for (const k of keys) if (typeof o[k] === "number" && Number.isFinite(o[k] as number)) return o[k] as number;
  return undefined;
}

/** Flattens a reward breakdown into numeric components (nested objects joined with '.'). */
export function numericComponents(o: unknown, prefix = "", out: Record<string, number> = {}): Record<string, number> {
  if (!o || typeof o !== "object") return out;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
    else if (typeof v === "boolean") out[key] = v ? 1 : 0;
    else if (v && typeof v === "object" && !Array.isArray(v) && prefix.split(".").length < 2) numericComponents(v, key, out);
  }
  return out;
}

export async function createRewardBackend(cfg: RLConfig, langs: string[]): Promise<RewardBackend> {
  const sim = await loadSimilarity();
  for (const l of new Set(langs)) await sim.loadLanguage(l);
  let rewardCfg: unknown;
  try {
    rewardCfg = sim.RewardConfigSchema.parse({ metric: cfg.reward_metric, ...cfg.reward_options });
  } catch (e) {
    throw new UserError(`invalid reward_options: ${(e as Error).message}`);
  }
  const pool = new sim.RewardPool({ workers: cfg.reward_workers || undefined });
  return {
    checkDoc(doc: string, code: string, lang: string): DocVerdict {
      const v = sim.validateDoc(doc);
      const l = sim.detectLeak(doc, code, lang);
      return { valid: v.valid, violations: v.violations, leaked: l.leaked, leakFraction: l.fraction, reasons: l.reasons };
    },
    async score(jobs: RewardJob[]): Promise<RewardScore[]> {
      if (jobs.length === 0) return [];
      const res = await pool.score(jobs.map((j) => ({ ...j, cfg: rewardCfg })));
      return res.map((r, i) => {
        const o = (r ?? {}) as Record<string, unknown>;
        const total = pickNumber(o, ["total", "reward"]);
        const similarity = pickNumber(o, ["similarity", "sim"]) ?? pickNumber((o.components ?? {}) as Record<string, unknown>, ["similarity"]);
        if (total === undefined || similarity === undefined) throw new Error(`reward module returned no total/similarity for job ${i}: ${JSON.stringify(o).slice(0, 200)}`);
        return { total, similarity, components: numericComponents(o) };
      });
    },
    close: () => pool.close(),
  };
}
