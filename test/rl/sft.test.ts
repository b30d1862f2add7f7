import { test } from "node:test";
import assert from "node:assert/strict";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { lrAt } from "../../src/core/schedule.js";
import { crossEntropyLoop, evalLoss, lmDatums, sftDatums } from "../../src/rl/sft.js";

const tok = new ByteTokenizer();
const pairs = [
  { id: "a", lang: "python", code: "def inc(x):\n    return x + 1\n", doc: "Add one to x.", signature: "def inc(x):" },
  { id: "b", lang: "go", code: "func Neg(x int) int { return -x }", doc: "Negate x." },
];

test("sft datums: both directions, loss only on the answer, over-long pairs dropped", () => {
  const ds = sftDatums(tok, pairs, 512);
  assert.equal(ds.length, 4);
  const d0 = ds[0]!;
  const answer = d0.lossInputs.targetTokens.filter((_, t) => d0.lossInputs.weights[t]! > 0);
  assert.equal(tok.decode(answer), "Add one to x.<|eos|>");
  const d1 = ds[1]!;
  assert.equal(
    tok.decode(d1.lossInputs.targetTokens.filter((_, t) => d1.lossInputs.weights[t]! > 0)),
    pairs[0]!.code + "<|eos|>",
  );
  assert.equal(sftDatums(tok, pairs, 20).length, 0);
  assert.equal(sftDatums(tok, pairs, 512, { directions: ["doc2code"] }).length, 2);
});

test("lm datums: windows of at most ctx tokens, every token a target", () => {
  const ds = lmDatums(tok, ["abcdefghij"], 4); // 12 ids -> windows of 5 ids starting at 0, 4, 8
  assert.deepEqual(
    ds.map((d) => d.modelInput.length),
    [4, 4, 3],
  );
  assert.equal(ds[0]!.modelInput[0], tok.bosId);
  assert.equal(ds.at(-1)!.lossInputs.targetTokens.at(-1), tok.eosId);
});

test("the one LR schedule: warmup then cosine decay to the floor; a floor of 1 stays at the peak (RL)", () => {
  const o = { peakLr: 1, warmupSteps: 2, minLrRatio: 0.1, totalSteps: 12 };
  assert.equal(lrAt(0, o), 0.5);
  assert.equal(lrAt(1, o), 1);
  assert.equal(lrAt(2, o), 1);
  assert.ok(Math.abs(lrAt(7, o) - 0.55) < 1e-12); // halfway: 0.1 + 0.9 * 0.5
  assert.ok(Math.abs(lrAt(12, o) - 0.1) < 1e-12);
  const flat = { ...o, minLrRatio: 1 };
  assert.equal(lrAt(0, flat), 0.5);
  for (const s of [2, 7, 12, 40]) assert.equal(lrAt(s, flat), 1);
});

test("SFT on a real tiny model lowers the loss of both directions", async () => {
  const policy = createEmbeddedPolicy({
    config: {
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 2,
      max_position_embeddings: 128,
    },
    tokenizer: tok,
    seed: 1,
  });
  const ds = sftDatums(tok, pairs, 128);
  const before = await evalLoss(policy, ds);
  const losses = await crossEntropyLoop(policy, ds, {
    steps: 40,
    batchTokens: 400,
    learningRate: 1e-2,
    warmupSteps: 2,
    minLrRatio: 0.1,
    weightDecay: 0,
    maxGradNorm: 1,
    seed: 1,
  });
  const after = await evalLoss(policy, ds);
  assert.equal(losses.length, 40);
  assert.ok(after < before * 0.6, `loss ${before} -> ${after}`);
});
