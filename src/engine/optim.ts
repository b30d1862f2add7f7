/**
 * AdamW (decoupled weight decay, none on 1-D norm weights), global gradient-norm clipping and the
 * warmup + cosine learning-rate schedule.
 */
import type { AdamParams } from "../core/policy.js";
import type { Kernels } from "./kernels.js";
import type { Tensor } from "./model.js";

export class AdamW {
  m = new Map<string, Float32Array>();
  v = new Map<string, Float32Array>();
  /** Number of updates applied so far. */
  step = 0;

  constructor(private readonly kernels: Kernels) {}

  /** Whether weight decay applies to a parameter (not to RMSNorm weights). */
  static decays(name: string, t: Tensor): boolean {
    return t.shape.length > 1 && !name.endsWith("norm.weight");
  }

  /** Global L2 norm of all gradients. */
  gradNorm(grads: Map<string, Float32Array>): number {
    let s = 0;
    for (const g of grads.values()) s += this.kernels.sumsq(g, g.length);
    return Math.sqrt(s);
  }

  /**
   * One update. Clips the gradients to maxGradNorm (when > 0) first; returns the pre-clip global norm.
   * Non-finite gradients abort the step (weights untouched) with an error.
   */
  update(weights: Map<string, Tensor>, grads: Map<string, Float32Array>, p: AdamParams): number {
    validateAdam(p);
    const norm = this.gradNorm(grads);
    if (!Number.isFinite(norm)) throw new Error(`optimizer: gradient norm is ${norm}; step skipped`);
    if (p.maxGradNorm > 0 && norm > p.maxGradNorm) {
      const s = p.maxGradNorm / (norm + 1e-6);
      for (const g of grads.values()) this.kernels.scale(g, s, g.length);
    }
    this.step++;
    const bc1 = 1 - Math.pow(p.beta1, this.step);
    const bc2 = 1 - Math.pow(p.beta2, this.step);
    for (const [name, t] of weights) {
      const g = grads.get(name);
      if (!g) continue;
      let m = this.m.get(name),
        v = this.v.get(name);
      if (!m || !v) {
        m = new Float32Array(g.length);
        v = new Float32Array(g.length);
        this.m.set(name, m);
        this.v.set(name, v);
      }
      const wd = AdamW.decays(name, t) ? p.weightDecay : 0;
      this.kernels.adamw(t.data, g, m, v, g.length, p.learningRate, p.beta1, p.beta2, p.eps, wd, bc1, bc2);
    }
    return norm;
  }
}

export function validateAdam(p: AdamParams): void {
  const bad = (k: string) => {
    throw new Error(`AdamParams.${k} is invalid: ${JSON.stringify((p as unknown as Record<string, unknown>)[k])}`);
  };
  if (!(p.learningRate >= 0) || !Number.isFinite(p.learningRate)) bad("learningRate");
  if (!(p.beta1 >= 0 && p.beta1 < 1)) bad("beta1");
  if (!(p.beta2 >= 0 && p.beta2 < 1)) bad("beta2");
  if (!(p.eps > 0)) bad("eps");
  if (!(p.weightDecay >= 0)) bad("weightDecay");
  if (!(p.maxGradNorm >= 0)) bad("maxGradNorm");
}
