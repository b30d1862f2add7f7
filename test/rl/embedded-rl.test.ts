/**
 * The trainer against the REAL embedded engine (tiny LLaMA, byte tokenizer): a toy reward pushes the policy,
 * and an interrupted + resumed run ends with exactly the weights of the uninterrupted one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { makeDatum, trainRL, type RewardBackend } from "../../src/rl/trainer.js";
import { parseConfig } from "../../src/rl/config.js";
import { readJsonl } from "../../src/core/jsonl.js";
import type { CodeItem } from "../../src/rl/data.js";
import { lowercaseToyReward, TINY_MODEL } from "./helpers.js";

const tok = new ByteTokenizer();
const tiny = TINY_MODEL;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-rle-"));
const items: CodeItem[] = Array.from({ length: 4 }, (_, i) => ({
  id: `f${i}`,
  lang: "python",
  code: `def f${i}(x):\n    return x + ${i}\n`,
}));

/** Toy reward: the fraction of lowercase letters in the reconstruction (shared test fixture). */
const toy: RewardBackend = lowercaseToyReward;

test("embedded policy: RL pushes toward the higher-reward completions", async () => {
  const policy = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 3 });
  const dir = tmp();
  const cfg = parseConfig({
    max_steps: 25,
    rollout_batch_size: 2,
    num_docs_per_code: 4,
    num_codes_per_doc: 4,
    max_doc_tokens: 6,
    max_rebuild_tokens: 8,
    learning_rate: 0.02,
    kl_coef: 0,
    advantage_estimator: "grpo",
    save_steps: 0,
    eval_at_start: false,
    eval_at_end: false,
  });
  await trainRL({ config: cfg, policy, reward: toy, train: items, runDir: dir });
  const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
  const avg = (xs: Record<string, number>[]) => xs.reduce((a, x) => a + x["reward/doc2code/mean"]!, 0) / xs.length;
  const early = avg(m.slice(0, 5)),
    late = avg(m.slice(-5));
  assert.ok(late > early + 0.15, `doc2code reward ${early.toFixed(3)} -> ${late.toFixed(3)}`);
});

test("embedded policy: resume after a kill reproduces the uninterrupted run's weights", async () => {
  const cfg = parseConfig({
    max_steps: 4,
    rollout_batch_size: 2,
    num_docs_per_code: 2,
    num_codes_per_doc: 2,
    max_doc_tokens: 5,
    max_rebuild_tokens: 5,
    learning_rate: 0.01,
    kl_coef: 0.05,
    save_steps: 2,
    eval_at_start: false,
    eval_at_end: false,
    ppo_epochs: 2,
  });
  const a = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 11 });
  await trainRL({ config: cfg, policy: a, reward: toy, train: items, runDir: tmp() });

  const dir = tmp();
  const b1 = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 11 });
  await trainRL({ config: cfg, policy: b1, reward: toy, train: items, runDir: dir, stopAfterSteps: 3 });
  const b2 = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 999 });
  await trainRL({ config: cfg, policy: b2, reward: toy, train: items, runDir: dir, resume: true });
  for (const [name, t] of a.llama.weights) {
    assert.deepEqual(b2.llama.weights.get(name)!.data, t.data, `weights differ: ${name}`);
  }
  assert.equal(b2.step, a.step);
});

test("embedded sampler log-probs equal the training forward's log-probs at the sampling temperature (old_logprobs=sampler is exact)", async () => {
  const policy = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 5 });
  const prompt = [tok.bosId, ...tok.encode("def f(x):")];
  for (const temperature of [1, 0.7]) {
    const [seqs] = await policy.sample([{ prompt, n: 3, params: { maxTokens: 12, temperature, seed: 1 } }]);
    const datums = seqs!.map((s) => makeDatum(prompt, s.tokens, 1));
    const lps = await policy.computeLogprobs(datums, { temperature });
    seqs!.forEach((s, i) => {
      const rec = lps[i]!.slice(prompt.length - 1);
      s.logprobs.forEach((lp, t) =>
        assert.ok(Math.abs(lp - rec[t]!) < 1e-4, `T=${temperature} token ${t}: sampler ${lp} vs forward ${rec[t]}`),
      );
    });
  }
});

test("trainer at temperature 0.6: the first PPO epoch's ratio is 1 and nothing is clipped (sampler and recomputed log-probs)", async () => {
  for (const old_logprobs of ["sampler", "recompute"] as const) {
    const policy = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 4 });
    const dir = tmp();
    const cfg = parseConfig({
      max_steps: 2,
      rollout_batch_size: 2,
      num_docs_per_code: 2,
      num_codes_per_doc: 2,
      max_doc_tokens: 6,
      max_rebuild_tokens: 6,
      temperature: 0.6,
      learning_rate: 0.01,
      kl_coef: 0.05,
      save_steps: 0,
      eval_at_start: false,
      eval_at_end: false,
      old_logprobs,
    });
    await trainRL({ config: cfg, policy, reward: toy, train: items, runDir: dir });
    for (const m of readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"))) {
      assert.ok(Math.abs(m.ratio_mean! - 1) < 1e-3, `${old_logprobs}: ratio_mean ${m.ratio_mean} at step ${m.step}`);
      assert.equal(m.clip_fraction, 0);
      // KL to the reference at step 1 (same weights, same temperature) is zero
      if (m.step === 1) assert.ok(Math.abs(m.kl!) < 1e-4, `${old_logprobs}: kl at step 1 ${m.kl}`);
    }
  }
});
