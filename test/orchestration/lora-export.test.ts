// LoRA adapters through model references: `loadModel(ref, {adapter})` attaches a PEFT folder, merge-and-export
// writes an HF folder and a GGUF file whose logits equal the adapted model's, and `batcoder serve --adapter`
// serves base + adapter (its greedy completion equals the engine's greedy decoding of the adapted model and differs
// from the base's).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { saveHfFolder, loadHfFolder } from "../../src/engine/hf.js";
import { loadGgufModel } from "../../src/engine/gguf.js";
import { LlamaModel } from "../../src/engine/model.js";
import { LORA_TARGETS, LoraAdapter, type LoraTarget, saveAdapter } from "../../src/engine/lora.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { Rng } from "../../src/core/rng.js";
import { UserError } from "../../src/core/errors.js";
import { loadModel } from "../../src/backends/model-ref.js";
import { mergeAndExport } from "../../src/orchestration/lora-export.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";
import { pythonReady, repoRoot, runPython } from "../helpers/python.js";

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function fixture(root: string, targetModules?: LoraTarget[]) {
  const tok = await BpeTokenizer.train(["def add(a, b):\n    return a + b\n", "the sum of two numbers"], {
    vocabSize: 300,
  });
  const config = ModelConfigSchema.parse({
    ...ARCH_CONFIGS.qwen2!,
    vocab_size: tok.vocabSize,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
  });
  const model = randomModel(config, 12);
  const hfDir = path.join(root, "hf");
  saveHfFolder(hfDir, config, model.weights, {
    extraFiles: { "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()) },
  });
  const lora = LoraAdapter.init(config, { rank: 4, alpha: 8, ...(targetModules ? { targetModules } : {}) }, 3);
  const rng = new Rng(5);
  for (const m of lora.modules.values()) for (let i = 0; i < m.B.data.length; i++) m.B.data[i] = rng.normal() * 0.2;
  const adapterDir = path.join(root, "adapter");
  saveAdapter(adapterDir, lora);
  const adapted = new LlamaModel(config, model.weights);
  adapted.lora = lora;
  return { tok, config, model, hfDir, adapterDir, adapted };
}

test("loadModel attaches an adapter; merge-and-export to an HF folder and to GGUF keeps the adapted logits", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lora-export-"));
  try {
    const { model, hfDir, adapterDir, adapted } = await fixture(root);
    const toks = [5, 9, 40, 77, 120, 3, 18];
    const want = adapted.forwardLogits(toks);
    assert.ok(maxDiff(want, model.forwardLogits(toks)) > 1e-3, "the adapter changes the logits");
    const loaded = await loadModel(hfDir, { adapter: adapterDir });
    assert.match(loaded.description, /LoRA adapter .*\(rank 4,/);
    assert.ok(maxDiff(loaded.model.forwardLogits(toks), want) < 1e-5);
    const hfOut = path.join(root, "merged-hf");
    const r1 = await mergeAndExport(hfDir, adapterDir, hfOut, { format: "hf" });
    assert.equal(r1.format, "hf");
    assert.ok(fs.existsSync(path.join(hfOut, "tokenizer.json")), "the base's tokenizer travels with the merged folder");
    const hf = loadHfFolder(hfOut);
    assert.ok(maxDiff(new LlamaModel(hf.config, hf.weights).forwardLogits(toks), want) < 1e-4);
    const ggufOut = path.join(root, "merged.gguf");
    await mergeAndExport(hfDir, adapterDir, ggufOut, { format: "gguf" });
    const g = loadGgufModel(ggufOut);
    assert.ok(maxDiff(new LlamaModel(g.config, g.weights).forwardLogits(toks), want) < 1e-4);
    await assert.rejects(
      mergeAndExport(hfDir, path.join(root, "none"), path.join(root, "x"), { format: "hf" }),
      UserError,
    );
    await assert.rejects(
      mergeAndExport(hfDir, adapterDir, path.join(root, "y"), { format: "hf", dtype: "q4" }),
      /--dtype must be/,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("an lm_head adapter on a tied model: merge-and-export unties it (HF folder and GGUF), the embedding unchanged", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lora-export-head-"));
  try {
    const { model, config, hfDir, adapterDir, adapted } = await fixture(root, [...LORA_TARGETS]);
    assert.equal(config.tie_word_embeddings, true);
    const toks = [5, 9, 40, 77, 120, 3, 18];
    const want = adapted.forwardLogits(toks);
    const E = model.weights.get("model.embed_tokens.weight")!.data;
    for (const format of ["hf", "gguf"] as const) {
      const out = path.join(root, format === "hf" ? "merged-hf" : "merged.gguf");
      await mergeAndExport(hfDir, adapterDir, out, { format });
      const m = format === "hf" ? loadHfFolder(out) : loadGgufModel(out);
      assert.equal(m.config.tie_word_embeddings, false, `${format}: the merged model has its own LM head`);
      assert.deepEqual(m.weights.get("model.embed_tokens.weight")!.data, E, `${format}: input embedding unchanged`);
      assert.ok(m.weights.has("lm_head.weight"));
      const d = maxDiff(new LlamaModel(m.config, m.weights).forwardLogits(toks), want);
      assert.ok(d < 1e-4, `${format}: merged logits differ from base + adapter by ${d}`);
    }
    if (pythonReady()) {
      // transformers reads the merged (untied) folder and computes the adapted model's logits
      const r = runPython(
        {
          code: [
            "import json, sys, torch",
            "from transformers import AutoModelForCausalLM",
            "m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)",
            "assert not m.config.tie_word_embeddings",
            "print(json.dumps(m(input_ids=torch.tensor([json.loads(sys.argv[2])])).logits[0].flatten().tolist()))",
          ].join("\n"),
        },
        [path.join(root, "merged-hf"), JSON.stringify(toks)],
        { timeoutMs: 300_000 },
      );
      const theirs = JSON.parse(r.stdout.trim().split("\n").pop()!) as number[];
      assert.ok(maxDiff(theirs, want) < 1e-4, `transformers on the merged folder: ${maxDiff(theirs, want)}`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

function serve(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(repoRoot, "dist/src/cli/main.js"), "serve", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(http:\/\/\S+)$/m.exec(out);
      if (m) {
        resolve({
          url: m[1]!,
          stop: () =>
            new Promise<void>((res) => {
              child.once("exit", () => res());
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

test("batcoder serve --adapter serves base + adapter", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lora-serve-"));
  try {
    const { tok, hfDir, adapterDir, adapted, model } = await fixture(root);
    const prompt = "def add(a, b):";
    const ids = tok.encode(prompt);
    const wantIds = adapted.generateGreedy(ids, 8, []);
    const baseIds = model.generateGreedy(ids, 8, []);
    assert.notDeepEqual(wantIds, baseIds, "the adapter changes greedy decoding");
    const s = await serve([hfDir, "--adapter", adapterDir, "--port", "0"]);
    try {
      const res = await fetch(`${s.url.replace(/\/v1\/?$/, "")}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: ids, max_tokens: 8, temperature: 0 }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { choices: { text: string }[] };
      assert.equal(body.choices[0]!.text, tok.decode(wantIds));
    } finally {
      await s.stop();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("batcoder eval --model DIR --adapter DIR: the adapter changes the generations; bad combinations are refused", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lora-eval-"));
  try {
    const { hfDir, adapterDir } = await fixture(root);
    const evalRun = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [path.join(repoRoot, "dist/src/cli/main.js"), "eval", "--benchmark", "humaneval", "--limit", "3", ...args],
        { cwd: root, encoding: "utf8", timeout: 120_000 },
      );
    const common = ["--model", hfDir, "--max-tokens", "8", "--k", "1", "--quiet"];
    const base = evalRun(...common, "--out", "base");
    assert.equal(base.status, 0, base.stderr);
    const withAdapter = evalRun(...common, "--adapter", adapterDir, "--out", "adapted");
    assert.equal(withAdapter.status, 0, withAdapter.stderr);
    assert.match(withAdapter.stderr, /LoRA adapter .*\(rank 4, alpha 8/);
    const raws = (out: string) =>
      fs
        .readFileSync(path.join(root, out, "samples.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { task_id: string; raw: string }).raw);
    const a = raws("base"),
      b = raws("adapted");
    assert.equal(a.length, 3);
    assert.equal(b.length, 3);
    assert.notDeepEqual(b, a, "greedy generations with the adapter differ from the base model's");
    // the adapter is part of the model's name (results and the generation cache never mix base and adapted)
    const name = (out: string) =>
      (JSON.parse(fs.readFileSync(path.join(root, out, "summary.json"), "utf8")) as { model: string }).model;
    assert.match(name("adapted"), /\+adapter#[0-9a-f]{8}$/);
    assert.doesNotMatch(name("base"), /adapter/);
    // the same adapter again: identical generations (greedy, deterministic)
    const again = evalRun(...common, "--adapter", adapterDir, "--out", "again");
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(raws("again"), b);
    // refused with a clear message
    const noChat = evalRun(...common, "--format", "instruct", "--out", "x1");
    assert.equal(noChat.status, 1);
    assert.match(noChat.stderr, /has no chat template .*instruct mode cannot build prompts/);
    const url = evalRun("--model", "http://127.0.0.1:9/v1", "--adapter", adapterDir, "--out", "x2");
    assert.equal(url.status, 1);
    assert.match(url.stderr, /--adapter applies to a model loaded here .*not to the endpoint/);
    fs.writeFileSync(path.join(root, "s.jsonl"), JSON.stringify({ task_id: "HumanEval/0", completion: "" }) + "\n");
    const samples = evalRun("--samples", "s.jsonl", "--adapter", adapterDir, "--out", "x3");
    assert.equal(samples.status, 1);
    assert.match(samples.stderr, /--adapter applies to a --model/);
    const missing = evalRun(...common, "--adapter", path.join(root, "no-such-adapter"), "--out", "x4");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no-such-adapter/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
