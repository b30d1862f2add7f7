/**
 * EmbeddedPolicy with a LoRA adapter: saveState / loadState (and loadEmbeddedPolicy) continue a run bit for bit,
 * adapter dropout masks included (the adapter's dropout RNG is part of the state), with the base untouched.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, loadEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import type { AdamParams, Datum } from "../../src/core/policy.js";
import { TINY_MODEL } from "../rl/helpers.js";

const tok = new ByteTokenizer();
const ids = tok.encode("def g(y):\n    return y * 2\n");
const datum: Datum = {
  modelInput: ids.slice(0, -1),
  lossInputs: { targetTokens: ids.slice(1), weights: ids.slice(1).map(() => 1) },
};
const adam: AdamParams = { learningRate: 0.02, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };
const make = () => {
  const p = createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: tok, seed: 4 });
  p.attachLora({ rank: 2, alpha: 4, dropout: 0.3, targetModules: ["q_proj", "v_proj", "down_proj"] }, 9);
  return p;
};
async function steps(p: EmbeddedPolicy, n: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) {
    losses.push((await p.forwardBackward([datum], { kind: "cross_entropy" })).loss);
    await p.optimStep(adam);
  }
  return losses;
}

test("LoRA with dropout: save after k steps, load into a fresh policy, continue = the uninterrupted run, bit for bit", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-emb-lora-"));
  try {
    const a = make();
    const base = new Map([...a.llama.weights].map(([k, t]) => [k, t.data.slice()]));
    const lossA = await steps(a, 4);
    const b = make();
    const lossB = await steps(b, 2);
    await b.saveState(dir);
    assert.ok(fs.existsSync(path.join(dir, "adapter", "adapter_model.safetensors")), "the adapter in the PEFT layout");
    // a fresh process: loadEmbeddedPolicy brings the adapter back attached (rank, dropout, RNG, AdamW moments)
    const c = loadEmbeddedPolicy(dir);
    assert.deepEqual(c.loraConfig, b.loraConfig);
    lossB.push(...(await steps(c, 2)));
    // and loadState into a policy that already trains such an adapter (the trainer's --resume)
    const d = make();
    await d.loadState(dir);
    const lossD = [...lossB.slice(0, 2), ...(await steps(d, 2))];
    assert.deepEqual(lossB, lossA);
    assert.deepEqual(lossD, lossA);
    for (const p of [c, d]) {
      for (const [k, t] of a.llama.lora!.parameters())
        assert.deepEqual(p.llama.lora!.parameters().get(k)!.data, t.data, k);
      for (const [k, w] of base) assert.deepEqual(p.llama.weights.get(k)!.data, w, `base ${k}`);
      assert.equal(p.step, 4);
    }
    // without the saved dropout stream the masks (and so the run) would differ: the RNG state is what makes it exact
    assert.notDeepEqual(a.llama.lora!.dropoutRng.getState(), make().llama.lora!.dropoutRng.getState());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
