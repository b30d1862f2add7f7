import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  trainRL,
  latestTrainerCheckpoint,
  makeDatum,
  overlongPenalty,
  type RewardBackend,
} from "../../src/rl/trainer.js";
import type { RewardJob } from "../../src/similarity/index.js";
import { parseConfig } from "../../src/rl/config.js";
import type { CodeItem } from "../../src/rl/data.js";
import type { SampleRequest } from "../../src/core/policy.js";
import { readJsonl } from "../../src/core/jsonl.js";
import { TestByteTokenizer } from "./helpers.js";
import { BigramPolicy } from "./bigram-policy.js";

const tok = new TestByteTokenizer();
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-rl-"));

const items: CodeItem[] = Array.from({ length: 6 }, (_, i) => ({
  id: `f${i}`,
  lang: "python",
  code: `def f${i}(x):\n    return x * ${i + 2}\n`,
  signature: `def f${i}(x):`,
}));

/**
 * Toy reward: a documentation is invalid when empty and "leaks" when it contains 'return'; the similarity of a
 * reconstruction is the fraction of its characters that are lowercase letters (so the optimum is easy to see).
 */
const toyReward = (): RewardBackend & { jobs: RewardJob<string>[] } => {
  const jobs: RewardJob<string>[] = [];
  return {
    jobs,
    penalties: { formatPenalty: 0.1, leakPenalty: 0.5 },
    checkDoc: (doc) => ({
      valid: doc.length > 0,
      violations: doc.length ? [] : ["empty"],
      leaked: doc.includes("return"),
      leakFraction: doc.includes("return") ? 1 : 0,
      reasons: [],
    }),
    async score(js) {
      jobs.push(...js);
      return js.map((j) => {
        const sim = j.rebuilt.length
          ? [...j.rebuilt].filter((ch) => ch >= "a" && ch <= "z").length / j.rebuilt.length
          : 0;
        return { total: sim, similarity: sim, components: { a_frac: sim, len: j.rebuilt.length } };
      });
    },
  };
};

const baseCfg = (over: Record<string, unknown> = {}) =>
  parseConfig({
    max_steps: 4,
    rollout_batch_size: 2,
    num_docs_per_code: 3,
    num_codes_per_doc: 2,
    max_doc_tokens: 8,
    max_rebuild_tokens: 8,
    learning_rate: 0.05,
    save_steps: 2,
    eval_at_start: false,
    eval_at_end: false,
    kl_coef: 0.05,
    ...over,
  });

test("makeDatum: loss only on completion tokens, arrays aligned with targets", () => {
  const d = makeDatum([1, 3, 7, 6], [40, 41, 2], 0.5);
  assert.deepEqual(d.modelInput, [1, 3, 7, 6, 40, 41]);
  assert.deepEqual(d.lossInputs.targetTokens, [3, 7, 6, 40, 41, 2]);
  assert.deepEqual(d.lossInputs.weights, [0, 0, 0, 0.5, 0.5, 0.5]);
  assert.equal(d.lossInputs.advantages, undefined); // the loop fills these in after the rewards
});

test("overlong penalty ramps linearly over the buffer", () => {
  assert.equal(overlongPenalty(10, 64, 16, 1), 0);
  assert.equal(overlongPenalty(48, 64, 16, 1), 0);
  assert.equal(overlongPenalty(56, 64, 16, 1), -0.5);
  assert.equal(overlongPenalty(64, 64, 16, 2), -2);
  assert.equal(overlongPenalty(64, 64, 0, 1), 0);
});

