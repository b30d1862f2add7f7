// `batcoder train --model DIR --lora-rank R` killed (SIGKILL) after k steps and continued with `--resume` ends with
// the adapter, optimizer state and logged metrics of the uninterrupted run, bit for bit (as the embedded model's
// resume in test/rl/pipeline.test.ts); the resumed run takes its model and LoRA settings from the run directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { loadAdapter } from "../../src/engine/lora.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { loadModel } from "../../src/backends/model-ref.js";
import { readJsonl } from "../../src/core/jsonl.js";
import { readSafetensors } from "../../src/engine/safetensors.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";
import { writeCorpus } from "../rl/corpus-fixture.js";

const noTime = (m: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith("time/") && k !== "tokens_per_s"));

test("train --model --lora-rank: kill -9 after k steps, --resume: the same adapter, optimizer and metrics as an uninterrupted run", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-lora-resume-"));
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
    const hfDir = path.join(dir, "base");
    saveHfFolder(hfDir, config, randomModel(config, 3).weights, {
      extraFiles: {
        "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()),
        "tokenizer_config.json": JSON.stringify({
          bos_token: "<|bos|>",
          eos_token: "<|eos|>",
          chat_template:
            "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}",
        }),
      },
    });
    const STEPS = 5;
    const common = [
      path.resolve("bin/batcoder.js"),
      "train",
      "--model",
      hfDir,
      "--lora-rank",
      "4",
      // the unembedding too (this model ties its embeddings: the adapter is on the output projection only)
      "--lora-targets",
      "q_proj,v_proj,lm_head",
      "--corpus",
      "corpus",
      "--quiet",
      "--no-report",
      "--steps",
      String(STEPS),
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
      "save_steps=1",
      "--set",
      "reject_invalid_docs=false",
      "--set",
      "learning_rate=0.01",
      "--set",
      "kl_coef=0.05",
      "--set",
      "eval_at_start=false",
      "--set",
      "eval_at_end=false",
    ];
    const a = spawnSync(process.execPath, [...common, "--run-name", "a"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 240_000,
    });
    assert.equal(a.status, 0, a.stderr + a.stdout);

    const child = spawn(process.execPath, [...common, "--run-name", "b"], { cwd: dir, stdio: "ignore" });
    const metrics = path.join(dir, "runs", "b", "metrics.jsonl");
    const t0 = Date.now();
    while (Date.now() - t0 < 240_000) {
      if (fs.existsSync(metrics) && readJsonl(metrics).length >= 2) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const killedAt = readJsonl(metrics).length;
    assert.ok(killedAt >= 2 && killedAt < STEPS, `killed after ${killedAt} steps`);
    const b = spawnSync(process.execPath, [common[0]!, "train", "--resume", "--run-name", "b", "--no-report"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 240_000,
    });
    assert.equal(b.status, 0, b.stderr + b.stdout);
    assert.match(b.stderr, /resumed at step \d/);
    assert.match(b.stderr, /LoRA: rank 4, alpha 8 on q_proj\/v_proj\/lm_head,/);
    const own = JSON.parse(fs.readFileSync(path.join(dir, "runs", "b", "model.json"), "utf8"));
    assert.deepEqual(own.lora_targets, ["q_proj", "v_proj", "lm_head"]);

    const ma = readJsonl<Record<string, unknown>>(path.join(dir, "runs", "a", "metrics.jsonl"));
    const mb = readJsonl<Record<string, unknown>>(metrics);
    assert.deepEqual(
      mb.map((m) => m.step),
      Array.from({ length: STEPS }, (_, i) => i + 1),
      "no step logged twice",
    );
    assert.deepEqual(mb.map(noTime), ma.map(noTime), "the same metrics");
    // the final adapter (runs/NAME/adapter, PEFT) and the last checkpoint's adapter + AdamW moments: bit-identical
    const fa = loadAdapter(path.join(dir, "runs", "a", "adapter"), config);
    const fb = loadAdapter(path.join(dir, "runs", "b", "adapter"), config);
    let moved = 0;
    for (const [k, t] of fa.parameters()) {
      assert.deepEqual(fb.parameters().get(k)!.data, t.data, k);
      if (k.endsWith("lora_B.weight")) moved += t.data.some((x) => x !== 0) ? 1 : 0;
    }
    assert.ok(moved > 0, "the adapter trained");
    assert.ok(fa.modules.has("lm_head") && fa.modules.get("lm_head")!.B.data.some((x) => x !== 0), "lm_head trained");
    assert.deepEqual(fa.config.targetModules, ["q_proj", "v_proj", "lm_head"]);
    const last = (r: string) =>
      path.join(dir, "runs", r, "checkpoints", `step-${String(STEPS).padStart(8, "0")}`, "policy");
    const oa = readSafetensors(path.join(last("a"), "optimizer.safetensors")).tensors;
    const ob = readSafetensors(path.join(last("b"), "optimizer.safetensors")).tensors;
    assert.deepEqual([...ob.keys()].sort(), [...oa.keys()].sort());
    assert.ok(
      [...oa.keys()].every((k) => k.includes(".lora_")),
      "optimizer state only for the adapter",
    );
    for (const [k, t] of oa) assert.deepEqual(ob.get(k)!.data, t.data, k);
    // a LoRA run's checkpoint is served / evaluated with its adapter
    const served = await loadModel(path.join(dir, "runs", "b"));
    assert.match(served.description, /\+ its LoRA adapter \(rank 4\)/);
    for (const [k, t] of fa.parameters()) assert.deepEqual(served.model.lora!.parameters().get(k)!.data, t.data);
    // an unknown module, or a resume with other targets, is refused naming what is supported
    const bad = spawnSync(
      process.execPath,
      [...common.slice(0, 6), "--corpus", "corpus", "--lora-targets", "q_proj,embed_tokens"],
      {
        cwd: dir,
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /--lora-targets: unknown module 'embed_tokens' \(supported: q_proj, .*, lm_head\)/);
    const other = spawnSync(
      process.execPath,
      [common[0]!, "train", "--resume", "--run-name", "b", "--lora-targets", "q_proj", "--no-report"],
      { cwd: dir, encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(other.status, 1, other.stderr);
    assert.match(other.stderr, /--resume: run b trains LoRA on q_proj,v_proj,lm_head, not q_proj/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
