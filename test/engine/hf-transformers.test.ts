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
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
model.eval()
ids = torch.tensor([json.loads(sys.argv[2])])
with torch.no_grad():
    out = model(input_ids=ids).logits[0]
print(json.dumps(out.flatten().tolist()))
`;

const SHAPES = { vocab_size: 64, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  max_position_embeddings: 128, bos_token_id: 1, eos_token_id: 2 };
const ARCHS: Record<string, Record<string, unknown>> = {
  llama: { ...SHAPES, attention_bias: true, rope_theta: 500000, tie_word_embeddings: false,
    rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 } },
  mistral: { ...SHAPES, architectures: ["MistralForCausalLM"], model_type: "mistral", sliding_window: 128 },
  qwen2: { ...SHAPES, architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", rope_theta: 1e6, rms_norm_eps: 1e-6, tie_word_embeddings: true },
  qwen3: { ...SHAPES, architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", head_dim: 24, rms_norm_eps: 1e-6, tie_word_embeddings: false },
};

for (const [arch, cfg] of Object.entries(ARCHS)) {
  test(`${arch}: engine logits equal transformers' (float32) within 1e-3`, { skip: pythonSkip() }, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tf-${arch}-`));
    try {
      const model = randomModel(ModelConfigSchema.parse(cfg), 31);
      saveHfFolder(dir, model.config, model.weights, { dtype: "F32" });
      const hf = loadHfFolder(dir);
      const tokens = Array.from({ length: 48 }, (_, i) => (i * 37 + 5) % 64);
      const ours = new LlamaModel(hf.config, hf.weights).forwardLogits(tokens);
      const r = runPython({ code: PROGRAM }, [dir, JSON.stringify(tokens)], { timeoutMs: 600_000 });
      const theirs = JSON.parse(r.stdout.trim().split("\n").pop()!) as number[];
      assert.equal(theirs.length, ours.length);
      let maxDiff = 0, maxAbs = 0;
      for (let i = 0; i < ours.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(theirs[i]!));
      }
      t.diagnostic(`${arch}: max |logit difference| ${maxDiff.toExponential(2)} (max |logit| ${maxAbs.toFixed(2)})`);
      assert.ok(maxAbs > 0.1, "logits are not trivially zero");
      assert.ok(maxDiff < 1e-3, `${arch}: max logit difference ${maxDiff}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
