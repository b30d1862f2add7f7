/**
 * Advantage estimators. Each call handles ONE kind of group (e.g. all documentation samples of a batch,
 * grouped by the code they document; or all reconstructions, grouped by the documentation they came from) —
 * the trainer never mixes the two kinds in one call.
 *
 * Names follow OpenRLHF / TRL usage:
 *   reinforce_pp          REINFORCE++: per-token return G_t = R - beta * sum_{s>=t} kl_s (KL folded into the
 *                         reward), then GLOBAL whitening over every valid token of the call (mean 0, std 1).
 *   reinforce_pp_baseline REINFORCE++ with a group-mean baseline subtracted from R first, then as above.
 *   grpo                  (R - mean_group) / (std_group + eps), std unbiased (n-1) as TRL/torch.std.
 *   dr_grpo               R - mean_group (no std scaling; pair it with the "seq-sum-constant" aggregation).
 *   rloo                  R - mean of the OTHER samples of the group = n/(n-1) * (R - mean_group).
 * For the group estimators the KL penalty (when kl is given and klCoef > 0) is folded into the scalar reward
 * as R - klCoef * sum_t kl_t before grouping. A group of one sample gets advantage 0 from every group estimator.
 */
export const ADVANTAGE_ESTIMATORS = ["reinforce_pp", "reinforce_pp_baseline", "grpo", "dr_grpo", "rloo"] as const;
export type AdvantageEstimator = (typeof ADVANTAGE_ESTIMATORS)[number];

export interface AdvSample {
  /** Group key: samples with the same key are compared with each other. */
  group: string | number;
  /** Scalar (sequence) reward. */
  reward: number;
  /** Number of completion tokens (the advantage array has this length). */
  nTokens: number;
  /** Per-token KL estimate to the reference (k1/k3...), used only when klCoef > 0. */
  kl?: number[];
}

export interface AdvOptions {
  estimator: AdvantageEstimator;
  /** Coefficient of the KL folded into the reward (0 = none). */
  klCoef?: number;
  /** Added to the std in denominators. Default 1e-4 for grpo (TRL), 1e-8 for the global whitening. */
  eps?: number;
}

export interface AdvResult {
  /** Per-sample, per-completion-token advantages. */
  advantages: number[][];
  /** Per-sample scalar reward after the KL fold-in (what the estimator compared). */
  shapedRewards: number[];
  stats: { adv_mean: number; adv_std: number; zero_std_group_frac: number };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
function stdUnbiased(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) * (x - m), 0) / (xs.length - 1));
}

function groupsOf(samples: AdvSample[]): Map<string | number, number[]> {
  const g = new Map<string | number, number[]>();
  samples.forEach((s, i) => {
    const list = g.get(s.group);
    if (list) list.push(i);
    else g.set(s.group, [i]);
  });
  return g;
}

function checkSample(s: AdvSample, i: number, klCoef: number): void {
  if (!Number.isFinite(s.reward)) throw new Error(`advantages: sample ${i} has a non-finite reward (${s.reward})`);
  if (!Number.isInteger(s.nTokens) || s.nTokens < 0)
    throw new Error(`advantages: sample ${i} has an invalid nTokens (${s.nTokens})`);
  if (klCoef !== 0 && s.kl && s.kl.length !== s.nTokens) {
    throw new Error(`advantages: sample ${i} has ${s.kl.length} KL values for ${s.nTokens} tokens`);
  }
}

export function computeAdvantages(samples: AdvSample[], opts: AdvOptions): AdvResult {
  const klCoef = opts.klCoef ?? 0;
  samples.forEach((s, i) => checkSample(s, i, klCoef));
  const groups = groupsOf(samples);
  const klSum = (s: AdvSample) => (klCoef !== 0 && s.kl ? s.kl.reduce((a, b) => a + b, 0) : 0);
  const shaped = samples.map((s) => s.reward - klCoef * klSum(s));
  let zeroStd = 0;
  let advantages: number[][];

  if (opts.estimator === "reinforce_pp" || opts.estimator === "reinforce_pp_baseline") {
    const eps = opts.eps ?? 1e-8;
    // Scalar reward (optionally minus the group mean) placed on the last token; per-token -beta*kl rewards.
    const base = samples.map((s) => s.reward);
    if (opts.estimator === "reinforce_pp_baseline") {
      for (const idx of groups.values()) {
        const m = mean(idx.map((i) => samples[i]!.reward));
        for (const i of idx) base[i] = samples[i]!.reward - m;
        if (idx.length > 1 && stdUnbiased(idx.map((i) => samples[i]!.reward)) === 0) zeroStd++;
      }
    }
    const returns = samples.map((s, i) => {
      const g = new Array<number>(s.nTokens).fill(0);
      let acc = base[i]!;
      for (let t = s.nTokens - 1; t >= 0; t--) {
        // G_t = R - beta * sum_{u >= t} kl_u  (gamma = 1)
        if (klCoef !== 0 && s.kl) acc -= klCoef * s.kl[t]!;
        g[t] = acc;
      }
      return g;
    });
    const all = returns.flat();
    const m = mean(all);
    const sd = all.length ? Math.sqrt(all.reduce((a, x) => a + (x - m) * (x - m), 0) / all.length) : 0;
    advantages = returns.map((g) => g.map((x) => (x - m) / (sd + eps)));
  } else {
    const eps = opts.eps ?? 1e-4;
    const scalar = new Array<number>(samples.length).fill(0);
    for (const idx of groups.values()) {
      const rs = idx.map((i) => shaped[i]!);
      const n = rs.length;
      if (n < 2) continue; // a lone sample has no baseline: advantage 0
      const m = mean(rs);
      const sd = stdUnbiased(rs);
      if (sd === 0) zeroStd++;
      for (const i of idx) {
        const r = shaped[i]!;
        switch (opts.estimator) {
          case "grpo":
            scalar[i] = (r - m) / (sd + eps);
            break;
          case "dr_grpo":
            scalar[i] = r - m;
            break;
          case "rloo":
            scalar[i] = (n / (n - 1)) * (r - m);
            break;
          default:
            throw new Error(`unknown advantage estimator '${String(opts.estimator)}'`);
        }
      }
    }
    advantages = samples.map((s, i) => new Array<number>(s.nTokens).fill(scalar[i]!));
  }

  const flat = advantages.flat();
  const am = mean(flat);
  const asd = flat.length ? Math.sqrt(flat.reduce((a, x) => a + (x - am) * (x - am), 0) / flat.length) : 0;
  return {
    advantages,
    shapedRewards: shaped,
    stats: { adv_mean: am, adv_std: asd, zero_std_group_frac: groups.size ? zeroStd / groups.size : 0 },
  };
}