test("loop: rollouts in both directions, doc→code prompts carry nothing of the code, files written", async () => {
  const dir = tmp();
  const policy = new BigramPolicy(tok, 3);
  const reqs: SampleRequest[] = [];
  const orig = policy.sample.bind(policy);
  policy.sample = async (r) => {
    reqs.push(...r);
    return orig(r);
  };
  const reward = toyReward();
  // temperature high so some docs are empty (invalid) / we still get every path
  const cfg = baseCfg({ max_steps: 3, save_steps: 3, log_samples_per_step: 1 });
  const res = await trainRL({ config: cfg, policy, reward, train: items, runDir: dir });
  assert.equal(res.finished, true);
  const code2doc = tok.tokenId("<|code2doc|>")!,
    doc2code = tok.tokenId("<|doc2code|>")!;
  const docReqs = reqs.filter((r) => r.prompt[1] === code2doc);
  const codeReqs = reqs.filter((r) => r.prompt[1] === doc2code);
  assert.equal(docReqs.length, 3 * 2);
  assert.ok(docReqs.every((r) => r.n === 3));
  assert.ok(codeReqs.every((r) => r.n === 2));
  for (const r of codeReqs) {
    const text = tok.decode(r.prompt);
    for (const it of items) {
      assert.ok(!text.includes(it.code.trim()), "doc→code prompt contains the code");
      assert.ok(!text.includes(`return x * ${items.indexOf(it) + 2}`), "doc→code prompt contains a code line");
      assert.ok(!text.includes(it.signature!), "signature leaked without signature_hint");
    }
  }
  // Only kept docs (valid, not leaking) got reconstructions: every scored job's doc is valid and leak-free.
  assert.ok(reward.jobs.every((j) => j.doc.length > 0 && !j.doc.includes("return")));
  assert.equal(reward.jobs.length, codeReqs.length * 2);
  const metrics = readJsonl(path.join(dir, "metrics.jsonl"));
  assert.deepEqual(
    metrics.map((m) => m.step),
    [1, 2, 3],
  );
  for (const k of [
    "reward/code2doc/mean",
    "reward/doc2code/mean",
    "doc/format_valid_rate",
    "doc/leak_rate",
    "kl",
    "entropy",
    "clip_fraction",
    "len/doc_mean",
    "tokens_per_s",
    "time/sampling_s",
    "time/reward_s",
    "time/update_s",
    "reward/component/a_frac",
  ]) {
    assert.ok(k in metrics[0]!, `metric ${k} missing`);
  }
  assert.ok(fs.existsSync(path.join(dir, "config.resolved.json")));
  assert.ok(fs.existsSync(path.join(dir, "summary.json")));
  assert.ok(fs.existsSync(path.join(dir, "checkpoints", "step-00000003", "policy", "bigram.json")));
  assert.equal(readJsonl(path.join(dir, "samples.jsonl")).length, 3);
});

test("loop: signature hint appears in doc→code prompts only when configured", async () => {
  const policy = new BigramPolicy(tok, 3);
  const reqs: SampleRequest[] = [];
  const orig = policy.sample.bind(policy);
  policy.sample = async (r) => (reqs.push(...r), orig(r));
  await trainRL({
    config: baseCfg({ max_steps: 1, signature_hint: true, kl_coef: 0 }),
    policy,
    reward: toyReward(),
    train: items,
    runDir: tmp(),
  });
  const codeReqs = reqs.filter((r) => r.prompt[1] === tok.tokenId("<|doc2code|>"));
  assert.ok(codeReqs.length > 0);
  for (const r of codeReqs) assert.match(tok.decode(r.prompt), /<\|code\|>def f\d\(x\):$/);
});

test("loop: the policy is pushed toward higher reward (both directions)", async () => {
  const policy = new BigramPolicy(tok, 5);
  const dir = tmp();
  const cfg = baseCfg({
    max_steps: 40,
    rollout_batch_size: 3,
    num_docs_per_code: 4,
    num_codes_per_doc: 4,
    learning_rate: 0.3,
    save_steps: 0,
    kl_coef: 0,
    advantage_estimator: "grpo",
  });
  await trainRL({ config: cfg, policy, reward: toyReward(), train: items, runDir: dir });
  const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
  const avg = (xs: Record<string, number>[], k: string) => xs.reduce((a, x) => a + x[k]!, 0) / xs.length;
  const early = m.slice(0, 5),
    late = m.slice(-5);
  assert.ok(
    avg(late, "reward/doc2code/mean") > avg(early, "reward/doc2code/mean") + 0.2,
    `doc2code ${avg(early, "reward/doc2code/mean")} -> ${avg(late, "reward/doc2code/mean")}`,
  );
  assert.ok(
    avg(late, "reward/code2doc/mean") > avg(early, "reward/code2doc/mean") + 0.1,
    `code2doc ${avg(early, "reward/code2doc/mean")} -> ${avg(late, "reward/code2doc/mean")}`,
  );
});

