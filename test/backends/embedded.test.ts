// EmbeddedPolicy: the Policy contract on the in-process engine — sampling, log-probs, training, save/load, resume.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, loadEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import type { AdamParams, Datum } from "../../src/core/policy.js";

const tok = new ByteTokenizer();
const config = {
  hidden_size: 48,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 96,
};
const adam: AdamParams = { learningRate: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-embedded-"));

function datum(prompt: string, completion: string): Datum {
  const p = [tok.bosId, ...tok.encode(prompt)],
    c = [...tok.encode(completion), tok.eosId];
  const all = [...p, ...c];
  return {
    modelInput: all.slice(0, -1),
    lossInputs: { targetTokens: all.slice(1), weights: all.slice(1).map((_, i) => (i + 1 >= p.length ? 1 : 0)) },
  };
}
const data = [datum("sum: ", "def f(a, b): return a + b"), datum("neg: ", "lambda x: -x"), datum("hi", "print('hi')")];

async function trainSteps(p: EmbeddedPolicy, n: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) {
    // sampling without a seed consumes the policy RNG, so resume must restore it
    const s = await p.sample([{ prompt: [tok.bosId], n: 1, params: { maxTokens: 3, temperature: 1 } }]);
    const extra = datum("", tok.decode(s[0]![0]!.tokens.filter((t) => t !== tok.eosId)) || "x");
    const r = await p.forwardBackward([...data, extra], { kind: "cross_entropy" });
    await p.optimStep(adam);
    losses.push(r.loss);
  }
  return losses;
}

test("forwardBackward + optimStep lower the loss; logprobs agree with computeLogprobs", async () => {
  const p = createEmbeddedPolicy({ config, tokenizer: tok, seed: 1 });
  assert.equal(p.info.backend, "embedded");
  assert.ok(p.info.nParams! > 10000);
  const before = await p.computeLogprobs(data);
  const r = await p.forwardBackward(data, { kind: "cross_entropy" });
  assert.equal(r.logprobs.length, 3);
  for (let i = 0; i < 3; i++)
    for (let t = 0; t < before[i]!.length; t++) assert.ok(Math.abs(before[i]![t]! - r.logprobs[i]![t]!) < 1e-5);
  const st = await p.optimStep(adam);
  assert.equal(st.step, 1);
  assert.ok(st.gradNorm > 0);
  const losses = await trainSteps(p, 30);
  assert.ok(
    losses[losses.length - 1]! < losses[0]! * 0.7,
    `loss did not drop: ${losses[0]} -> ${losses[losses.length - 1]}`,
  );
});

test("micro-batching (small chunk budget) gives the same loss and gradients as one batch", async () => {
  const a = createEmbeddedPolicy({ config, tokenizer: tok, seed: 5 });
  const b = createEmbeddedPolicy({ config, tokenizer: tok, seed: 5, maxChunkTokens: 20 });
  const ra = await a.forwardBackward(data, { kind: "cross_entropy" });
  const rb = await b.forwardBackward(data, { kind: "cross_entropy" });
  assert.ok(rb.metrics.microbatches! > 1);
  assert.ok(Math.abs(ra.loss - rb.loss) < 1e-5);
  const sa = await a.optimStep(adam),
    sb = await b.optimStep(adam);
  assert.ok(Math.abs(sa.gradNorm - sb.gradNorm) < 1e-4 * sa.gradNorm);
});

