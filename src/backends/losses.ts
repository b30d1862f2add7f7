/**
 * Loss math shared by every Policy implementation that trains locally.
 *
 * The engine computes, for each datum and each target position t, the log-prob logp[t] of the target token
 * (and optionally the entropy H[t] of the predictive distribution). This module turns those into the scalar
 * loss of a LossSpec and its gradient w.r.t. each logp[t] and H[t]; the engine back-propagates those through
 * its log-softmax. Keeping the math here means every backend (and the tests) share one definition.
 */
import type { Datum, LossSpec } from "./policy.js";

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
function crossEntropy(inp: LossInputs): LossOutputs {
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
  const norm = count > 0 ? count : 1;
  const dLogprobs = inp.datums.map((d, i) => inp.logprobs[i]!.map((_, t) => -d.lossInputs.weights[t]! / norm));
  return { loss: total / norm, dLogprobs, dEntropies: null, metrics: { tokens: count, nll: total / norm } };
}

/**
 * Computes the loss and its gradients. PPO / importance-sampling variants are implemented by the RL module's
 * owner in this same file (see src/rl/README.md for the definitions and the hand-computed tests).
 */
export function computeLoss(spec: LossSpec, inp: LossInputs): LossOutputs {
  switch (spec.kind) {
    case "cross_entropy":
      return crossEntropy(inp);
    default:
      throw new Error(`loss '${spec.kind}' not implemented yet`);
  }
}
