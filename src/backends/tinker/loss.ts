/**
 * batcoder's LossSpec <-> Tinker's built-in losses.
 *
 * Tinker's losses are SUMS over tokens (cross_entropy = sum(-logp * weights); importance_sampling and ppo =
 * sum of the per-token policy-gradient terms, masked by zero advantages), configured only by
 * `clip_low_threshold` / `clip_high_threshold` (absolute ratio bounds) for ppo. Our LossSpec adds aggregation
 * modes, a KL-to-reference term and an entropy bonus. Three ways to run a LossSpec on a Tinker service:
 *
 * - "exact": the server advertises batcoder's extension keys (get_server_capabilities -> batcoder): the spec
 *   travels whole in loss_fn_config (`batcoder_*` keys) and `ref_logprobs` in loss_fn_inputs; the server runs
 *   our loss math. Only `batcoder serve --training` offers this.
 * - "folded": a stock server and a spec it can express: our aggregation factor (and the 0/1 mask) is folded into
 *   the per-token advantages (weights for cross_entropy), which gives exactly our loss and gradient, since every
 *   term is linear in them. Used for cross_entropy, importance_sampling, and ppo without a KL term.
 * - "custom": a stock server and a spec it cannot express (ppo with a KL-in-loss term): the forward_backward_custom
 *   recipe, two passes: forward_only for the current log-probs, our loss and dLoss/dlogp computed here, then
 *   cross_entropy with weights = -dLoss/dlogp (its gradient is then ours).
 * An entropy bonus needs per-token entropies, which Tinker never returns: refused with a clear error (set
 * entropy_coef = 0, or use a batcoder server).
 */
import { UserError } from "../../core/errors.js";
import { aggregationFactors } from "../../core/losses.js";
import type { Aggregation, Datum, LossSpec } from "../../core/policy.js";
import type { LossFnType } from "./wire.js";

export type LossPath = "exact" | "folded" | "custom";

/** Tinker's default ppo clip: ratio in [0.8, 1.2]. */
export const TINKER_DEFAULT_CLIP = { low: 0.8, high: 1.2 };

export const BATCODER_CONFIG_KEYS = [
  "batcoder_clip_low",
  "batcoder_clip_high",
  "batcoder_aggregation",
  "batcoder_kl_coef",
  "batcoder_kl_estimator",
  "batcoder_entropy_coef",
  "batcoder_constant_normalizer",
  "batcoder_temperature",
] as const;
export const BATCODER_INPUTS = ["ref_logprobs"] as const;

export interface TinkerLossCall {
  lossFn: LossFnType;
  config: Record<string, number | string>;
  /** The datums to send (advantages / weights rescaled on the folded path). */
  datums: Datum[];
}

/** Which path a spec takes on a server (with or without batcoder's extension). */
export function lossPath(spec: LossSpec, exact: boolean): LossPath {
  if (exact) return "exact";
  const t = spec.kind === "cross_entropy" ? 1 : (spec.temperature ?? 1);
  if (t !== 1) {
    throw new UserError(
      `loss '${spec.kind}' at temperature ${t}: Tinker's API computes log-probs at temperature 1 only. ` +
        "Set temperature=1 for a stock Tinker service, or train on a batcoder server (batcoder serve --training), which takes it.",
    );
  }
  if (spec.kind === "ppo" && spec.entropyCoef !== 0) {
    throw new UserError(
      `loss 'ppo' with entropy_coef=${spec.entropyCoef}: an entropy bonus needs per-token entropies, which the Tinker API does not return. ` +
        "Set entropy_coef=0, or train on a batcoder server (batcoder serve --training), which computes it.",
    );
  }
  if (spec.kind === "ppo" && spec.klCoef !== 0) return "custom";
  return "folded";
}

function clipConfig(spec: Extract<LossSpec, { kind: "ppo" }>): Record<string, number> {
  return { clip_low_threshold: 1 - spec.clipLow, clip_high_threshold: 1 + spec.clipHigh };
}