test("resume: run 4 steps == run 2, 'kill', resume to 4 (same weights, same metrics)", async () => {
  const cfg = baseCfg({ max_steps: 4, save_steps: 2, ppo_epochs: 2, num_mini_batches: 2 });
  const a = new BigramPolicy(tok, 9);
  const dirA = tmp();
  await trainRL({ config: cfg, policy: a, reward: toyReward(), train: items, runDir: dirA });

  const dirB = tmp();
  const b1 = new BigramPolicy(tok, 9);
  const part = await trainRL({
    config: cfg,
    policy: b1,
    reward: toyReward(),
    train: items,
    runDir: dirB,
    stopAfterSteps: 3,
  });
  assert.equal(part.finished, false);
  assert.equal(readJsonl(path.join(dirB, "metrics.jsonl")).length, 3); // step 3 ran but was not checkpointed
  const b2 = new BigramPolicy(tok, 1234); // a fresh process: different init, everything comes from the checkpoint
  const res = await trainRL({ config: cfg, policy: b2, reward: toyReward(), train: items, runDir: dirB, resume: true });
  assert.equal(res.finished, true);
  assert.deepEqual([...b2.W], [...a.W]);
  const strip = (rows: Record<string, unknown>[]) =>
    rows.map((r) =>
      Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("time/") && k !== "tokens_per_s")),
    );
  assert.deepEqual(
    strip(readJsonl(path.join(dirB, "metrics.jsonl"))),
    strip(readJsonl(path.join(dirA, "metrics.jsonl"))),
  );
  assert.deepEqual(readJsonl(path.join(dirB, "samples.jsonl")), readJsonl(path.join(dirA, "samples.jsonl")));
});

test("checkpoints are atomic: a half-written checkpoint directory is ignored on resume", async () => {
  const cfg = baseCfg({ max_steps: 2, save_steps: 1, kl_coef: 0 });
  const dir = tmp();
  await trainRL({
    config: cfg,
    policy: new BigramPolicy(tok, 2),
    reward: toyReward(),
    train: items,
    runDir: dir,
    stopAfterSteps: 1,
  });
  // simulate a kill in the middle of writing step 2's checkpoint
  fs.mkdirSync(path.join(dir, "checkpoints", ".tmp-step-00000002", "policy"), { recursive: true });
  assert.equal(latestTrainerCheckpoint(dir)!.step, 1);
  const p = new BigramPolicy(tok, 77);
  const res = await trainRL({ config: cfg, policy: p, reward: toyReward(), train: items, runDir: dir, resume: true });
  assert.equal(res.state.step, 2);
  assert.deepEqual(
    readJsonl(path.join(dir, "metrics.jsonl")).map((m) => m.step),
    [1, 2],
  );
});

test("reject_invalid_docs=false: invalid documentation is still reconstructed (and penalised by the reward)", async () => {
  const reward = toyReward();
  const policy = new BigramPolicy(tok, 3);
  // every documentation of length < 3 is "invalid" here
  const strict: RewardBackend = {
    ...reward,
    checkDoc: (doc) => ({
      valid: doc.length >= 3 && !doc.includes("return"),
      violations: [],
      leaked: false,
      leakFraction: 0,
      reasons: [],
    }),
  };
  const dir = tmp();
  await trainRL({
    config: baseCfg({ max_steps: 2, reject_invalid_docs: false, kl_coef: 0, max_doc_tokens: 2 }),
    policy,
    reward: strict,
    train: items,
    runDir: dir,
  });
  // with max_doc_tokens 2 every doc is invalid, yet reconstructions were sampled and scored
  const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
  assert.equal(m[0]!["doc/format_valid_rate"], 0);
  assert.equal(m[0]!["doc/kept_rate"], 1);
  assert.ok(reward.jobs.length > 0);
  const dir2 = tmp();
  const r2 = toyReward();
  await trainRL({
    config: baseCfg({ max_steps: 1, kl_coef: 0, max_doc_tokens: 2 }),
    policy: new BigramPolicy(tok, 3),
    reward: { ...r2, checkDoc: strict.checkDoc },
    train: items,
    runDir: dir2,
  });
  assert.equal(r2.jobs.length, 0);
  // every documentation rejected by the format check: its reward is minus the reward backend's formatPenalty
  assert.ok(
    Math.abs(readJsonl<Record<string, number>>(path.join(dir2, "metrics.jsonl"))[0]!["reward/code2doc/mean"]! - -0.1) <
      1e-12,
  );
  // and the one knob set moves it
  const dir3 = tmp();
  const r3 = toyReward();
  await trainRL({
    config: baseCfg({ max_steps: 1, kl_coef: 0, max_doc_tokens: 2 }),
    policy: new BigramPolicy(tok, 3),
    reward: { ...r3, penalties: { formatPenalty: 0.3, leakPenalty: 0.5 }, checkDoc: strict.checkDoc },
    train: items,
    runDir: dir3,
  });
  assert.ok(
    Math.abs(readJsonl<Record<string, number>>(path.join(dir3, "metrics.jsonl"))[0]!["reward/code2doc/mean"]! - -0.3) <
      1e-12,
  );
});

