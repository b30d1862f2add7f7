/**
 * The back-translation reward: how well code rebuilt from the documentation alone matches the original,
 * combined with the documentation's validity and leakage.
 *
 *   mode "gate"    (multiplicative): reward = sim * g_format * g_leak * g_syntax, each gate = 1 when fine and
 *                  (1 - penalty) when not; range [0, 1].
 *   mode "penalty" (additive):       reward = sim - formatPenalty * (1 - formatScore)
 *                                          - leakPenalty * [leaked] - syntaxPenalty * [rebuilt has errors];
 *                  clipped below at minReward.
 *
 * sim is similarity(metric, code, rebuilt). Empty, binary, oversized or token-less rebuilt code gets the floor
 * reward (0 in gate mode, minReward in penalty mode; never NaN); so does rebuilt code with syntax errors when
 * `syntaxErrors` is "minimum" (by default it is scored on its partial tree and takes `syntaxPenalty`). formatScore = 1 for a valid document, otherwise
 * max(0, 1 - 0.25 * number of violations). Every component is returned.
 */
import { z } from "zod";
import { isLangId, rejectReason, type LangId } from "../lang/index.js";
import { UserError } from "../core/errors.js";
import { similarity, METRICS, type Metric } from "./metrics.js";
import { validateDoc } from "./docformat.js";
import { detectLeak } from "./leak.js";

export const RewardConfigSchema = z
  .object({
    metric: z.enum(METRICS as unknown as [Metric, ...Metric[]]).default("dfg"),
    mode: z.enum(["gate", "penalty"]).default("gate"),
    codebleuWeights: z
      .object({
        ngram: z.number().min(0),
        weighted: z.number().min(0),
        syntax: z.number().min(0),
        dataflow: z.number().min(0),
      })
      .partial()
      .optional(),
    /** Applied when the documentation breaks the format. */
    formatPenalty: z.number().min(0).max(1).default(0.5),
    /** Applied when the documentation leaks the code. */
    leakPenalty: z.number().min(0).max(1).default(1),
    /** Applied when the rebuilt code has syntax errors. */
    syntaxPenalty: z.number().min(0).max(1).default(0.2),
    /**
     * How rebuilt code with syntax errors is treated: "penalty" scores its partial tree and applies
     * syntaxPenalty (a graded signal, useful while a small policy still writes broken code); "minimum"
     * gives it the floor reward (0 in gate mode, minReward in penalty mode), like empty code.
     */
    syntaxErrors: z.enum(["penalty", "minimum"]).default("penalty"),
    /** Leak threshold on the leaked fraction. */
    leakThreshold: z.number().min(0).max(1).default(0.25),
    /** Shortest shared token run counted as copying. */
    leakMinRun: z.number().int().min(2).default(6),
    /** Lower bound of the reward in penalty mode. */
    minReward: z.number().max(0).default(-1),
    /** Longest code accepted per side, in characters. */
    maxChars: z.number().int().positive().default(200_000),
  })
  .strict();
export type RewardConfig = z.infer<typeof RewardConfigSchema>;
export type RewardConfigInput = z.input<typeof RewardConfigSchema>;

export interface RewardBreakdown {
  reward: number;
  mode: "gate" | "penalty";
  metric: Metric;
  similarity: number;
  similarityComponents: Record<string, number | null>;
  format: { valid: boolean; score: number; violations: string[] };
  leak: { leaked: boolean; fraction: number; reasons: string[] };
  rebuilt: { empty: boolean; parseErrors: number };
  /** The factors (gate) or subtracted terms (penalty) applied. */
  terms: Record<string, number>;
  warnings: string[];
}

