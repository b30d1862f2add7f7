import { test } from "node:test";
import assert from "node:assert/strict";
import { computeLoss, klTerm, needsEntropy } from "../../src/core/losses.js";
import type { Datum, LossSpec } from "../../src/core/policy.js";

const close = (a: number, b: number, eps = 1e-9, msg = "") =>
  assert.ok(Math.abs(a - b) <= eps, `${msg} expected ${b}, got ${a}`);

function datum(n: number, adv: number[], old: number[], weights: number[], ref?: number[]): Datum {
  return {
    modelInput: Array.from({ length: n }, (_, i) => i + 1),
    lossInputs: {
      targetTokens: Array.from({ length: n }, (_, i) => i + 2),
      weights,
      advantages: adv,
      samplingLogprobs: old,
      refLogprobs: ref,
    },
  };
}

const ppo = (over: Partial<Extract<LossSpec, { kind: "ppo" }>> = {}): LossSpec => ({
  kind: "ppo",
  clipLow: 0.2,
  clipHigh: 0.2,
  klCoef: 0,
  klEstimator: "k3",
  entropyCoef: 0,
  aggregation: "token-mean",
  ...over,
});

test("ppo: clipped surrogate, token-mean, hand-computed", () => {
  // Datum 0, 3 positions; position 0 is the prompt (weight 0).
  //   t=1: A=+1, logp-old = ln 1.5 -> r=1.5 > 1.2, A>0: min(1.5, 1.2)=1.2 -> clipped, pg=-1.2, grad 0
  //   t=2: A=-1, r = 0.5 < 0.8, A<0: min(-0.5, -0.8) = -0.8 -> clipped, pg=+0.8, grad 0
  // Datum 1, 2 positions:
  //   t=0: A=2, r=1 -> pg=-2, grad=-A*r=-2
  //   t=1: A=-1, r=1.1 (in range) -> pg=1.1, grad=+1.1
  // token-mean over 4 valid tokens: loss = (-1.2 + 0.8 - 2 + 1.1)/4 = -1.3/4 = -0.325
  const d0 = datum(3, [0, 1, -1], [0, 0, 0], [0, 1, 1]);
  const d1 = datum(2, [2, -1], [-1, -1], [1, 1]);
  const lp = [
    [-5, Math.log(1.5), Math.log(0.5)],
    [-1, -1 + Math.log(1.1)],
  ];
  const out = computeLoss(ppo(), { datums: [d0, d1], logprobs: lp });
  close(out.loss, -0.325, 1e-12, "loss");
  assert.deepEqual(out.dLogprobs[0], [0, 0, 0]);
  close(out.dLogprobs[1]![0]!, -2 / 4);
  close(out.dLogprobs[1]![1]!, 1.1 / 4);
  close(out.metrics.clip_fraction!, 0.5);
  close(out.metrics.clip_fraction_high!, 0.25);
  close(out.metrics.clip_fraction_low!, 0.25);
  assert.equal(out.metrics.tokens, 4);
  assert.equal(out.dEntropies, null);
});

test("ppo: ratio above 1+eps with NEGATIVE advantage is not clipped (pessimistic bound)", () => {
  // r = 1.5, A = -1: min(-1.5, -1.2) = -1.5 -> unclipped, pg = 1.5, grad = -A*r = 1.5
  const d = datum(1, [-1], [0], [1]);
  const out = computeLoss(ppo(), { datums: [d], logprobs: [[Math.log(1.5)]] });
  close(out.loss, 1.5, 1e-12);
  close(out.dLogprobs[0]![0]!, 1.5, 1e-12);
  assert.equal(out.metrics.clip_fraction, 0);
});

test("ppo: asymmetric clip (DAPO clip-higher)", () => {
  // clipHigh 0.28: r = 1.25 with A = +1 is inside [0.8, 1.28] -> pg = -1.25, grad = -1.25
  const d = datum(1, [1], [0], [1]);
  const out = computeLoss(ppo({ clipHigh: 0.28 }), { datums: [d], logprobs: [[Math.log(1.25)]] });
  close(out.loss, -1.25, 1e-12);
  close(out.dLogprobs[0]![0]!, -1.25, 1e-12);
  const sym = computeLoss(ppo(), { datums: [d], logprobs: [[Math.log(1.25)]] });
  close(sym.loss, -1.2, 1e-12);
  assert.equal(sym.dLogprobs[0]![0], 0);
});

test("ppo: aggregation modes give the hand-computed normalisers", () => {
  // Seq A: 1 valid token, pg = -1 (A=1, r=1). Seq B: 3 valid tokens, each A=2, r=1 -> pg = -2 each.
  const a = datum(1, [1], [0], [1]);
  const b = datum(3, [2, 2, 2], [0, 0, 0], [1, 1, 1]);
  const lp = [[0], [0, 0, 0]];
  // token-mean: (-1 - 6) / 4 = -1.75
  close(computeLoss(ppo(), { datums: [a, b], logprobs: lp }).loss, -1.75, 1e-12);
  // seq-mean-token-mean: mean(-1, -2) = -1.5 ; grad on B's tokens: -2 / (3 * 2) = -1/3
  const s = computeLoss(ppo({ aggregation: "seq-mean-token-mean" }), { datums: [a, b], logprobs: lp });
  close(s.loss, -1.5, 1e-12);
  close(s.dLogprobs[1]![0]!, -1 / 3, 1e-12);
  // seq-sum-constant with C = 10: (-1 - 6) / (10 * 2) = -0.35
  close(
    computeLoss(ppo({ aggregation: "seq-sum-constant", constantNormalizer: 10 }), { datums: [a, b], logprobs: lp })
      .loss,
    -0.35,
    1e-12,
  );
  assert.throws(
    () => computeLoss(ppo({ aggregation: "seq-sum-constant" }), { datums: [a, b], logprobs: lp }),
    /constantNormalizer/,
  );
});

