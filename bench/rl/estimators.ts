/**
 * Advantage estimators side by side on one controllable task: a tiny embedded LLaMA (byte tokenizer) trained
 * by the full BatCoder loop where a reconstruction's reward is the fraction of lowercase letters in it. Prints,
 * per estimator, the doc→code reward of the first and last 5 steps (mean over seeds) in ONE run.
 *
 *   node dist/bench/rl/estimators.js [--steps 25] [--seeds 3] [--lr 0.004]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { ADVANTAGE_ESTIMATORS } from "../../src/rl/advantages.js";
import { parseConfig } from "../../src/rl/config.js";
import { trainRL, type RewardBackend } from "../../src/rl/trainer.js";
import { readJsonl } from "../../src/core/jsonl.js";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "25" },
    seeds: { type: "string", default: "3" },
    lr: { type: "string", default: "0.004" },
  },
});
const steps = Number(values.steps);
const tok = new ByteTokenizer();
const tiny = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
};
const items = Array.from({ length: 4 }, (_, i) => ({
  id: `f${i}`,
  lang: "python",
  code: `def f${i}(x):\n    return x + ${i}\n`,
}));
const toy: RewardBackend = {
  penalties: { formatPenalty: 0.1, leakPenalty: 0.5 },
  checkDoc: (doc) => ({ valid: doc.length > 0, violations: [], leaked: false, leakFraction: 0, reasons: [] }),
  async score(jobs) {
    return jobs.map((j) => {
      const s = j.rebuilt.length ? [...j.rebuilt].filter((c) => c >= "a" && c <= "z").length / j.rebuilt.length : 0;
      return { total: s, similarity: s, components: {} };
    });
  },
};
console.log(`toy task, ${steps} steps, B=2 G=4 K=4, lr ${values.lr}, mean over ${values.seeds} seeds`);
console.log("estimator              | doc2code first5 | last5 | gain  | code2doc first5 | last5");
for (const est of ADVANTAGE_ESTIMATORS) {
  const acc = { f: 0, l: 0, cf: 0, cl: 0 };
  const n = Number(values.seeds);
  for (let seed = 1; seed <= n; seed++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-est-"));
    const cfg = parseConfig({
      max_steps: steps,
      rollout_batch_size: 2,
      num_docs_per_code: 4,
      num_codes_per_doc: 4,
      max_doc_tokens: 6,
      max_rebuild_tokens: 8,
      learning_rate: Number(values.lr),
      kl_coef: 0,
      advantage_estimator: est,
      save_steps: 0,
      eval_at_start: false,
      eval_at_end: false,
      seed,
      loss_agg_mode: est === "dr_grpo" ? "seq-sum-constant" : "token-mean",
    });
    await trainRL({
      config: cfg,
      policy: createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed }),
      reward: toy,
      train: items,
      runDir: dir,
    });
    const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
    const avg = (xs: Record<string, number>[], k: string) => xs.reduce((a, x) => a + x[k]!, 0) / xs.length;
    acc.f += avg(m.slice(0, 5), "reward/doc2code/mean") / n;
    acc.l += avg(m.slice(-5), "reward/doc2code/mean") / n;
    acc.cf += avg(m.slice(0, 5), "reward/code2doc/mean") / n;
    acc.cl += avg(m.slice(-5), "reward/code2doc/mean") / n;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `${est.padEnd(22)} | ${acc.f.toFixed(3).padStart(15)} | ${acc.l.toFixed(3)} | ${(acc.l - acc.f >= 0 ? "+" : "") + (acc.l - acc.f).toFixed(3)} | ${acc.cf.toFixed(3).padStart(15)} | ${acc.cl.toFixed(3)}`,
  );
}
