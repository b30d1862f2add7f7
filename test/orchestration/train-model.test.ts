// `batcoder train --model HF_FOLDER --lora-rank R` end to end on a tiny random-weight Qwen2 model the test writes
// (its tokenizer.json is a batcoder BPE trained on the corpus): no warm start, RL with a LoRA adapter, held-out
// round-trip evaluation and HumanEval pass@1 (sandboxed, limited to 2 problems) before and after, the adapter saved
// in the PEFT layout with trained (non-zero) B, and the base folder untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { loadAdapter } from "../../src/engine/lora.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";
import { writeCorpus } from "../rl/corpus-fixture.js";
import { readJsonl } from "../../src/core/jsonl.js";

test("batcoder train --model DIR --lora-rank 4: RL on the user's model with a LoRA adapter, before/after evaluation", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-train-model-"));
  try {
    writeCorpus(path.join(dir, "corpus"), { train: 20, validation: 4, test: 8 });
    const text = fs.readFileSync(
      path.join(dir, "corpus", "train", fs.readdirSync(path.join(dir, "corpus", "train"))[0]!),
      "utf8",
    );
    const tok = await BpeTokenizer.train([text], { vocabSize: 300 });
    const config = ModelConfigSchema.parse({
      ...ARCH_CONFIGS.qwen2!,
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
      max_position_embeddings: 512,
    });
    const model = randomModel(config, 3);
    const hfDir = path.join(dir, "base");
    saveHfFolder(hfDir, config, model.weights, {
      dtype: "BF16", // as released checkpoints are: the frozen base stays bf16 (--base-dtype auto)
      extraFiles: {
        "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()),
        // an instruct model's chat template: both directions are asked through it
        "tokenizer_config.json": JSON.stringify({
          bos_token: "<|bos|>",
          eos_token: "<|eos|>",
          chat_template:
            "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}",
        }),
      },
    });
    const hash = () =>
      crypto
        .createHash("sha256")
        .update(fs.readFileSync(path.join(hfDir, "model.safetensors")))
        .digest("hex");
    const before = hash();
    const args = [
      path.resolve("bin/batcoder.js"),
      "train",
      "--model",
      hfDir,
      "--lora-rank",
      "4",
      "--corpus",
      "corpus",
      "--run-name",
      "m",
      "--no-report",
      "--steps",
      "2",
      "--set",
      "rollout_batch_size=2",
      "--set",
      "num_docs_per_code=2",
      "--set",
      "num_codes_per_doc=2",
      "--set",
      "max_doc_tokens=16",
      "--set",
      "max_rebuild_tokens=16",
      "--set",
      "eval_size=4",
      "--set",
      "save_steps=1",
      "--set",
      "reject_invalid_docs=false",
      "--set",
      "learning_rate=0.01",
      "--set",
      "eval_benchmark=humaneval",
      "--set",
      "eval_benchmark_limit=2",
    ];
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", timeout: 240_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /using weights: HF folder .*Qwen2ForCausalLM.*weight matrices bf16 \(15 matrices\)/);
    assert.match(r.stderr, /LoRA: rank 4, alpha 8/);
    assert.match(r.stderr, /prompts: the model's own chat template/);
    const samples = readJsonl<{ doc2code_prompt: string | null }>(path.join(dir, "runs", "m", "samples.jsonl"));
    const prompts = samples.map((x) => x.doc2code_prompt).filter((p): p is string => p !== null);
    assert.ok(prompts.length > 0, "some doc→code prompt was logged");
    for (const p of prompts)
      assert.match(
        p,
        /^<\|bos\|>\[user\] Implement the \w+ function this documentation describes\.[\s\S]*\n\[assistant\] ```\w+\n$/,
      );
    assert.match(r.stdout, /round-trip similarity \(code→doc→code[^)]*\)\s+\d\.\d{3} \[/);
    const evals = readJsonl<Record<string, unknown>>(path.join(dir, "runs", "m", "evals.jsonl"));
    assert.deepEqual(
      evals.map((m) => m.step),
      [0, 2],
      "held-out evaluation before and after",
    );
    for (const e of evals) {
      const b = e.benchmark as { name: string; tasks: number; pass_at_1: number };
      assert.equal(b.tasks, 2);
      assert.ok(b.pass_at_1 >= 0 && b.pass_at_1 <= 1);
    }
    assert.ok(
      fs.existsSync(path.join(dir, "runs", "m", "checkpoints")) ||
        fs.readdirSync(path.join(dir, "runs", "m")).some((f) => f.startsWith("step-")),
    );
    const run = path.join(dir, "runs", "m");
    assert.ok(!fs.existsSync(path.join(dir, ".cache", "warmstart")), "no warm start ran");
    const adapter = loadAdapter(path.join(run, "adapter"), config);
    assert.equal(adapter.config.rank, 4);
    let nonzero = 0;
    for (const m of adapter.modules.values()) for (const x of m.B.data) if (x !== 0) nonzero++;
    assert.ok(nonzero > 0, "RL moved the adapter (B starts at zero)");
    assert.equal(hash(), before, "the base model's weights are untouched");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
