// The engine against Hugging Face transformers (the reference implementation of these architectures): random-weight
// folders written by the test for LlamaForCausalLM (attention bias, Llama-3 rope scaling), MistralForCausalLM,
// Qwen2ForCausalLM and Qwen3ForCausalLM (q/k norm, decoupled head_dim), loaded by transformers in float32; logits
// agree within 1e-3. Needs the Python reference venv (.venv/ from scripts/setup-python.sh, test/helpers/python.ts);
// without it the test is skipped — the llama.cpp parity test (gguf-arch.test.ts) is the always-on check.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { saveHfFolder, loadHfFolder } from "../../src/engine/hf.js";
import { LlamaModel } from "../../src/engine/model.js";
import { randomModel } from "./arch-helpers.js";
import { pythonSkip, runPython } from "../helpers/python.js";

const PROGRAM = `
import json, sys, torch
from transformers import AutoModelForCausalLM
torch.set_num_threads(1)
ids = torch.tensor([json.loads(sys.argv[1])])
result = {}
for d in sys.argv[2:]:
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        result[d] = model(input_ids=ids).logits[0].flatten().tolist()
print(json.dumps(result))
`;

const SHAPES = {
  vocab_size: 64,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
  bos_token_id: 1,
  eos_token_id: 2,
};
const ARCHS: Record<string, Record<string, unknown>> = {
  llama: {
    ...SHAPES,
    attention_bias: true,
    rope_theta: 500000,
    tie_word_embeddings: false,
    rope_scaling: {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 32,
    },
  },
  mistral: { ...SHAPES, architectures: ["MistralForCausalLM"], model_type: "mistral", sliding_window: 128 },
  qwen2: {
    ...SHAPES,
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    rope_theta: 1e6,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
  },
  qwen3: {
    ...SHAPES,
    architectures: ["Qwen3ForCausalLM"],
    model_type: "qwen3",
    head_dim: 24,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
  },
};

// one Python process for all four folders (importing torch dominates the time)
test("llama / mistral / qwen2 / qwen3: engine logits equal transformers' (float32) within 1e-3", {
  skip: pythonSkip(),
}, (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tf-"));
  try {
    const tokens = Array.from({ length: 48 }, (_, i) => (i * 37 + 5) % 64);
    const ours = new Map<string, Float32Array>();
    for (const [arch, cfg] of Object.entries(ARCHS)) {
      const dir = path.join(root, arch);
      const model = randomModel(ModelConfigSchema.parse(cfg), 31);
      saveHfFolder(dir, model.config, model.weights, { dtype: "F32" });
      const hf = loadHfFolder(dir);
      ours.set(dir, new LlamaModel(hf.config, hf.weights).forwardLogits(tokens));
    }
    const r = runPython({ code: PROGRAM }, [JSON.stringify(tokens), ...ours.keys()], { timeoutMs: 600_000 });
    const all = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number[]>;
    for (const [dir, mine] of ours) {
      const arch = path.basename(dir);
      const theirs = all[dir]!;
      assert.equal(theirs.length, mine.length, arch);
      let maxDiff = 0,
        maxAbs = 0;
      for (let i = 0; i < mine.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(mine[i]! - theirs[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(theirs[i]!));
      }
      t.diagnostic(`${arch}: max |logit difference| ${maxDiff.toExponential(2)} (max |logit| ${maxAbs.toFixed(2)})`);
      assert.ok(maxAbs > 0.1, `${arch}: logits are not trivially zero`);
      assert.ok(maxDiff < 1e-3, `${arch}: max logit difference ${maxDiff}`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