export function resolveRewardConfig(cfg?: RewardConfigInput | RewardConfig): RewardConfig {
  const r = RewardConfigSchema.safeParse(cfg ?? {});
  if (!r.success)
    throw new UserError(
      `invalid reward config: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

/** A documentation's checks (format, leakage): computed ONCE per documentation, shared by all its reconstructions. */
export interface DocCheck {
  valid: boolean;
  violations: string[];
  leaked: boolean;
  leakFraction: number;
  reasons: string[];
}

/** Format check (`validateDoc`) and leak check (`detectLeak`, with the config's threshold and minimum run). */
export function checkDoc(doc: string, code: string, lang: LangId, cfgIn?: RewardConfigInput | RewardConfig): DocCheck {
  const cfg = resolveRewardConfig(cfgIn);
  const v = validateDoc(doc);
  const l = detectLeak(doc, code, lang, { threshold: cfg.leakThreshold, minRun: cfg.leakMinRun });
  return { valid: v.valid, violations: v.violations, leaked: l.leaked, leakFraction: l.fraction, reasons: l.reasons };
}

/**
 * The reward of a documentation REJECTED before reconstruction (no rebuilt code to score): minus the penalty of
 * each check it failed (the larger one when both) — the same formatPenalty / leakPenalty knobs that act on
 * reconstructed documentation.
 */
export function rejectedDocReward(
  failed: { format: boolean; leak: boolean },
  cfg: Pick<RewardConfig, "formatPenalty" | "leakPenalty">,
): number {
  return -Math.max(failed.format ? cfg.formatPenalty : 0, failed.leak ? cfg.leakPenalty : 0);
}

function finite(x: number, dflt = 0): number {
  return Number.isFinite(x) ? x : dflt;
}

/**
 * Scores one back-translation: original `code`, the documentation `doc` written for it, and the code
 * `rebuilt` from that documentation. Throws UserError only for a bad original (empty, binary, unknown
 * language) or a bad config; anything wrong with `doc` or `rebuilt` lowers the reward instead. `docCheck`: the
 * documentation's checks when already made (one documentation has several reconstructions; check it once).
 */
export function reward(
  code: string,
  doc: string,
  rebuilt: string,
  lang: LangId,
  cfgIn?: RewardConfigInput | RewardConfig,
  docCheck?: DocCheck,
): RewardBreakdown {
  const cfg = resolveRewardConfig(cfgIn);
  if (!isLangId(lang)) throw new UserError(`unknown language '${String(lang)}'`);
  if (typeof code !== "string" || !code.trim()) throw new UserError("reference code is empty");
  const bad = rejectReason(code, cfg.maxChars);
  if (bad) throw new UserError(`reference code: ${bad}`);
  const warnings: string[] = [];
  const docText = typeof doc === "string" ? doc : "";
  const rb = typeof rebuilt === "string" ? rebuilt : "";

  // similarity (a bad candidate gives sim 0; a bad reference throws)
  let sim = 0;
  let simComponents: Record<string, number | null> = {};
  let parseErrors = 0;
  /** rebuilt code that cannot be compared at all: empty, binary, oversized, no code tokens */
  let unusable = false;
  const empty = rb.trim() === "";
  if (empty) warnings.push("rebuilt code is empty");
  else {
    try {
      const s = similarity(cfg.metric, code, rb, lang, {
        codebleuWeights: cfg.codebleuWeights,
        maxChars: cfg.maxChars,
      });
      sim = finite(s.score);
      simComponents = s.components;
      warnings.push(...s.warnings);
      const m = s.warnings.map((w) => /^candidate has (\d+) syntax error/.exec(w)).find((x) => x);
      parseErrors = m ? Number(m[1]) : 0;
      if (s.warnings.some((w) => /^candidate has no code tokens/.test(w))) unusable = true;
    } catch (e) {
      if (e instanceof UserError && /^candidate code/.test(e.message)) {
        warnings.push(e.message);
        parseErrors = 1;
        unusable = true;
      } else throw e;
    }
  }

  const dc = docCheck ?? checkDoc(docText, code, lang, cfg);
  const fv = { valid: dc.valid, violations: dc.violations };
  const formatScore = fv.valid ? 1 : Math.max(0, 1 - 0.25 * fv.violations.length);
  const lk = { leaked: dc.leaked, fraction: dc.leakFraction, reasons: dc.reasons };
  const syntaxBad = !empty && parseErrors > 0;

  const floor = cfg.mode === "gate" ? 0 : cfg.minReward;
  const atFloor = empty || unusable || (syntaxBad && cfg.syntaxErrors === "minimum");
  if (syntaxBad && cfg.syntaxErrors === "minimum")
    warnings.push("rebuilt code has syntax errors: minimum reward (syntaxErrors = minimum)");
  if (atFloor) sim = 0;
  let value: number;
  const terms: Record<string, number> = {};
  if (cfg.mode === "gate") {
    terms.similarity = sim;
    terms.formatGate = fv.valid ? 1 : 1 - cfg.formatPenalty;
    terms.leakGate = lk.leaked ? 1 - cfg.leakPenalty : 1;
    terms.syntaxGate = syntaxBad ? 1 - cfg.syntaxPenalty : 1;
    value = sim * terms.formatGate * terms.leakGate * terms.syntaxGate;
  } else {
    terms.similarity = sim;
    terms.formatPenalty = cfg.formatPenalty * (1 - formatScore);
    terms.leakPenalty = lk.leaked ? cfg.leakPenalty : 0;
    terms.syntaxPenalty = syntaxBad ? cfg.syntaxPenalty : 0;
    value = Math.max(cfg.minReward, sim - terms.formatPenalty - terms.leakPenalty - terms.syntaxPenalty);
  }
  if (atFloor) value = floor;
  return {
    reward: finite(value, floor),
    mode: cfg.mode,
    metric: cfg.metric,
    similarity: sim,
    similarityComponents: simComponents,
    format: { valid: fv.valid, score: formatScore, violations: fv.violations },
    leak: { leaked: lk.leaked, fraction: lk.fraction, reasons: lk.reasons },
    rebuilt: { empty, parseErrors },
    terms,
    warnings,
  };
}