test("reward failures: reward/errors is the share of jobs that failed; past max_reward_error_rate the run fails loudly", async () => {
  // every 4th job fails in an expected way (25%)
  const failing = (): RewardBackend => {
    const base = toyReward();
    let n = 0;
    return {
      ...base,
      async score(js) {
        const out = await base.score(js);
        return out.map((s) =>
          n++ % 4 === 0
            ? { total: 0, similarity: 0, code: 0, error: "unusable original", components: { error: 1 } }
            : s,
        );
      },
    };
  };
  const dir = tmp();
  await trainRL({
    config: baseCfg({ max_steps: 2, save_steps: 0, max_reward_error_rate: 0.5 }),
    policy: new BigramPolicy(tok, 2),
    reward: failing(),
    train: items,
    runDir: dir,
  });
  const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
  for (const x of m)
    assert.ok(x["reward/errors"]! > 0.15 && x["reward/errors"]! < 0.35, `reward/errors ${x["reward/errors"]}`);
  await assert.rejects(
    trainRL({
      config: baseCfg({ max_steps: 2, save_steps: 0 }),
      policy: new BigramPolicy(tok, 2),
      reward: failing(),
      train: items,
      runDir: tmp(),
    }),
    /reward jobs failed .*max_reward_error_rate 0.2.*unusable original/,
  );
});

test("the code direction's reward is the backend's `code` (syntax penalty as configured), not the raw similarity", async () => {
  const penalised = (): RewardBackend => {
    const base = toyReward();
    return {
      ...base,
      async score(js) {
        return (await base.score(js)).map((s) => ({ ...s, code: s.similarity - 0.25 }));
      },
    };
  };
  const dir = tmp();
  await trainRL({
    config: baseCfg({ max_steps: 1, save_steps: 0, kl_coef: 0 }),
    policy: new BigramPolicy(tok, 2),
    reward: penalised(),
    train: items,
    runDir: dir,
  });
  const [m] = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
  assert.ok(Math.abs(m!["reward/doc2code/mean"]! - (m!["reward/doc2code/similarity"]! - 0.25)) < 1e-9);
});

test("per-direction loss normalisation: hand values", async () => {
  const { directionScales, reweightByDirection } = await import("../../src/rl/trainer.js");
  // 2 documentation sequences of 3 tokens, 2 reconstructions of 9 tokens: token-mean counts 6 vs 18 of 24
  const s = directionScales(["code2doc", "code2doc", "doc2code", "doc2code"], [3, 3, 9, 9]);
  assert.equal(s.code2doc, 24 / (2 * 6));
  assert.equal(s.doc2code, 24 / (2 * 18));
  // one direction alone: unchanged
  assert.deepEqual(directionScales(["doc2code"], [5]), { code2doc: 1, doc2code: 1 });
  // token-mean over the reweighted datums = (mean over doc tokens + mean over code tokens) / 2
  const mk = (n: number, w = 1) =>
    makeDatum(
      [1, 2],
      Array.from({ length: n }, (_, i) => 3 + i),
      w,
    );
  const mb = [mk(3), mk(3), mk(9), mk(9)];
  const rw = reweightByDirection(mb, ["code2doc", "code2doc", "doc2code", "doc2code"], "token-mean");
  const loss = [1, 1, 4, 4]; // a per-token loss of 1 on documentation tokens, 4 on code tokens
  let num = 0,
    den = 0;
  rw.forEach((d, i) =>
    d.lossInputs.weights.forEach((w) => {
      if (w > 0) {
        num += w * loss[i]!;
        den++;
      }
    }),
  );
  assert.ok(Math.abs(num / den - (1 + 4) / 2) < 1e-12, `${num / den}`);
  // without it: (6*1 + 18*4) / 24 = 3.25, the code direction dominates
  assert.ok(Math.abs(num / den - 3.25) > 0.5);
  // seq-mean-token-mean counts sequences: 1 doc vs 3 code sequences
  const s2 = reweightByDirection(
    [mk(3), mk(9), mk(9), mk(9)],
    ["code2doc", "doc2code", "doc2code", "doc2code"],
    "seq-mean-token-mean",
  );
  assert.ok(Math.abs(s2[0]!.lossInputs.weights.at(-1)! - 4 / 2) < 1e-12);
  assert.ok(Math.abs(s2[1]!.lossInputs.weights.at(-1)! - 4 / 6) < 1e-12);
  // direction weights still act on top
  assert.equal(
    reweightByDirection([mk(3, 0.5), mk(3)], ["code2doc", "doc2code"], "token-mean")[0]!.lossInputs.weights.at(-1),
    0.5,
  );
});
