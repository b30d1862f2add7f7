// Small random-weight models of every supported architecture, shared by the HF, GGUF and loader tests.
import { ModelConfigSchema } from "../../src/engine/config.js";
import { LlamaModel } from "../../src/engine/model.js";
import { Rng } from "../../src/core/rng.js";

export const BASE = {
  vocab_size: 40,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  bos_token_id: 1,
  eos_token_id: 2,
};
export const ARCH_CONFIGS: Record<string, Record<string, unknown>> = {
  llama: {
    ...BASE,
    rope_theta: 500000,
    tie_word_embeddings: true,
    rope_scaling: {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    },
  },
  qwen2: {
    ...BASE,
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    rope_theta: 1e6,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
  },
  qwen3: {
    ...BASE,
    architectures: ["Qwen3ForCausalLM"],
    model_type: "qwen3",
    head_dim: 12,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
  },
  mistral: {
    ...BASE,
    architectures: ["MistralForCausalLM"],
    model_type: "mistral",
    sliding_window: 64,
    tie_word_embeddings: false,
  },
};

/** A random model with non-trivial biases and norm weights. */
export function randomModel(cfg: Record<string, unknown>, seed: number): LlamaModel {
  const model = LlamaModel.init(ModelConfigSchema.parse(cfg), seed);
  const rng = new Rng(seed + 1);
  for (const [name, t] of model.weights) {
    if (t.shape.length > 1) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.1;
    else if (name.endsWith(".bias")) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.1;
    else for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + rng.normal() * 0.1;
  }
  return model;
}
