/**
 * configs/paper-7b.json: the recipe block validates, the cost estimate follows from the config, `batcoder recipe`
 * prints it with the exact (not-run) commands, and the dry run drives the whole orchestration over the Tinker
 * protocol with the recipe's batch shapes on a tiny local model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dryRun, estimateCost, loadRecipe } from "../../src/orchestration/recipe.js";
import { resolveCli } from "../../src/orchestration/config.js";
import { parseConfig } from "../../src/rl/config.js";
import { readJsonl } from "../../src/core/jsonl.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const file = path.join(root, "configs", "paper-7b.json");

test("paper-7b recipe: public facts, the RL config it carries, and `rl --config` accepts the file", () => {
  const { recipe, rl } = loadRecipe(file);
  assert.deepEqual(recipe.expected, { "humaneval_pass@1": 83.5, "mbpp_pass@1": 81.0 });
  assert.match(recipe.source, /2602\.02554/);
  assert.equal(rl.advantage_estimator, "reinforce_pp");
  assert.ok(recipe.params_b >= 6 && recipe.params_b <= 8);
  const { rl: viaCli } = resolveCli({ config: file });
  assert.equal(viaCli.rollout_batch_size, rl.rollout_batch_size);
});

test("cost estimate: tokens and GPU-hours derive from the config", () => {
  const { recipe } = loadRecipe(file);
  const rl = parseConfig({
    max_steps: 10,
    rollout_batch_size: 2,
    num_docs_per_code: 3,
    num_codes_per_doc: 2,
    max_doc_tokens: 100,
    max_rebuild_tokens: 200,
    kl_coef: 0,
    ppo_epochs: 2,
  });
  const c = {
    ...recipe,
    params_b: 1,
    cost: {
      ...recipe.cost,
      fill: 0.5,
      code2doc_prompt_tokens: 10,
      doc2code_prompt_tokens: 20,
      peak_tflops: 100,
      train_mfu: 0.5,
      sample_mfu: 0.25,
      usd_per_gpu_hour: 2,
    },
  };
  const e = estimateCost(rl, c);
  // 6 docs of 50 tokens, 12 rebuilds of 100; prompts 6*10 + 12*(20 + 50)
  assert.equal(e.step.code2doc_sequences, 6);
  assert.equal(e.step.doc2code_sequences, 12);
  assert.equal(e.step.generated_tokens, 6 * 50 + 12 * 100);
  assert.equal(e.step.prompt_tokens, 60 + 12 * 70);
  const seq = 1500 + 900;
  assert.equal(e.step.trained_tokens, seq * 2);
  assert.equal(e.step.forward_only_tokens, 0, "no KL, sampler log-probs: no extra pass");
  assert.equal(e.flops.training, 6 * 1e9 * seq * 2 * 10);
  assert.equal(e.flops.sampling, 2 * 1e9 * seq * 10);
  assert.ok(Math.abs(e.gpu_hours.training - e.flops.training / (100e12 * 0.5) / 3600) < 1e-12);
  assert.ok(Math.abs(e.usd - 2 * e.gpu_hours.total) < 1e-9);
  const twice = estimateCost({ ...rl, max_steps: 20 }, c);
  assert.ok(Math.abs(twice.gpu_hours.total - 2 * e.gpu_hours.total) < 1e-9);
  const withKl = estimateCost({ ...rl, kl_coef: 0.1 }, c);
  assert.equal(withKl.step.forward_only_tokens, seq);
  const paper = estimateCost(loadRecipe(file).rl, recipe);
  assert.ok(
    paper.gpu_hours.total > 1 && paper.gpu_hours.total < 1000,
    `paper-scale GPU-hours ${paper.gpu_hours.total}`,
  );
});

test("batcoder recipe prints the estimate and the exact commands (said to be not run)", () => {
  const r = spawnSync(process.execPath, [path.join(root, "bin", "batcoder.js"), "recipe", file], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /GPU-hours: \d+\.\d/);
  assert.match(r.stdout, /NOT RUN HERE/);
  assert.match(r.stdout, /--policy-url https:\/\/tinker\.thinkingmachines\.dev\/services\/tinker-prod/);
  assert.match(r.stdout, /-m tx\.tinker\.api --base-model Qwen\/Qwen2\.5-Coder-7B-Instruct/);
  assert.match(r.stdout, /humaneval_pass@1 83\.5/);
  const j = spawnSync(process.execPath, [path.join(root, "bin", "batcoder.js"), "recipe", file, "--json"], {
    encoding: "utf8",
  });
  assert.equal(JSON.parse(j.stdout).steps, 300);
  const bad = spawnSync(process.execPath, [path.join(root, "bin", "batcoder.js"), "recipe", file, "--steps", "2"], {
    encoding: "utf8",
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--steps and --corpus apply only with --dry-run/);
});

test("dry run: the whole orchestration over the Tinker protocol with the recipe's batch shapes", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bc-recipe-"));
  try {
    const { rl } = loadRecipe(file);
    const r = await dryRun({ file, steps: 1, outputDir: out, corpus: path.join(root, "data", "corpus", "default") });
    assert.equal(r.shapes.code2doc, rl.rollout_batch_size * rl.num_docs_per_code);
    assert.equal(
      r.serverCounts.forward_backward,
      rl.num_mini_batches * rl.ppo_epochs,
      "one forward_backward per mini-batch and epoch",
    );
    assert.equal(r.serverCounts.optim_step, rl.num_mini_batches * rl.ppo_epochs);
    assert.equal(
      r.lossPaths.folded,
      rl.num_mini_batches * rl.ppo_epochs,
      "the stock Tinker path, as against the real service",
    );
    assert.ok(
      (r.serverCounts.asample ?? 0) >= rl.rollout_batch_size,
      "one sample request per code (n = num_docs_per_code)",
    );
    const m = readJsonl<Record<string, number>>(path.join(r.runDir, "metrics.jsonl"));
    assert.equal(m.length, 1);
    assert.ok(Number.isFinite(m[0]!.loss));
    assert.ok(fs.existsSync(path.join(r.runDir, "evals.jsonl")), "held-out evaluation ran");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