test("ppo: fractional weights re-weight tokens without changing the token count", () => {
  // Two 1-token sequences, A = 1 and A = 1, r = 1; weights 1 and 0.5.
  // token-mean: (1 * -1 + 0.5 * -1) / 2 = -0.75 (count is 2 masked tokens, not 1.5)
  const out = computeLoss(ppo(), {
    datums: [datum(1, [1], [0], [1]), datum(1, [1], [0], [0.5])],
    logprobs: [[0], [0]],
  });
  close(out.loss, -0.75, 1e-12);
  close(out.dLogprobs[1]![0]!, -0.25, 1e-12);
});

test("kl estimators: values and derivatives by hand", () => {
  // logp = -1, ref = -2 -> d = log(pi/ref) = 1
  const k1 = klTerm("k1", -1, -2);
  close(k1.kl, 1);
  close(k1.dkl, 1);
  const k2 = klTerm("k2", -1, -2);
  close(k2.kl, 0.5);
  close(k2.dkl, 1);
  // k3 = e^{-1} - 1 + 1 = 0.36787944117144233 ; dk3 = 1 - e^{-1} = 0.6321205588285577
  const k3 = klTerm("k3", -1, -2);
  close(k3.kl, Math.exp(-1));
  close(k3.dkl, 1 - Math.exp(-1));
  // identical distributions -> every estimator is 0
  for (const e of ["k1", "k2", "k3"] as const) close(klTerm(e, -0.3, -0.3).kl, 0);
  // derivative check by finite differences
  for (const e of ["k1", "k2", "k3"] as const) {
    const h = 1e-6;
    const fd = (klTerm(e, -0.7 + h, -1.9).kl - klTerm(e, -0.7 - h, -1.9).kl) / (2 * h);
    close(klTerm(e, -0.7, -1.9).dkl, fd, 1e-6, e);
  }
});

test("ppo: KL-as-loss and entropy bonus terms", () => {
  // one token, A = 0 (pg = 0), r = 1, logp = -1, ref = -2, k3 = e^-1, klCoef 0.1; entropy H = 2, coef 0.01
  // loss = 0.1 * e^-1 - 0.01 * 2 = 0.036787944117144233 - 0.02
  const d = datum(1, [0], [-1], [1], [-2]);
  const spec = ppo({ klCoef: 0.1, entropyCoef: 0.01 });
  assert.equal(needsEntropy(spec), true);
  assert.equal(needsEntropy(ppo()), false);
  const out = computeLoss(spec, { datums: [d], logprobs: [[-1]], entropies: [[2]] });
  close(out.loss, 0.1 * Math.exp(-1) - 0.02, 1e-12);
  // d/dlogp = -A*r + 0.1 * (1 - e^-1)
  close(out.dLogprobs[0]![0]!, 0.1 * (1 - Math.exp(-1)), 1e-12);
  close(out.dEntropies![0]![0]!, -0.01, 1e-12);
  close(out.metrics.kl!, Math.exp(-1), 1e-12);
  close(out.metrics.entropy!, 2, 1e-12);
  assert.throws(() => computeLoss(spec, { datums: [d], logprobs: [[-1]] }), /entropies/);
  assert.throws(
    () => computeLoss(ppo({ klCoef: 0.1 }), { datums: [datum(1, [0], [0], [1])], logprobs: [[0]] }),
    /refLogprobs/,
  );
});

test("ppo gradient matches finite differences of the loss", () => {
  const d0 = datum(4, [0.5, -1.2, 0.7, 2], [-1, -2, -0.5, -3], [1, 1, 0.5, 1], [-1.1, -1.5, -0.7, -2.5]);
  const spec = ppo({ klCoef: 0.05, klEstimator: "k3", clipHigh: 0.3, aggregation: "seq-mean-token-mean" });
  const lp = [[-1.05, -2.3, -0.45, -2.9]];
  const out = computeLoss(spec, { datums: [d0], logprobs: lp });
  for (let t = 0; t < 4; t++) {
    const h = 1e-6;
    const up = lp.map((r) => r.slice());
    up[0]![t]! += h;
    const dn = lp.map((r) => r.slice());
    dn[0]![t]! -= h;
    const fd =
      (computeLoss(spec, { datums: [d0], logprobs: up }).loss -
        computeLoss(spec, { datums: [d0], logprobs: dn }).loss) /
      (2 * h);
    close(out.dLogprobs[0]![t]!, fd, 1e-6, `t=${t}`);
  }
});

test("importance_sampling: -r*A without clipping", () => {
  // r = 2, A = 1 -> -2 ; r = 0.5, A = -2 -> +1 ; token-mean = -0.5
  const d = datum(2, [1, -2], [0, 0], [1, 1]);
  const out = computeLoss(
    { kind: "importance_sampling", aggregation: "token-mean" },
    { datums: [d], logprobs: [[Math.log(2), Math.log(0.5)]] },
  );
  close(out.loss, -0.5, 1e-12);
  close(out.dLogprobs[0]![0]!, -1, 1e-12);
  close(out.dLogprobs[0]![1]!, 0.5, 1e-12);
});

test("cross-entropy still the weighted mean NLL", () => {
  const d: Datum = { modelInput: [1, 2], lossInputs: { targetTokens: [2, 3], weights: [0, 1] } };
  const out = computeLoss({ kind: "cross_entropy" }, { datums: [d], logprobs: [[-9, -0.5]] });
  close(out.loss, 0.5);
  assert.deepEqual(out.dLogprobs, [[-0, -1]]);
});
