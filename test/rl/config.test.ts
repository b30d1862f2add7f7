import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConfig, derived } from "../../src/rl/config.js";
import { resolveCli } from "../../src/orchestration/config.js";

test("defaults are complete and valid", () => {
  const c = parseConfig({});
  assert.equal(c.advantage_estimator, "reinforce_pp");
  assert.equal(c.use_kl_loss, false);
  assert.equal(derived(c).epsilonHigh, c.epsilon);
  assert.equal(derived(c).maxRebuildTokens, c.max_code_tokens + 16);
});

test("bad values are rejected with field names and reasons", () => {
  assert.throws(() => parseConfig({ rollout_batch_size: -1 }), /rollout_batch_size: rollout_batch_size must be > 0/);
  assert.throws(() => parseConfig({ learning_rate: "fast" }), /learning_rate:/);
  assert.throws(() => parseConfig({ advantage_estimator: "ppo2" }), /advantage_estimator:.*(reinforce_pp|Invalid)/);
  assert.throws(
    () => parseConfig({ num_docs_per_code: 1, advantage_estimator: "grpo" }),
    /num_docs_per_code: advantage_estimator 'grpo' compares samples within a group/,
  );
  assert.throws(() => parseConfig({ temprature: 0.7 }), /unknown option\(s\) 'temprature'/);
  assert.throws(() => parseConfig({ code2doc_weight: 0, doc2code_weight: 0 }), /nothing would be trained/);
  // several problems are all listed
  assert.throws(
    () => parseConfig({ epsilon: 2, top_p: 0 }),
    (e: Error & { userFacing?: boolean }) => {
      assert.match(e.message, /epsilon: epsilon must be < 1/);
      assert.match(e.message, /top_p: top_p must be in \(0, 1\]/);
      assert.equal(e.userFacing, true);
      return true;
    },
  );
});

test("the removed penalty knobs fail with a message naming the one that replaces them", () => {
  assert.throws(
    () => parseConfig({ invalid_doc_reward: -0.2 }),
    /invalid_doc_reward: 'invalid_doc_reward' was removed.*reward_options\.formatPenalty/,
  );
  assert.throws(
    () => parseConfig({ leaked_doc_reward: -1 }),
    /'leaked_doc_reward' was removed.*reward_options\.leakPenalty/,
  );
  const c = parseConfig({});
  assert.ok(!("invalid_doc_reward" in c) && !("leaked_doc_reward" in c));
});

test("eval_benchmarks: a list (JSON or comma-separated), its format and limit; eval_benchmark names its replacement", () => {
  const d = parseConfig({});
  assert.equal(d.eval_benchmarks, null, "null = the command's default");
  assert.equal(d.eval_benchmark_format, "auto");
  assert.equal(d.eval_benchmark_limit, null);
  assert.deepEqual(parseConfig({ eval_benchmarks: ["humaneval", "multipl-e:rb"] }).eval_benchmarks, [
    "humaneval",
    "multipl-e:rb",
  ]);
  const sets = resolveCli({ set: ["eval_benchmarks=humaneval, mbpp", "eval_benchmark_format=instruct"] }).rl;
  assert.deepEqual(sets.eval_benchmarks, ["humaneval", "mbpp"]);
  assert.equal(sets.eval_benchmark_format, "instruct");
  assert.deepEqual(resolveCli({ set: ["eval_benchmarks=[]"] }).rl.eval_benchmarks, []);
  assert.throws(() => parseConfig({ eval_benchmarks: ["mbpp", "MBPP"] }), /eval_benchmarks lists a benchmark twice/);
  assert.throws(() => parseConfig({ eval_benchmarks: 7 }), /eval_benchmarks must be a list of benchmark names/);
  assert.throws(() => parseConfig({ eval_benchmark_format: "chat" }), /eval_benchmark_format:/);
  assert.throws(() => parseConfig({ eval_benchmark_limit: 0 }), /eval_benchmark_limit must be > 0/);
  assert.throws(
    () => parseConfig({ eval_benchmark: "humaneval" }),
    /eval_benchmark: 'eval_benchmark' was removed: .*use eval_benchmarks \(eval_benchmark=humaneval is eval_benchmarks=\["humaneval"\]\)/,
  );
  assert.throws(() => resolveCli({ set: ["eval_benchmark=mbpp"] }), /'eval_benchmark' was removed/);
  // older runs' config.resolved.json hold "eval_benchmark": null: they still resume, and it is not carried on
  const old = parseConfig({ eval_benchmark: null });
  assert.ok(!("eval_benchmark" in old));
});

