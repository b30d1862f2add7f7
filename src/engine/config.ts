/**
 * Model configuration, with Hugging Face field names so `config.json` in a checkpoint is what transformers reads.
 * One decoder family covers the supported architectures (ARCHITECTURES below):
 *   llama   LlamaForCausalLM   (GQA, optional `head_dim`, `rope_scaling` type "llama3", optional attention bias)
 *   mistral MistralForCausalLM (a LLaMA; `sliding_window` limits the usable context, see contextLength)
 *   qwen2   Qwen2ForCausalLM   (bias on q/k/v, none on o)
 *   qwen3   Qwen3ForCausalLM   (per-head RMSNorm on q and k before rotary, `head_dim` decoupled from hidden/heads)
 *
 * Parameter names (HF convention; every tensor row-major, [out, in] for linears), hd = headDim(config):
 *   model.embed_tokens.weight                      [vocab_size, hidden_size]
 *   model.layers.{i}.input_layernorm.weight        [hidden_size]
 *   model.layers.{i}.self_attn.q_proj.weight       [n_heads*hd, hidden_size]      (.bias [n_heads*hd] with q/k/v bias)
 *   model.layers.{i}.self_attn.k_proj.weight       [n_kv_heads*hd, hidden_size]   (.bias)
 *   model.layers.{i}.self_attn.v_proj.weight       [n_kv_heads*hd, hidden_size]   (.bias)
 *   model.layers.{i}.self_attn.o_proj.weight       [hidden_size, n_heads*hd]      (.bias [hidden_size] with o bias)
 *   model.layers.{i}.self_attn.q_norm.weight       [hd]                           (qwen3)
 *   model.layers.{i}.self_attn.k_norm.weight       [hd]                           (qwen3)
 *   model.layers.{i}.post_attention_layernorm.weight [hidden_size]
 *   model.layers.{i}.mlp.gate_proj.weight          [intermediate_size, hidden_size]
 *   model.layers.{i}.mlp.up_proj.weight            [intermediate_size, hidden_size]
 *   model.layers.{i}.mlp.down_proj.weight          [hidden_size, intermediate_size]
 *   model.norm.weight                              [hidden_size]
 *   lm_head.weight                                 [vocab_size, hidden_size]  (absent when tie_word_embeddings)
 * Rotary embeddings use the HF "rotate_half" layout (pairs (i, i + head_dim/2)).
 */
import { z } from "zod";

/** Supported HF `architectures[0]` -> `model_type`. */
export const ARCHITECTURES = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
} as const;
export type Architecture = keyof typeof ARCHITECTURES;
export type ModelType = (typeof ARCHITECTURES)[Architecture];
export const MODEL_TYPES = ["llama", "mistral", "qwen2", "qwen3"] as const;

/** Llama-3 frequency-dependent rotary scaling (HF `rope_scaling` with rope_type "llama3"). */
export const Llama3RopeScalingSchema = z.object({
  rope_type: z.literal("llama3"),
  factor: z.number().positive(),
  low_freq_factor: z.number().positive(),
  high_freq_factor: z.number().positive(),
  original_max_position_embeddings: z.number().int().positive(),
});
export type Llama3RopeScaling = z.infer<typeof Llama3RopeScalingSchema>;

export const ModelConfigSchema = z
  .object({
    architectures: z.array(z.string()).default(["LlamaForCausalLM"]),
    model_type: z.enum(MODEL_TYPES).default("llama"),
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive(),
    /** Per-head dimension; absent means hidden_size / num_attention_heads. */
    head_dim: z.number().int().positive().optional(),
    max_position_embeddings: z.number().int().positive(),
    rms_norm_eps: z.number().positive().default(1e-5),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: Llama3RopeScalingSchema.optional(),
    /** Mistral: attention window; the engine limits the context to it (exact within the window). */
    sliding_window: z.number().int().positive().optional(),
    tie_word_embeddings: z.boolean().default(true),
    bos_token_id: z.number().int().nonnegative(),
    eos_token_id: z.number().int().nonnegative(),
    pad_token_id: z.number().int().nonnegative().optional(),
    hidden_act: z.literal("silu").default("silu"),
    /** llama/mistral/qwen3: bias on q, k, v and o (qwen2 always has q/k/v bias and no o bias). */
    attention_bias: z.boolean().default(false),
    mlp_bias: z.literal(false).default(false),
    torch_dtype: z.string().default("float32"),
  })
  .refine((c) => c.head_dim !== undefined || c.hidden_size % c.num_attention_heads === 0, {
    message: "hidden_size must be divisible by num_attention_heads (or head_dim given)",
  })
  .refine((c) => c.num_attention_heads % c.num_key_value_heads === 0, {
    message: "num_attention_heads must be divisible by num_key_value_heads",
  })
  .refine((c) => headDim(c) % 2 === 0, { message: "head_dim must be even (rotary)" })
  .refine((c) => ARCHITECTURES[c.architectures[0] as Architecture] === c.model_type, {
    message: `architectures[0] must match model_type (${Object.entries(ARCHITECTURES)
      .map(([a, t]) => `${a}=${t}`)
      .join(", ")})`,
  });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

