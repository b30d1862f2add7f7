/**
 * Loss math shared by every Policy implementation that trains locally.
 *
 * The engine computes, for each datum and each target position t, the log-prob logp[t] of the target token
 * (and optionally the entropy H[t] of the predictive distribution). This module turns those into the scalar
 * loss of a LossSpec and its gradient w.r.t. each logp[t] and H[t]; the engine back-propagates those through
 * its log-softmax. Keeping the math here means every backend (and the tests) share one definition.
 */
import type { Aggregation, Datum, LossSpec } from "./policy.js";

export interface LossInputs {
  datums: Datum[];
  /** logprobs[i][t]: current log p(targetTokens[t]) for datum i. */
  logprobs: number[][];
  /** entropies[i][t], required when the spec has an entropy bonus. */
  entropies?: number[][];
}

export interface LossOutputs {
  loss: number;
  /** dLoss/dlogprobs[i][t] (0 where weight is 0). */
  dLogprobs: number[][];
  /** dLoss/dentropies[i][t], or null when the loss does not use entropy. */
  dEntropies: number[][] | null;
  metrics: Record<string, number>;
}

/** Whether the engine must compute per-token entropies (and their gradients) for this spec. */
export function needsEntropy(spec: LossSpec): boolean {
  return spec.kind === "ppo" && spec.entropyCoef !== 0;
}

/** Cross-entropy (negative log-likelihood) — the one loss needed for pretraining and SFT. */
function crossEntropy(inp: LossInputs, agg?: Aggregation): LossOutputs {
  let total = 0;
  let count = 0;
  for (let i = 0; i < inp.datums.length; i++) {
    const w = inp.datums[i]!.lossInputs.weights;
    const lp = inp.logprobs[i]!;
    for (let t = 0; t < lp.length; t++) {
      total += -lp[t]! * w[t]!;
      count += w[t]!;
    }
  }
  // "sum" (Tinker's semantics: sum(-logp * weights), no normalisation) or the weighted mean (the default).
  const norm = agg === "sum" ? 1 : count > 0 ? count : 1;
  const dLogprobs = inp.datums.map((d, i) => inp.logprobs[i]!.map((_, t) => -d.lossInputs.weights[t]! / norm));
  return { loss: total / norm, dLogprobs, dEntropies: null, metrics: { tokens: count, nll: total / norm } };
}

/** Per-token KL estimate between the current policy (logp) and the reference (ref), and its d/dlogp. */
export function klTerm(estimator: "k1" | "k2" | "k3", logp: number, ref: number): { kl: number; dkl: number } {
  const d = logp - ref; // log(pi/ref)
  switch (estimator) {
    case "k1":
      // k1 = log(pi/ref): unbiased, can be negative per token.
      return { kl: d, dkl: 1 };
    case "k2":
      // k2 = 0.5 * log(pi/ref)^2
      return { kl: 0.5 * d * d, dkl: d };
    case "k3": {
      // k3 = ref/pi - 1 - log(ref/pi)  (Schulman's low-variance, always >= 0); d/dlogp = 1 - ref/pi
      const x = Math.exp(-d);
      return { kl: x - 1 + d, dkl: 1 - x };
    }
  }
}

/**
 * Divides a sum of weighted per-token terms into the scalar loss, per aggregation mode. Returns, for each
 * datum, the factor its per-token (weighted) terms are multiplied by.
 *
 * The 0/1 MASK (weight > 0) decides which tokens count in the denominators; the weight VALUE scales a token's
 * contribution. So direction weights (e.g. 0.5 on every doc->code datum) really re-weight the two tasks under
 * every aggregation instead of cancelling out in the token count.
 */
export function aggregationFactors(
  datums: Datum[],
  agg: Aggregation,
  constantNormalizer: number | undefined,
): number[] {
  const counts = datums.map((d) => d.lossInputs.weights.reduce((a, w) => a + (w > 0 ? 1 : 0), 0));
  switch (agg) {
    case "sum":
      return counts.map(() => 1);
    case "token-mean": {
      const total = counts.reduce((a, b) => a + b, 0);
      return counts.map(() => (total > 0 ? 1 / total : 0));
    }
    case "seq-mean-token-mean": {
      const nSeq = counts.filter((c) => c > 0).length;
      return counts.map((c) => (c > 0 ? 1 / (c * nSeq) : 0));
    }
    case "seq-sum-constant": {
      const c = constantNormalizer;
      if (c === undefined || !(c > 0))
        throw new Error("aggregation 'seq-sum-constant' needs a positive constantNormalizer");
      const nSeq = counts.filter((k) => k > 0).length;
      return counts.map((k) => (k > 0 && nSeq > 0 ? 1 / (c * nSeq) : 0));
    }
  }
}

function requireArray(
  d: Datum,
  i: number,
  key: "advantages" | "samplingLogprobs" | "refLogprobs",
  kind: string,
): number[] {
  const a = d.lossInputs[key];
  if (!a) throw new Error(`loss '${kind}': datum ${i} has no lossInputs.${key}`);
  if (a.length !== d.lossInputs.targetTokens.length) {
    throw new Error(
      `loss '${kind}': datum ${i} lossInputs.${key} has ${a.length} entries, targetTokens has ${d.lossInputs.targetTokens.length}`,
    );
  }
  return a;
}

/**
 * PPO clipped surrogate (per token t with advantage A, ratio r = exp(logp - samplingLogp)):
 *   pg_t  = -min(r*A, clip(r, 1-clipLow, 1+clipHigh)*A)
 *   loss_t = pg_t + klCoef * KL_t(pi || ref) - entropyCoef * H_t
 * aggregated as the spec says. d pg_t / d logp = -A*r when the unclipped term is the minimum, else 0 (the
 * clipped branch is constant in logp). clip_fraction counts tokens whose gradient the clip zeroed.
 */
