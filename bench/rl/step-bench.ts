/**
 * RL step cost on the embedded engine: the time split (sampling / reward / update) of one BatCoder step and
 * the ratio of the two old-log-prob modes, measured in ONE process (ratios, not absolute times: the machine is
 * shared). Code: Python stdlib functions (docstrings stripped) extracted with src/lang; reward: CodeBLEU.
 *
 *   node dist/bench/rl/step-bench.js [--preset small] [--steps 3] [--batch 8] [--G 4] [--K 2]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { engineInfo } from "../../src/engine/kernels.js";
import { extractFunctions, loadLanguage } from "../../src/lang/index.js";
import { similarity } from "../../src/similarity/metrics.js";
import { parseConfig } from "../../src/rl/config.js";
import { trainRL, type RewardBackend } from "../../src/rl/trainer.js";
import { readJsonl } from "../../src/core/jsonl.js";
import type { CodeItem } from "../../src/rl/data.js";
import type { ModelPreset } from "../../src/engine/config.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "small" },
    steps: { type: "string", default: "3" },
    batch: { type: "string", default: "8" },
    G: { type: "string", default: "4" },
    K: { type: "string", default: "2" },
  },
});

await loadLanguage("python");
const srcDir = "/usr/lib/python3.11";
const texts: string[] = [];
const items: CodeItem[] = [];
for (const f of fs
  .readdirSync(srcDir)
  .filter((f) => f.endsWith(".py"))
  .sort()) {
  const text = fs.readFileSync(path.join(srcDir, f), "utf8");
  texts.push(text);
  for (const fn of extractFunctions("python", text).functions) {
    const lines = fn.codeStripped.split("\n").length;
    if (lines >= 3 && lines <= 15)
      items.push({ id: `${f}:${fn.name}`, lang: "python", code: fn.codeStripped, signature: fn.signature });
  }
}
const tok = await BpeTokenizer.train(texts, { vocabSize: 2048 });
const reward: RewardBackend = {
  penalties: { formatPenalty: 0.1, leakPenalty: 0.5 },
  checkDoc: (doc) => ({ valid: doc.trim().length > 0, violations: [], leaked: false, leakFraction: 0, reasons: [] }),
  async score(jobs) {
    return jobs.map((j) => {
      let s = 0;
      try {
        s = similarity("codebleu", j.code, j.rebuilt, "python").score;
      } catch {
        s = 0; // binary / unparseable output from an untrained model
      }
      return { total: s, similarity: s, components: {} };
    });
  },
};
console.log(`engine: ${JSON.stringify(engineInfo())}`);
console.log(`${items.length} python functions; preset ${values.preset}; B=${values.batch} G=${values.G} K=${values.K}`);
for (const mode of ["sampler", "recompute"] as const) {
  const policy = createEmbeddedPolicy({ preset: values.preset as ModelPreset, tokenizer: tok, seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-bench-"));
  const cfg = parseConfig({
    max_steps: Number(values.steps),
    rollout_batch_size: Number(values.batch),
    num_docs_per_code: Number(values.G),
    num_codes_per_doc: Number(values.K),
    max_doc_tokens: 48,
    max_code_tokens: 160,
    max_rebuild_tokens: 160,
    save_steps: 0,
    eval_at_start: false,
    eval_at_end: false,
    old_logprobs: mode,
    kl_coef: 0.01,
  });
  await trainRL({ config: cfg, policy, reward, train: items, runDir: dir });
  const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
  const avg = (k: string) => m.reduce((a, x) => a + x[k]!, 0) / m.length;
  console.log(
    `old_logprobs=${mode}: step ${avg("time/step_s").toFixed(2)}s = sampling ${avg("time/sampling_s").toFixed(2)}s + reward ${avg("time/reward_s").toFixed(2)}s + update ${avg("time/update_s").toFixed(2)}s; ` +
      `generated ${avg("tokens/generated").toFixed(0)} tok, trained ${avg("tokens/trained").toFixed(0)} tok, ${avg("tokens_per_s").toFixed(0)} tok/s`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
}