/** The request for the exact or folded path (the custom path builds its own two calls, see TinkerPolicy). */
export function lossToTinker(spec: LossSpec, datums: Datum[], path: Exclude<LossPath, "custom">): TinkerLossCall {
  if (path === "exact") {
    const config: Record<string, number | string> = {};
    if (spec.kind === "ppo") {
      // the clip travels as our epsilons too: 1 - (1 - 0.2) is not 0.2 in floating point.
      Object.assign(config, clipConfig(spec), {
        batcoder_clip_low: spec.clipLow,
        batcoder_clip_high: spec.clipHigh,
        batcoder_kl_coef: spec.klCoef,
        batcoder_kl_estimator: spec.klEstimator,
        batcoder_entropy_coef: spec.entropyCoef,
      });
      if (spec.constantNormalizer !== undefined) config.batcoder_constant_normalizer = spec.constantNormalizer;
    }
    config.batcoder_aggregation = spec.aggregation ?? "weighted-mean";
    if (spec.kind !== "cross_entropy" && spec.temperature !== undefined) config.batcoder_temperature = spec.temperature;
    return { lossFn: spec.kind, config, datums };
  }
  if (spec.kind === "cross_entropy") {
    // our cross_entropy is sum(-logp * w) / sum(w): divide the weights by their total.
    let total = 0;
    for (const d of datums) for (const w of d.lossInputs.weights) total += w;
    const norm = total > 0 ? total : 1;
    return {
      lossFn: "cross_entropy",
      config: {},
      datums: datums.map((d) => withInputs(d, { weights: d.lossInputs.weights.map((w) => w / norm) })),
    };
  }
  const agg: Aggregation = spec.aggregation;
  const f = aggregationFactors(datums, agg, spec.kind === "ppo" ? spec.constantNormalizer : undefined);
  const folded = datums.map((d, i) => {
    const adv = d.lossInputs.advantages;
    if (!adv) throw new UserError(`loss '${spec.kind}': datum ${i} has no advantages`);
    const w = d.lossInputs.weights;
    return withInputs(d, { advantages: adv.map((a, t) => (w[t]! > 0 ? a * w[t]! * f[i]! : 0)) });
  });
  return { lossFn: spec.kind, config: spec.kind === "ppo" ? clipConfig(spec) : {}, datums: folded };
}

function withInputs(d: Datum, patch: Partial<Datum["lossInputs"]>): Datum {
  return { modelInput: d.modelInput, lossInputs: { ...d.lossInputs, ...patch } };
}

/**
 * Server side: a Tinker loss_fn + loss_fn_config as our LossSpec (Tinker's sum semantics unless batcoder's
 * extension keys say otherwise). Throws a message naming what is wrong and what is supported.
 */
export function lossFromTinker(lossFn: string, config: Record<string, number | string>): LossSpec {
  const known = new Set<string>(["clip_low_threshold", "clip_high_threshold", ...BATCODER_CONFIG_KEYS]);
  for (const k of Object.keys(config)) {
    if (!known.has(k))
      throw new Error(`loss_fn_config key '${k}' is not supported (supported: ${[...known].join(", ")})`);
  }
  const num = (k: string, dflt: number): number => {
    const v = config[k];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`loss_fn_config.${k} must be a finite number, got ${JSON.stringify(v)}`);
    return v;
  };
  const text = <T extends string>(k: string, allowed: readonly T[], dflt: T): T => {
    const v = config[k];
    if (v === undefined) return dflt;
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v))
      throw new Error(`loss_fn_config.${k} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
    return v as T;
  };
  const aggs = ["sum", "token-mean", "seq-mean-token-mean", "seq-sum-constant", "weighted-mean"] as const;
  const aggregation = text("batcoder_aggregation", aggs, "sum");
  const cn = config.batcoder_constant_normalizer;
  switch (lossFn) {
    case "cross_entropy":
      if (aggregation === "weighted-mean") return { kind: "cross_entropy" };
      if (aggregation !== "sum")
        throw new Error(`cross_entropy supports batcoder_aggregation 'sum' or 'weighted-mean', got '${aggregation}'`);
      return { kind: "cross_entropy", aggregation: "sum" };
    case "importance_sampling":
      if (aggregation === "weighted-mean")
        throw new Error("importance_sampling does not support batcoder_aggregation 'weighted-mean'");
      return {
        kind: "importance_sampling",
        aggregation,
        ...(config.batcoder_temperature !== undefined ? { temperature: num("batcoder_temperature", 1) } : {}),
      };
    case "ppo": {
      if (aggregation === "weighted-mean") throw new Error("ppo does not support batcoder_aggregation 'weighted-mean'");
      const lo = num("clip_low_threshold", TINKER_DEFAULT_CLIP.low),
        hi = num("clip_high_threshold", TINKER_DEFAULT_CLIP.high);
      if (!(lo <= 1 && hi >= 1))
        throw new Error(`ppo needs clip_low_threshold <= 1 <= clip_high_threshold, got ${lo}, ${hi}`);
      return {
        kind: "ppo",
        clipLow: config.batcoder_clip_low !== undefined ? num("batcoder_clip_low", 0) : 1 - lo,
        clipHigh: config.batcoder_clip_high !== undefined ? num("batcoder_clip_high", 0) : hi - 1,
        klCoef: num("batcoder_kl_coef", 0),
        klEstimator: text("batcoder_kl_estimator", ["k1", "k2", "k3"] as const, "k3"),
        entropyCoef: num("batcoder_entropy_coef", 0),
        aggregation,
        ...(cn !== undefined ? { constantNormalizer: num("batcoder_constant_normalizer", 0) } : {}),
        ...(config.batcoder_temperature !== undefined ? { temperature: num("batcoder_temperature", 1) } : {}),
      };
    }
    default:
      throw new Error(
        `loss_fn '${lossFn}' is not supported by this server (supported: cross_entropy, importance_sampling, ppo)`,
      );
  }
}