type HeadFields = { hidden_size: number; num_attention_heads: number; head_dim?: number | undefined };
/** Per-head dimension. */
export function headDim(c: HeadFields): number {
  return c.head_dim ?? c.hidden_size / c.num_attention_heads;
}
/** q/k/v projections carry a bias. */
export function hasQkvBias(c: Pick<ModelConfig, "model_type" | "attention_bias">): boolean {
  return c.model_type === "qwen2" || c.attention_bias;
}
/** o_proj carries a bias. */
export function hasOBias(c: Pick<ModelConfig, "model_type" | "attention_bias">): boolean {
  return c.model_type !== "qwen2" && c.attention_bias;
}
/** Per-head RMSNorm on q and k (Qwen3). */
export function hasQkNorm(c: Pick<ModelConfig, "model_type">): boolean {
  return c.model_type === "qwen3";
}
/** Longest sequence the engine runs exactly: max_position_embeddings, capped by a sliding window. */
export function contextLength(c: Pick<ModelConfig, "max_position_embeddings" | "sliding_window">): number {
  return Math.min(c.max_position_embeddings, c.sliding_window ?? Infinity);
}

/**
 * Rotary inverse frequencies (length head_dim/2): theta^(-2j/hd), with Llama-3 scaling applied when configured
 * (wavelengths above original_max/low_freq_factor divided by `factor`, below original_max/high_freq_factor kept,
 * smoothly interpolated in between, as transformers' _compute_llama3_parameters).
 */
export function ropeInvFreq(
  c: { rope_theta: number; rope_scaling?: Llama3RopeScaling | undefined } & HeadFields,
): Float64Array {
  const hd = headDim(c),
    half = hd / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = Math.pow(c.rope_theta, -(2 * j) / hd);
  const s = c.rope_scaling;
  if (s) {
    const lowWave = s.original_max_position_embeddings / s.low_freq_factor;
    const highWave = s.original_max_position_embeddings / s.high_freq_factor;
    for (let j = 0; j < half; j++) {
      const wave = (2 * Math.PI) / inv[j]!;
      if (wave > lowWave) inv[j] = inv[j]! / s.factor;
      else if (wave >= highWave) {
        const smooth =
          (s.original_max_position_embeddings / wave - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        inv[j] = (1 - smooth) * (inv[j]! / s.factor) + smooth * inv[j]!;
      }
    }
  }
  return inv;
}

/** Every parameter name and shape of a config (see the header comment). */
export function parameterShapes(c: ModelConfig): Map<string, number[]> {
  const d = c.hidden_size,
    hd = headDim(c);
  const kvd = c.num_key_value_heads * hd,
    qd = c.num_attention_heads * hd,
    F = c.intermediate_size;
  const qkvBias = hasQkvBias(c),
    oBias = hasOBias(c),
    qkNorm = hasQkNorm(c);
  const m = new Map<string, number[]>();
  m.set("model.embed_tokens.weight", [c.vocab_size, d]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    m.set(p + "input_layernorm.weight", [d]);
    m.set(p + "self_attn.q_proj.weight", [qd, d]);
    m.set(p + "self_attn.k_proj.weight", [kvd, d]);
    m.set(p + "self_attn.v_proj.weight", [kvd, d]);
    m.set(p + "self_attn.o_proj.weight", [d, qd]);
    if (qkvBias) {
      m.set(p + "self_attn.q_proj.bias", [qd]);
      m.set(p + "self_attn.k_proj.bias", [kvd]);
      m.set(p + "self_attn.v_proj.bias", [kvd]);
    }
    if (oBias) m.set(p + "self_attn.o_proj.bias", [d]);
    if (qkNorm) {
      m.set(p + "self_attn.q_norm.weight", [hd]);
      m.set(p + "self_attn.k_norm.weight", [hd]);
    }
    m.set(p + "post_attention_layernorm.weight", [d]);
    m.set(p + "mlp.gate_proj.weight", [F, d]);
    m.set(p + "mlp.up_proj.weight", [F, d]);
    m.set(p + "mlp.down_proj.weight", [d, F]);
  }
  m.set("model.norm.weight", [d]);
  if (!c.tie_word_embeddings) m.set("lm_head.weight", [c.vocab_size, d]);
  return m;
}

/**
 * Named size presets (vocab/bos/eos filled from the tokenizer). Parameter counts (tied embeddings) at vocab
 * 4096 / 8192 / 16384, from countParams() in src/engine/model.ts (checked by test/engine/model.test.ts).
 */
export const MODEL_PRESETS = {
  // 0.36M / 0.62M / 1.15M (tests)
  tiny: {
    hidden_size: 64,
    intermediate_size: 176,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    max_position_embeddings: 512,
  },
  // 2.6M / 3.3M / 4.9M
  small: {
    hidden_size: 192,
    intermediate_size: 512,
    num_hidden_layers: 4,
    num_attention_heads: 6,
    num_key_value_heads: 6,
    max_position_embeddings: 1024,
  },
  // 8.8M / 10.1M / 12.7M (comfortable RL size on a 2-core CPU)
  base: {
    hidden_size: 320,
    intermediate_size: 864,
    num_hidden_layers: 6,
    num_attention_heads: 8,
    num_key_value_heads: 8,
    max_position_embeddings: 1024,
  },
  // 21.3M / 23.2M / 26.8M
  medium: {
    hidden_size: 448,
    intermediate_size: 1216,
    num_hidden_layers: 8,
    num_attention_heads: 8,
    num_key_value_heads: 8,
    max_position_embeddings: 1024,
  },
  // 88.1M / 91.3M / 97.5M
  large: {
    hidden_size: 768,
    intermediate_size: 2048,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    num_key_value_heads: 12,
    max_position_embeddings: 1024,
  },
} as const;
export type ModelPreset = keyof typeof MODEL_PRESETS;