test("sample: seeds, greedy, stop strings, stop ids, max tokens, n, temperature-1 logprobs", async () => {
  const p = createEmbeddedPolicy({ config, tokenizer: tok, seed: 2 });
  await trainSteps(p, 5);
  const prompt = [tok.bosId, ...tok.encode("sum: ")];
  const params = { maxTokens: 12, temperature: 1, seed: 42 };
  const [a] = await p.sample([{ prompt, n: 3, params }]);
  const [b] = await p.sample([{ prompt, n: 3, params }]);
  assert.deepEqual(a, b, "same seed -> same samples");
  // seeded results do not depend on what else is in the batch
  const [, c] = await p.sample([
    { prompt: [tok.bosId], n: 2, params: { maxTokens: 5, temperature: 1 } },
    { prompt, n: 3, params },
  ]);
  assert.deepEqual(c, a);
  assert.equal(a!.length, 3);
  for (const s of a!) {
    assert.equal(s.tokens.length, s.logprobs.length);
    assert.ok(s.tokens.length <= 12);
    if (s.finishReason === "length") assert.equal(s.tokens.length, 12);
  }
  // at temperature 1 the sampled logprobs are the model's log-probs: they match computeLogprobs on prompt+completion
  const s0 = a![0]!;
  const full = [...prompt, ...s0.tokens];
  const lp = await p.computeLogprobs([
    { modelInput: full.slice(0, -1), lossInputs: { targetTokens: full.slice(1), weights: full.slice(1).map(() => 1) } },
  ]);
  for (let t = 0; t < s0.tokens.length; t++)
    assert.ok(Math.abs(lp[0]![prompt.length - 1 + t]! - s0.logprobs[t]!) < 1e-3);
  // greedy == topK 1, and greedy is deterministic without a seed
  const [g1] = await p.sample([{ prompt, n: 2, params: { maxTokens: 10, temperature: 0 } }]);
  const [g2] = await p.sample([{ prompt, n: 1, params: { maxTokens: 10, temperature: 0.8, topK: 1 } }]);
  assert.deepEqual(g1![0]!.tokens, g1![1]!.tokens);
  assert.deepEqual(g2![0]!.tokens, g1![0]!.tokens);
  // top-p tiny -> greedy too
  const [g3] = await p.sample([{ prompt, n: 1, params: { maxTokens: 10, temperature: 1, topP: 1e-6 } }]);
  assert.deepEqual(g3![0]!.tokens, g1![0]!.tokens);
  // stop token id: use the first greedy token -> finishes immediately with reason stop and empty text
  const first = g1![0]!.tokens[0]!;
  const [st] = await p.sample([{ prompt, n: 1, params: { maxTokens: 10, temperature: 0, stopTokenIds: [first] } }]);
  assert.deepEqual(st![0]!.tokens, [first]);
  assert.equal(st![0]!.finishReason, "stop");
  assert.equal(st![0]!.text, "");
  // stop string: the greedy text's 3rd character
  const gtext = g1![0]!.text;
  if (gtext.length >= 3) {
    const stop = gtext.slice(2, 3);
    const [ss] = await p.sample([{ prompt, n: 1, params: { maxTokens: 10, temperature: 0, stop: [stop] } }]);
    assert.equal(ss![0]!.finishReason, "stop");
    assert.equal(ss![0]!.text, gtext.slice(0, gtext.indexOf(stop)));
    assert.ok(!ss![0]!.text.includes(stop));
  }
  const [z] = await p.sample([{ prompt, n: 1, params: { maxTokens: 0, temperature: 1 } }]);
  assert.deepEqual(z![0], { tokens: [], logprobs: [], text: "", finishReason: "length" });
});

test("sample and training reject bad input clearly", async () => {
  const p = createEmbeddedPolicy({ config, tokenizer: tok, seed: 2 });
  await assert.rejects(
    p.sample([{ prompt: [], n: 1, params: { maxTokens: 5, temperature: 1 } }]),
    /prompt must be a non-empty/,
  );
  await assert.rejects(p.sample([{ prompt: [1], n: 1, params: { maxTokens: 5, temperature: -1 } }]), /temperature/);
  await assert.rejects(p.sample([{ prompt: [1], n: 1, params: { maxTokens: 5, temperature: 1, topP: 2 } }]), /topP/);
  await assert.rejects(
    p.sample([{ prompt: new Array(96).fill(5), n: 1, params: { maxTokens: 5, temperature: 1 } }]),
    /context length/,
  );
  await assert.rejects(
    p.forwardBackward([{ modelInput: [1, 9999], lossInputs: { targetTokens: [1, 2], weights: [1, 1] } }], {
      kind: "cross_entropy",
    }),
    /out of range/,
  );
  await assert.rejects(p.optimStep({ ...adam, learningRate: NaN }), /learningRate/);
  assert.throws(() => createEmbeddedPolicy({ preset: "nope" as never, tokenizer: tok }), /unknown model preset 'nope'/);
});