function ppo(spec: Extract<LossSpec, { kind: "ppo" }>, inp: LossInputs): LossOutputs {
  const { datums, logprobs } = inp;
  const useKl = spec.klCoef !== 0;
  const useEnt = spec.entropyCoef !== 0;
  if (useEnt && !inp.entropies) throw new Error("loss 'ppo' with entropyCoef != 0 needs per-token entropies");
  const f = aggregationFactors(datums, spec.aggregation, spec.constantNormalizer);
  let loss = 0;
  let pgSum = 0,
    klSum = 0,
    entSum = 0,
    ratioSum = 0,
    approxKlOld = 0,
    clipped = 0,
    clippedLow = 0,
    clippedHigh = 0,
    n = 0;
  const dLogprobs: number[][] = [];
  const dEntropies: number[][] | null = useEnt ? [] : null;
  for (let i = 0; i < datums.length; i++) {
    const d = datums[i]!;
    const w = d.lossInputs.weights;
    const lp = logprobs[i]!;
    const adv = requireArray(d, i, "advantages", "ppo");
    const old = requireArray(d, i, "samplingLogprobs", "ppo");
    const ref = useKl ? requireArray(d, i, "refLogprobs", "ppo") : null;
    const ent = useEnt ? inp.entropies![i]! : null;
    const g = new Array<number>(lp.length).fill(0);
    const ge = useEnt ? new Array<number>(lp.length).fill(0) : null;
    for (let t = 0; t < lp.length; t++) {
      const wt = w[t]!;
      if (!(wt > 0)) continue;
      const a = adv[t]!;
      const logRatio = lp[t]! - old[t]!;
      const r = Math.exp(logRatio);
      const rc = Math.min(Math.max(r, 1 - spec.clipLow), 1 + spec.clipHigh);
      const unclipped = r * a;
      const clippedObj = rc * a;
      let pg: number, dpg: number;
      if (unclipped <= clippedObj) {
        pg = -unclipped;
        dpg = -a * r;
      } else {
        pg = -clippedObj;
        dpg = 0;
        clipped++;
        if (r < 1 - spec.clipLow) clippedLow++;
        else clippedHigh++;
      }
      let lt = pg;
      let dl = dpg;
      if (ref) {
        const { kl, dkl } = klTerm(spec.klEstimator, lp[t]!, ref[t]!);
        lt += spec.klCoef * kl;
        dl += spec.klCoef * dkl;
        klSum += kl;
      }
      if (ent) {
        lt -= spec.entropyCoef * ent[t]!;
        ge![t] = -spec.entropyCoef * wt * f[i]!;
        entSum += ent[t]!;
      }
      loss += wt * f[i]! * lt;
      g[t] = wt * f[i]! * dl;
      pgSum += pg;
      ratioSum += r;
      approxKlOld += Math.exp(-logRatio) - 1 + logRatio; // k3(pi_old || pi) diagnostic
      n++;
    }
    dLogprobs.push(g);
    if (dEntropies) dEntropies.push(ge!);
  }
  const m = n > 0 ? n : 1;
  const metrics: Record<string, number> = {
    tokens: n,
    pg_loss: pgSum / m,
    clip_fraction: clipped / m,
    clip_fraction_low: clippedLow / m,
    clip_fraction_high: clippedHigh / m,
    ratio_mean: ratioSum / m,
    approx_kl_old: approxKlOld / m,
  };
  if (useKl) metrics.kl = klSum / m;
  if (useEnt) metrics.entropy = entSum / m;
  return { loss, dLogprobs, dEntropies, metrics };
}

/**
 * Plain importance-sampled policy gradient (Tinker's "importance_sampling"): loss_t = -r_t * A_t with
 * r = exp(logp - samplingLogp), no clipping; d/dlogp = -A*r.
 */
function importanceSampling(spec: Extract<LossSpec, { kind: "importance_sampling" }>, inp: LossInputs): LossOutputs {
  const f = aggregationFactors(inp.datums, spec.aggregation, undefined);
  let loss = 0,
    ratioSum = 0,
    n = 0;
  const dLogprobs = inp.datums.map((d, i) => {
    const w = d.lossInputs.weights;
    const lp = inp.logprobs[i]!;
    const adv = requireArray(d, i, "advantages", "importance_sampling");
    const old = requireArray(d, i, "samplingLogprobs", "importance_sampling");
    const g = new Array<number>(lp.length).fill(0);
    for (let t = 0; t < lp.length; t++) {
      const wt = w[t]!;
      if (!(wt > 0)) continue;
      const r = Math.exp(lp[t]! - old[t]!);
      loss += wt * f[i]! * -r * adv[t]!;
      g[t] = wt * f[i]! * -r * adv[t]!;
      ratioSum += r;
      n++;
    }
    return g;
  });
  return { loss, dLogprobs, dEntropies: null, metrics: { tokens: n, ratio_mean: ratioSum / (n || 1) } };
}

/** Computes the loss and its gradients w.r.t. each target log-prob (and entropy, when used). */
export function computeLoss(spec: LossSpec, inp: LossInputs): LossOutputs {
  if (inp.logprobs.length !== inp.datums.length) {
    throw new Error(`computeLoss: ${inp.datums.length} datums but ${inp.logprobs.length} logprob rows`);
  }
  switch (spec.kind) {
    case "cross_entropy":
      return crossEntropy(inp, spec.aggregation);
    case "ppo":
      return ppo(spec, inp);
    case "importance_sampling":
      return importanceSampling(spec, inp);
    default:
      throw new Error(`unknown loss kind '${(spec as { kind: string }).kind}'`);
  }
}
