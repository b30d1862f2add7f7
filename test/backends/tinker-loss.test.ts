/**
 * The stock-Tinker loss paths (folded into advantages/weights, or forward_backward_custom-style for a KL-in-loss
 * term) give our LossSpec's loss and gradient: one forward_backward + optim_step through the protocol with the
 * batcoder extension OFF lands on the same weights as in-process (up to the float32 the wire carries).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { serveTinker } from "../../src/backends/tinker/server.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";
import { lossPath } from "../../src/backends/tinker/loss.js";
import type { AdamParams, Datum, LossSpec } from "../../src/core/policy.js";
import { TINY_MODEL } from "../rl/helpers.js";

const tok = new ByteTokenizer();
const make = () => createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: tok, seed: 21, maxChunkTokens: 1 });
const f = Math.fround;
const datums: Datum[] = [
  {
    modelInput: [5, 6, 7, 8, 9],
    lossInputs: {
      targetTokens: [6, 7, 8, 9, 10],
      weights: [0, 0, 1, 1, 1],
      advantages: [0, 0, f(0.7), f(0.7), f(0.7)],
      samplingLogprobs: [0, 0, f(-5.6), f(-5.4), f(-5.5)],
      refLogprobs: [0, 0, f(-5.5), f(-5.5), f(-5.7)],
    },
  },
  {
    modelInput: [11, 12, 13],
    lossInputs: {
      targetTokens: [12, 13, 14],
      weights: [0, 0.5, 0.5],
      advantages: [0, f(-1.2), f(-1.2)],
      samplingLogprobs: [0, f(-5.5), f(-5.6)],
      refLogprobs: [0, f(-5.4), f(-5.6)],
    },
  },
];
// eps = 1 makes the first Adam step ~ lr * g (not sign(g)), so a gradient of the wrong scale shows in the weights
const adam: AdamParams = { learningRate: 1, beta1: 0.9, beta2: 0.95, eps: 1, weightDecay: 0, maxGradNorm: 0 };
const specs: [string, LossSpec, "folded" | "custom"][] = [
  ["cross_entropy (weighted mean)", { kind: "cross_entropy" }, "folded"],
  [
    "importance_sampling seq-mean-token-mean",
    { kind: "importance_sampling", aggregation: "seq-mean-token-mean" },
    "folded",
  ],
  [
    "ppo token-mean, no KL",
    {
      kind: "ppo",
      clipLow: 0.2,
      clipHigh: 0.28,
      klCoef: 0,
      klEstimator: "k3",
      entropyCoef: 0,
      aggregation: "token-mean",
    },
    "folded",
  ],
  [
    "ppo seq-sum-constant",
    {
      kind: "ppo",
      clipLow: 0.2,
      clipHigh: 0.2,
      klCoef: 0,
      klEstimator: "k3",
      entropyCoef: 0,
      aggregation: "seq-sum-constant",
      constantNormalizer: 8,
    },
    "folded",
  ],
  [
    "ppo with KL in the loss",
    {
      kind: "ppo",
      clipLow: 0.2,
      clipHigh: 0.2,
      klCoef: 0.3,
      klEstimator: "k3",
      entropyCoef: 0,
      aggregation: "token-mean",
    },
    "custom",
  ],
];

function maxDiff(a: EmbeddedPolicy, b: EmbeddedPolicy): { diff: number; moved: number } {
  let diff = 0,
    moved = 0;
  const init = make();
  for (const [name, t] of a.llama.weights) {
    const u = b.llama.weights.get(name)!.data,
      w0 = init.llama.weights.get(name)!.data;
    for (let i = 0; i < t.data.length; i++) {
      diff = Math.max(diff, Math.abs(t.data[i]! - u[i]!));
      moved = Math.max(moved, Math.abs(t.data[i]! - w0[i]!));
    }
  }
  return { diff, moved };
}

test("stock-Tinker loss paths reproduce our losses and updates (folded and custom)", async () => {
  const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-loss-"));
  try {
    for (const [name, spec, want] of specs) {
      assert.equal(lossPath(spec, false), want, name);
      const local = make();
      const lr = await local.forwardBackward(datums, spec);
      await local.optimStep(adam);
      const served = make();
      const { server, url } = await serveTinker({ policy: served, port: 0, stateRoot, baseModel: "batcoder/tiny" });
      try {
        const lines: string[] = [];
        const p = await connectTinkerPolicy(url, {
          useExtensions: false,
          loraRank: 0,
          log: (l) => lines.push(l),
          heartbeatMs: 0,
        });
        const rr = await p.forwardBackward(datums, spec);
        await p.optimStep(adam);
        assert.equal(p.lossPaths[want], 1, name);
        assert.ok(
          lines.some((l) => l.includes(`on the ${want} path`)),
          `${name}: the path taken is logged`,
        );
        assert.ok(
          Math.abs(rr.loss - lr.loss) <= 1e-5 * Math.max(1, Math.abs(lr.loss)),
          `${name}: loss ${rr.loss} vs ${lr.loss}`,
        );
        const { diff, moved } = maxDiff(local, served);
        assert.ok(moved > 1e-4, `${name}: the step moved the weights`);
        assert.ok(diff <= 1e-3 * moved, `${name}: weights differ by ${diff} (step size ${moved})`);
        await p.close();
      } finally {
        await server.close();
      }
    }
  } finally {
    fs.rmSync(stateRoot, { recursive: true, force: true });
  }
});

test("an entropy bonus cannot run on stock Tinker: a clear error", () => {
  assert.throws(
    () =>
      lossPath(
        {
          kind: "ppo",
          clipLow: 0.2,
          clipHigh: 0.2,
          klCoef: 0,
          klEstimator: "k3",
          entropyCoef: 0.01,
          aggregation: "token-mean",
        },
        false,
      ),
    /entropy_coef=0.01.*does not return/,
  );
  assert.equal(
    lossPath(
      {
        kind: "ppo",
        clipLow: 0.2,
        clipHigh: 0.2,
        klCoef: 0,
        klEstimator: "k3",
        entropyCoef: 0.01,
        aggregation: "token-mean",
      },
      true,
    ),
    "exact",
  );
});
