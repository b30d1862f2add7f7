/**
 * Model configuration, with Hugging Face LLaMA field names so `config.json` in a
 * checkpoint is what transformers' LlamaConfig reads.
 *
 * Parameter names (HF LLaMA convention; every tensor row-major, [out, in] for linears):
 *   model.embed_tokens.weight                      [vocab_size, hidden_size]
 *   model.layers.{i}.input_layernorm.weight        [hidden_size]
 *   model.layers.{i}.self_attn.q_proj.weight       [n_heads*head_dim, hidden_size]
 *   model.layers.{i}.self_attn.k_proj.weight       [n_kv_heads*head_dim, hidden_size]
 *   model.layers.{i}.self_attn.v_proj.weight       [n_kv_heads*head_dim, hidden_size]
 *   model.layers.{i}.self_attn.o_proj.weight       [hidden_size, n_heads*head_dim]
 *   model.layers.{i}.post_attention_layernorm.weight [hidden_size]
 *   model.layers.{i}.mlp.gate_proj.weight          [intermediate_size, hidden_size]
 *   model.layers.{i}.mlp.up_proj.weight            [intermediate_size, hidden_size]
 *   model.layers.{i}.mlp.down_proj.weight          [hidden_size, intermediate_size]
 *   model.norm.weight                              [hidden_size]
 *   lm_head.weight                                 [vocab_size, hidden_size]  (absent when tie_word_embeddings)
 * Rotary embeddings use the HF "rotate_half" layout (pairs (i, i + head_dim/2)).
 */
import { z } from "zod";

export const ModelConfigSchema = z
  .object({
    architectures: z.array(z.string()).default(["LlamaForCausalLM"]),
    model_type: z.literal("llama").default("llama"),
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive(),
    max_position_embeddings: z.number().int().positive(),
    rms_norm_eps: z.number().positive().default(1e-5),
    rope_theta: z.number().positive().default(10000),
    tie_word_embeddings: z.boolean().default(true),
    bos_token_id: z.number().int().nonnegative(),
    eos_token_id: z.number().int().nonnegative(),
    pad_token_id: z.number().int().nonnegative().optional(),
    hidden_act: z.literal("silu").default("silu"),
    attention_bias: z.literal(false).default(false),
    mlp_bias: z.literal(false).default(false),
    torch_dtype: z.string().default("float32"),
  })
  .refine((c) => c.hidden_size % c.num_attention_heads === 0, { message: "hidden_size must be divisible by num_attention_heads" })
  .refine((c) => c.num_attention_heads % c.num_key_value_heads === 0, {
    message: "num_attention_heads must be divisible by num_key_value_heads",
  })
  .refine((c) => (c.hidden_size / c.num_attention_heads) % 2 === 0, { message: "head_dim must be even (rotary)" });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/**
 * Named size presets (vocab/bos/eos filled from the tokenizer). Parameter counts (tied embeddings) at vocab
 * 4096 / 8192 / 16384, from countParams() in src/engine/model.ts (checked by test/engine/model.test.ts).
 */
export const MODEL_PRESETS = {
  // 0.36M / 0.62M / 1.15M (tests)
  tiny: { hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 512 },
  // 2.6M / 3.3M / 4.9M
  small: { hidden_size: 192, intermediate_size: 512, num_hidden_layers: 4, num_attention_heads: 6, num_key_value_heads: 6, max_position_embeddings: 1024 },
  // 8.8M / 10.1M / 12.7M (comfortable RL size on a 2-core CPU)
  base: { hidden_size: 320, intermediate_size: 864, num_hidden_layers: 6, num_attention_heads: 8, num_key_value_heads: 8, max_position_embeddings: 1024 },
  // 21.3M / 23.2M / 26.8M
  medium: { hidden_size: 448, intermediate_size: 1216, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, max_position_embeddings: 1024 },
  // 88.1M / 91.3M / 97.5M
  large: { hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 12, max_position_embeddings: 1024 },
} as const;
export type ModelPreset = keyof typeof MODEL_PRESETS;
