import { test } from "node:test";
import assert from "node:assert/strict";
import { computeAdvantages, type AdvSample } from "../../src/rl/advantages.js";

const close = (a: number, b: number, eps = 1e-9, msg = "") =>
  assert.ok(Math.abs(a - b) <= eps, `${msg} expected ${b}, got ${a}`);
const s = (group: string, reward: number, nTokens = 2, kl?: number[]): AdvSample => ({ group, reward, nTokens, kl });

test("grpo: (r - group mean) / (unbiased group std + eps), groups kept apart", () => {
  // group a: rewards 1, 2, 3 -> mean 2, unbiased std = sqrt((1+0+1)/2) = 1 -> adv -1, 0, 1 (eps 0)
  // group b: rewards 0, 4   -> mean 2, std = sqrt((4+4)/1) = 2.8284271247461903 -> adv -/+0.7071067811865475
  const r = computeAdvantages([s("a", 1), s("a", 2), s("b", 0), s("a", 3), s("b", 4)], { estimator: "grpo", eps: 0 });
  close(r.advantages[0]![0]!, -1);
  close(r.advantages[1]![0]!, 0);
  close(r.advantages[3]![1]!, 1);
  close(r.advantages[2]![0]!, -Math.SQRT1_2);
  close(r.advantages[4]![0]!, Math.SQRT1_2);
  assert.equal(r.advantages[0]!.length, 2);
  // default eps 1e-4: group a std 1 -> adv = 1/(1.0001)
  const d = computeAdvantages([s("a", 1), s("a", 2), s("a", 3)], { estimator: "grpo" });
  close(d.advantages[2]![0]!, 1 / 1.0001);
});

test("grpo: equal rewards and singleton groups give zero advantage", () => {
  const r = computeAdvantages([s("a", 0.5), s("a", 0.5), s("b", 0.9)], { estimator: "grpo" });
  for (const a of r.advantages) for (const x of a) assert.equal(x, 0);
  close(r.stats.zero_std_group_frac, 0.5); // group a has zero std, b is a singleton (not counted)
});

test("dr_grpo: r - group mean, no std", () => {
  // rewards 1, 2, 6: mean 3 -> -2, -1, 3
  const r = computeAdvantages([s("g", 1), s("g", 2), s("g", 6)], { estimator: "dr_grpo" });
  assert.deepEqual(
    r.advantages.map((a) => a[0]),
    [-2, -1, 3],
  );
});

test("rloo: leave-one-out baseline", () => {
  // rewards 1, 2, 6: A_1 = 1 - (2+6)/2 = -3 ; A_2 = 2 - (1+6)/2 = -1.5 ; A_3 = 6 - (1+2)/2 = 4.5
  const r = computeAdvantages([s("g", 1), s("g", 2), s("g", 6)], { estimator: "rloo" });
  close(r.advantages[0]![0]!, -3);
  close(r.advantages[1]![0]!, -1.5);
  close(r.advantages[2]![0]!, 4.5);
});

test("reinforce_pp: KL folded into per-token returns, then global whitening", () => {
  // beta = 0.5. Sample 1: R = 1, kl = [0.2, 0.4] -> returns: t1 = 1 - 0.5*0.4 = 0.8 ; t0 = 0.8 - 0.5*0.2 = 0.7
  // Sample 2: R = 0, kl = [0] -> t0 = 0
  // all tokens [0.7, 0.8, 0]: mean 0.5, population var = (0.04 + 0.09 + 0.25)/3 = 0.12666..., std = 0.355902...
  const r = computeAdvantages([s("a", 1, 2, [0.2, 0.4]), s("b", 0, 1, [0])], {
    estimator: "reinforce_pp",
    klCoef: 0.5,
    eps: 0,
  });
  const sd = Math.sqrt(0.38 / 3);
  close(r.advantages[0]![0]!, 0.2 / sd, 1e-12);
  close(r.advantages[0]![1]!, 0.3 / sd, 1e-12);
  close(r.advantages[1]![0]!, -0.5 / sd, 1e-12);
  close(r.shapedRewards[0]!, 1 - 0.5 * 0.6, 1e-12);
  // whitened: mean 0, std 1
  close(r.stats.adv_mean, 0, 1e-12);
  close(r.stats.adv_std, 1, 1e-9);
  // groups do not matter for plain reinforce_pp (global baseline): same numbers with one group
  const r2 = computeAdvantages([s("x", 1, 2, [0.2, 0.4]), s("x", 0, 1, [0])], {
    estimator: "reinforce_pp",
    klCoef: 0.5,
    eps: 0,
  });
  assert.deepEqual(r2.advantages, r.advantages);
});

test("reinforce_pp_baseline: group mean subtracted before whitening", () => {
  // group a: 1, 3 -> -1, +1 ; group b: 10, 10 -> 0, 0 (without the baseline b would dominate)
  // one token each, tokens [-1, 1, 0, 0]: mean 0, population std sqrt(2/4) = 0.7071...
  const r = computeAdvantages([s("a", 1, 1), s("a", 3, 1), s("b", 10, 1), s("b", 10, 1)], {
    estimator: "reinforce_pp_baseline",
    eps: 0,
  });
  close(r.advantages[0]![0]!, -Math.SQRT2);
  close(r.advantages[1]![0]!, Math.SQRT2);
  close(r.advantages[2]![0]!, 0);
});

test("KL in reward for group estimators uses the summed KL", () => {
  // rewards 1 and 1 but sample 2 drifted: kl sum 2 -> shaped 1 - 0.1*2 = 0.8 ; dr_grpo: mean 0.9 -> +0.1, -0.1
  const r = computeAdvantages([s("g", 1, 2, [0, 0]), s("g", 1, 2, [1, 1])], { estimator: "dr_grpo", klCoef: 0.1 });
  close(r.advantages[0]![0]!, 0.1, 1e-12);
  close(r.advantages[1]![1]!, -0.1, 1e-12);
});

test("bad inputs are rejected", () => {
  assert.throws(() => computeAdvantages([s("g", NaN)], { estimator: "grpo" }), /non-finite reward/);
  assert.throws(
    () => computeAdvantages([s("g", 1, 2, [0])], { estimator: "grpo", klCoef: 0.1 }),
    /1 KL values for 2 tokens/,
  );
});