test("save -> load gives identical logits; resume continues bit-for-bit", async () => {
  const dir = tmp();
  try {
    const a = createEmbeddedPolicy({ config, tokenizer: tok, seed: 3 });
    await trainSteps(a, 3);
    const ck = path.join(dir, "ck");
    await a.saveState(ck);
    const b = loadEmbeddedPolicy(ck);
    assert.equal(b.step, 3);
    const x = data[0]!.modelInput;
    assert.deepEqual(b.llama.forwardLogits(x), a.llama.forwardLogits(x));
    // continue both for 3 more steps: everything (weights, losses, samples) identical
    const la = await trainSteps(a, 3),
      lb = await trainSteps(b, 3);
    assert.deepEqual(lb, la);
    for (const [name, t] of a.llama.weights) assert.deepEqual(b.llama.weights.get(name)!.data, t.data, name);
    assert.deepEqual(b.rngState, a.rngState);
    // loadState into an existing policy also restores
    const c = createEmbeddedPolicy({ config, tokenizer: tok, seed: 99 });
    await c.loadState(ck);
    const lc = await trainSteps(c, 3);
    assert.deepEqual(lc, la);
    // a damaged checkpoint is reported, not half-loaded
    fs.truncateSync(path.join(ck, "model.safetensors"), 100);
    assert.throws(() => loadEmbeddedPolicy(ck), /damaged/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("snapshotReference is frozen while the policy trains", async () => {
  const p = createEmbeddedPolicy({ config, tokenizer: tok, seed: 4 });
  const ref = await p.snapshotReference();
  const before = await ref.computeLogprobs(data);
  await trainSteps(p, 3);
  const after = await ref.computeLogprobs(data);
  const now = await p.computeLogprobs(data);
  assert.deepEqual(after, before);
  assert.notDeepEqual(now, before);
  const s = await ref.sample([{ prompt: [tok.bosId], n: 1, params: { maxTokens: 4, temperature: 0 } }]);
  assert.equal(s[0]!.length, 1);
});

test("the pure-TS fallback kernels run the same policy to the same results", async () => {
  const { tsKernels, nativeKernels } = await import("../../src/engine/kernels.js");
  const nk = nativeKernels();
  const a = createEmbeddedPolicy({ config, tokenizer: tok, seed: 6, kernels: tsKernels });
  const ra = await a.forwardBackward(data, { kind: "cross_entropy" });
  const sa = await a.optimStep(adam);
  const ga = await a.sample([
    { prompt: [tok.bosId, ...tok.encode("sum: ")], n: 1, params: { maxTokens: 8, temperature: 0 } },
  ]);
  assert.ok(Number.isFinite(ra.loss) && sa.gradNorm > 0);
  assert.equal(ga[0]![0]!.tokens.length, ga[0]![0]!.logprobs.length);
  if (!nk) return;
  const b = createEmbeddedPolicy({ config, tokenizer: tok, seed: 6, kernels: nk });
  const rb = await b.forwardBackward(data, { kind: "cross_entropy" });
  const sb = await b.optimStep(adam);
  assert.ok(Math.abs(ra.loss - rb.loss) < 1e-4);
  assert.ok(Math.abs(sa.gradNorm - sb.gradNorm) < 1e-3 * sa.gradNorm);
  const la = await a.computeLogprobs(data),
    lb = await b.computeLogprobs(data);
  for (let i = 0; i < la.length; i++)
    for (let t = 0; t < la[i]!.length; t++) assert.ok(Math.abs(la[i]![t]! - lb[i]![t]!) < 1e-3);
});

test("a LoRA policy checkpoints its adapter and the adapter's AdamW state; loadState restores them (base untouched)", async () => {
  const { LoraAdapter } = await import("../../src/engine/lora.js");
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const p = createEmbeddedPolicy({ config, tokenizer: tok, seed: 3 });
  p.llama.lora = LoraAdapter.init(p.llama.config, { rank: 2, alpha: 4 }, 1);
  const base = new Map([...p.llama.weights].map(([k, t]) => [k, t.data.slice()]));
  await p.forwardBackward(data, { kind: "cross_entropy" });
  await p.optimStep(adam);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lora-ck-"));
  try {
    await p.saveState(path.join(dir, "ck"));
    assert.ok(fs.existsSync(path.join(dir, "ck", "adapter", "adapter_model.safetensors")));
    const saved = new Map([...p.llama.lora.parameters()].map(([k, t]) => [k, t.data.slice()]));
    const want = await p.computeLogprobs(data);
    await p.forwardBackward(data, { kind: "cross_entropy" });
    await p.optimStep(adam);
    await p.loadState(path.join(dir, "ck"));
    for (const [k, t] of p.llama.lora.parameters()) assert.deepEqual(t.data, saved.get(k), k);
    for (const [k, t] of p.llama.weights) assert.deepEqual(t.data, base.get(k), `${k}: the base stays frozen`);
    assert.deepEqual(await p.computeLogprobs(data), want);
    // the same next step from the restored state as from a fresh continuation of the saved one
    await p.forwardBackward(data, { kind: "cross_entropy" });
    assert.equal((await p.optimStep(adam)).step, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Log-probs at the sampling temperature (TRL / verl): the sampler, computeLogprobs and the PPO loss all use
// log softmax(logits / T). Fails if any of them used temperature-1 log-probs while sampling at T = 0.6.
test("temperature: sampled log-probs at T=0.6 equal recomputed ones; PPO ratio is 1 at the first epoch; exact gradient", async () => {
  const p = createEmbeddedPolicy({ config, tokenizer: tok, seed: 3 });
  await trainSteps(p, 3);
  const T = 0.6;
  const prompt = [tok.bosId, ...tok.encode("sum: ")];
  const [seqs] = await p.sample([{ prompt, n: 3, params: { maxTokens: 10, temperature: T, seed: 9 } }]);
  const datums: Datum[] = seqs!.map((s) => {
    const full = [...prompt, ...s.tokens];
    const n = full.length - 1;
    const start = prompt.length - 1;
    const pad = (xs: number[]) => [...new Array<number>(start).fill(0), ...xs];
    return {
      modelInput: full.slice(0, n),
      lossInputs: {
        targetTokens: full.slice(1),
        weights: Array.from({ length: n }, (_, t) => (t >= start ? 1 : 0)),
        advantages: pad(s.tokens.map((_, t) => (t % 2 ? 1 : -0.5))),
        samplingLogprobs: pad(s.logprobs),
      },
    };
  });
  const atT = await p.computeLogprobs(datums, { temperature: T });
  const at1 = await p.computeLogprobs(datums);
  let maxDiffT = 0,
    maxDiff1 = 0;
  seqs!.forEach((s, i) =>
    s.logprobs.forEach((lp, t) => {
      maxDiffT = Math.max(maxDiffT, Math.abs(atT[i]![prompt.length - 1 + t]! - lp));
      maxDiff1 = Math.max(maxDiff1, Math.abs(at1[i]![prompt.length - 1 + t]! - lp));
    }),
  );
  assert.ok(maxDiffT < 1e-3, `sampled vs recomputed at T: ${maxDiffT}`);
  assert.ok(maxDiff1 > 1e-2, `temperature-1 log-probs should differ from the T=0.6 ones (max diff ${maxDiff1})`);
  const spec = {
    kind: "ppo" as const,
    clipLow: 0.2,
    clipHigh: 0.2,
    klCoef: 0,
    klEstimator: "k1" as const,
    entropyCoef: 0,
    aggregation: "token-mean" as const,
    temperature: T,
  };
  const fb = await p.forwardBackward(datums, spec);
  assert.ok(Math.abs(fb.metrics.ratio_mean! - 1) < 1e-3, `ratio_mean at the first epoch: ${fb.metrics.ratio_mean}`);
  assert.equal(fb.metrics.clip_fraction, 0);
  p.zeroGrad();
  const wrong = await p.forwardBackward(datums, { ...spec, temperature: 1 });
  assert.ok(Math.abs(wrong.metrics.ratio_mean! - 1) > 1e-2, "a temperature-1 loss on T=0.6 samples has ratio != 1");
  p.zeroGrad();
  // the gradient of the tempered loss matches finite differences (the 1/T of the backward pass)
  const isSpec = { kind: "importance_sampling" as const, aggregation: "token-mean" as const, temperature: T };
  await p.forwardBackward(datums, isSpec);
  const grads = (p as unknown as { grads: Map<string, Float32Array> }).grads;
  for (const name of [p.llama.lmHeadName, [...p.llama.weights.keys()].find((k) => k.includes("mlp"))!]) {
    const w = p.llama.weights.get(name)!.data;
    const g = grads.get(name)!;
    let j = 0;
    for (let k = 0; k < g.length; k++) if (Math.abs(g[k]!) > Math.abs(g[j]!)) j = k;
    const eps = 1e-2,
      w0 = w[j]!,
      gj = g[j]!;
    const lossAt = async (v: number) => {
      w[j] = v;
      const r = await p.forwardBackward(datums, isSpec);
      p.zeroGrad();
      return r.loss;
    };
    const fd = ((await lossAt(w0 + eps)) - (await lossAt(w0 - eps))) / (2 * eps);
    w[j] = w0;
    assert.ok(Math.abs(gj) > 1e-4, `${name}: no gradient`);
    assert.ok(
      Math.abs(fd - gj) < 0.05 * Math.abs(gj) + 1e-4,
      `${name}[${j}]: analytic ${gj} vs finite difference ${fd}`,
    );
    await p.forwardBackward(datums, isSpec); // the next weight's gradient
  }
});
