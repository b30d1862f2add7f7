// --base-dtype on the commands that load a model: bad values and combinations are clear errors before anything is
// loaded (full fine-tuning on a 16-bit base, a URL, --training, no --model), and `eval --model` on a BF16 HF folder
// runs with the matrices kept in bf16 (the load line says so) and gives the same samples as --base-dtype f32.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";

const cli = (args: string[], cwd = process.cwd()) =>
  spawnSync(process.execPath, [path.resolve("bin/batcoder.js"), ...args], { cwd, encoding: "utf8", timeout: 120_000 });

test("--base-dtype: bad input is a clear error before loading", () => {
  const cases: [string[], RegExp][] = [
    [["train", "--model", "/nonexistent", "--lora-rank", "0", "--base-dtype", "bf16"], /needs LoRA.*full fine-tuning/],
    [["train", "--model", "/nonexistent", "--base-dtype", "fp8"], /--base-dtype must be one of auto, f32, bf16, f16/],
    [["train", "--base-dtype", "bf16"], /apply only with --model/],
    [["train", "--model", "/nonexistent", "--lora-rank=-1"], /--lora-rank must be a non-negative integer/],
    [["serve", "/nonexistent", "--training", "--base-dtype", "bf16"], /not supported with --training/],
    [
      ["eval", "--benchmark", "humaneval", "--model", "http://127.0.0.1:9/v1", "--base-dtype", "bf16"],
      /applies to a local --model/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr + r.stdout, re, args.join(" "));
  }
});

test("eval --model BF16_FOLDER: auto keeps the matrices in bf16 and samples as the f32 load does", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-basedtype-cli-"));
  try {
    const tok = await BpeTokenizer.train(["def add(a, b):\n    return a + b\n"], { vocabSize: 300 });
    const config = ModelConfigSchema.parse({
      ...ARCH_CONFIGS.qwen2!,
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
      max_position_embeddings: 256,
    });
    const hf = path.join(dir, "m");
    saveHfFolder(hf, config, randomModel(config, 5).weights, {
      dtype: "BF16",
      extraFiles: { "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()) },
    });
    const samples = (dtype: string) => {
      const out = path.join(dir, `out-${dtype}`);
      const r = cli([
        "eval",
        "--benchmark",
        "humaneval",
        "--limit",
        "2",
        "--max-tokens",
        "12",
        "--model",
        hf,
        "--base-dtype",
        dtype,
        "--out",
        out,
        "--quiet",
      ]);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stderr, new RegExp(`weight matrices ${dtype === "auto" ? "bf16" : "f32"} \\(15 matrices\\)`));
      const file = fs.readdirSync(out).find((f) => f.endsWith(".jsonl") && f.includes("sample"));
      assert.ok(file, `a samples file in ${out}: ${fs.readdirSync(out)}`);
      return fs
        .readFileSync(path.join(out, file), "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { completion: string }).completion);
    };
    const a = samples("auto"),
      b = samples("f32");
    assert.equal(a.length, 2);
    assert.deepEqual(a, b, "greedy completions agree (same weight values, f32 compute)");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