test("--limit N (quick mode) lowers benchmark tasks, held-out functions and steps, and says what it changed", async () => {
  const { applyLimit } = await import("../../src/orchestration/config.js");
  const base = parseConfig({ eval_size: 50, max_steps: 3 });
  const { rl, changes } = applyLimit(base, 5);
  assert.equal(rl.eval_benchmark_limit, 5);
  assert.equal(rl.eval_size, 5);
  assert.equal(rl.max_steps, 3, "never raised");
  assert.equal(rl.eval_benchmark_max_tokens, 128, "a smoke run does not generate 512 tokens per task");
  assert.deepEqual(changes, [
    "benchmark tasks per benchmark all → 5",
    "held-out functions 50 → 5",
    "tokens per benchmark task default → 128",
  ]);
  assert.equal(base.eval_size, 50, "the input config is not changed");
  assert.equal(base.eval_benchmark_max_tokens, null, "the input config is not changed");
  assert.deepEqual(
    applyLimit(parseConfig({ eval_benchmark_limit: 2, eval_size: 1, max_steps: 1, eval_benchmark_max_tokens: 64 }), 5)
      .changes,
    [],
  );
  assert.equal(applyLimit(parseConfig({ eval_benchmark_max_tokens: 300 }), 5).rl.eval_benchmark_max_tokens, 128);
  assert.throws(() => applyLimit(base, 0), /--limit expects a positive integer/);
});

test("RL's documentation penalties: RL defaults 0.1 / 0.5 (validation-chosen) under reward_options overrides", async () => {
  const { rewardConfigFor } = await import("../../src/rl/reward.js");
  const d = rewardConfigFor(parseConfig({}));
  assert.deepEqual([d.formatPenalty, d.leakPenalty], [0.1, 0.5]);
  const o = rewardConfigFor(parseConfig({ reward_options: { formatPenalty: 0.4 } }));
  assert.deepEqual([o.formatPenalty, o.leakPenalty], [0.4, 0.5]);
});

test("file < --set layering, with JSON-typed values and unknown keys caught", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-cfg-"));
  const f = path.join(dir, "c.json");
  fs.writeFileSync(f, JSON.stringify({ max_steps: 5, temperature: 0.7 }));
  const { rl: c, ws } = resolveCli({
    config: f,
    set: ["max_steps=9", "signature_hint=true", 'languages=["go"]', "run_name=abc", "warmstart.sft_steps=7"],
  });
  assert.equal(ws.sft_steps, 7);
  assert.equal(c.max_steps, 9);
  assert.equal(c.temperature, 0.7);
  assert.equal(c.signature_hint, true);
  assert.deepEqual(c.languages, ["go"]);
  assert.equal(c.run_name, "abc");
  assert.throws(() => resolveCli({ set: ["max_stepz=3"] }), /unknown option 'max_stepz'/);
  assert.throws(() => resolveCli({ set: ["warmstart.sft_stepz=3"] }), /unknown option 'warmstart.sft_stepz'/);
  assert.throws(() => resolveCli({ set: ["oops"] }), /key=value/);
  fs.writeFileSync(f, "{not json");
  assert.throws(() => resolveCli({ config: f }), /not valid JSON/);
  assert.throws(() => resolveCli({ config: path.join(dir, "missing.json") }), /cannot read config file/);
});

test("every shipped configs/*.json validates; default.json spells out exactly the built-in defaults", async () => {
  const { resolveCli } = await import("../../src/orchestration/config.js");
  const files = fs.readdirSync("configs").filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 4);
  for (const f of files) resolveCli({ config: path.join("configs", f) });
  if (files.includes("default.json")) {
    const fromFile = resolveCli({ config: "configs/default.json" });
    const builtIn = resolveCli({});
    assert.deepEqual(fromFile, builtIn);
  }
});
