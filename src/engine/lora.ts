/**
 * LoRA adapters (Hu et al. 2021) on the linear layers of a LLaMA-family decoder, in the layout PEFT uses: the
 * per-layer q/k/v/o/gate/up/down projections and the LM head (`lm_head`, [vocab, hidden]; on a model with tied
 * embeddings only the output projection is adapted, the input embedding is unchanged, as PEFT does).
 *
 * For a target linear y = x W^T (+ b), W [out, in], the adapter adds scale * (drop(x) A^T) B^T with A [r, in],
 * B [out, r] and scale = alpha / r. A starts Kaiming-uniform (bound 1/sqrt(in), as PEFT's default init) and B at
 * zero, so a fresh adapter leaves the model unchanged. The base stays frozen: only A and B get gradients and
 * optimizer state (see LlamaModel.zeroGrads / trainableWeights).
 *
 * Parameter names are the base weight's module plus `.lora_A.weight` / `.lora_B.weight`
 * (`model.layers.0.self_attn.q_proj.lora_A.weight`); on disk PEFT prefixes them with `base_model.model.`.
 * `saveAdapter` / `loadAdapter` read and write `adapter_config.json` + `adapter_model.safetensors`.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { type ModelConfig, parameterShapes } from "./config.js";
import { getKernels, type Kernels } from "./kernels.js";
import { readSafetensors, type SafeTensor, writeSafetensors } from "./safetensors.js";
import { weightToF32 } from "./hf.js";
import { isHalfTensor, type WeightTensor, weightF32 } from "./tensor.js";

export interface LoraTensor {
  shape: number[];
  data: Float32Array;
}

/** The per-layer linear layers an adapter can target (PEFT's module names): the default targets. */
export const LAYER_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
/**
 * Every target: the layer linears and `lm_head`, the unembedding [vocab, hidden] (Tinker's `train_unembed`). With
 * tied embeddings the adapter applies to the output projection only (the input embedding is unchanged), as PEFT does
 * when `lm_head` is in target_modules of a tied model.
 */
export const LORA_TARGETS = [...LAYER_TARGETS, "lm_head"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];
/** The LM head's module name (PEFT's key `base_model.model.lm_head.lora_A.weight`, tied or not). */
export const LM_HEAD = "lm_head";

export const LoraConfigSchema = z
  .object({
    rank: z.number().int().positive().default(8),
    alpha: z.number().positive().default(16),
    dropout: z.number().min(0).lt(1).default(0),
    targetModules: z
      .array(z.enum(LORA_TARGETS))
      .nonempty()
      .default([...LAYER_TARGETS]),
  })
  .strict();
export type LoraConfig = z.infer<typeof LoraConfigSchema>;
export type LoraConfigInput = z.input<typeof LoraConfigSchema>;

const PARENT: Record<(typeof LAYER_TARGETS)[number], string> = {
  q_proj: "self_attn",
  k_proj: "self_attn",
  v_proj: "self_attn",
  o_proj: "self_attn",
  gate_proj: "mlp",
  up_proj: "mlp",
  down_proj: "mlp",
};

/** One adapted linear layer. `module` is the base weight's name without `.weight`. */
export interface LoraModule {
  module: string;
  inDim: number;
  outDim: number;
  A: LoraTensor;
  B: LoraTensor;
}

/** What the forward pass keeps for the backward pass of one adapted layer. */
export interface LoraActs {
  /** The adapter's input after dropout ([N, in]; the layer's input itself without dropout). */
  x: Float32Array;
  /** Dropout mask (0 or 1/(1-p)) or null. */
  mask: Float32Array | null;
  /** x A^T [N, r]. */
  xa: Float32Array;
}

export const PEFT_PREFIX = "base_model.model.";

export class LoraAdapter {
  readonly config: LoraConfig;
  readonly scale: number;
  /** Keyed by module name (`model.layers.3.mlp.up_proj`). */
  readonly modules: Map<string, LoraModule>;
  /** Dropout randomness (training forward passes only). */
  dropoutRng: Rng;

  constructor(config: LoraConfigInput, modules: Map<string, LoraModule>, seed = 0) {
    this.config = LoraConfigSchema.parse(config);
    this.scale = this.config.alpha / this.config.rank;
    this.modules = modules;
    this.dropoutRng = new Rng(seed ^ 0x5eed);
    for (const m of modules.values()) {
      const r = this.config.rank;
      if (m.A.shape.join(",") !== `${r},${m.inDim}` || m.B.shape.join(",") !== `${m.outDim},${r}`) {
        throw new UserError(
          `LoRA ${m.module}: A [${m.A.shape}] / B [${m.B.shape}] do not match rank ${r}, in ${m.inDim}, out ${m.outDim}`,
        );
      }
    }
  }

  /** A fresh adapter for `model`: A Kaiming-uniform (bound 1/sqrt(in)), B zero. */
  static init(model: ModelConfig, config: LoraConfigInput, seed = 0): LoraAdapter {
    const c = LoraConfigSchema.parse(config);
    const rng = new Rng(seed);
    const modules = new Map<string, LoraModule>();
    for (const [module, [outDim, inDim]] of targetShapes(model, c.targetModules)) {
      const A = new Float32Array(c.rank * inDim);
      const bound = 1 / Math.sqrt(inDim);
      for (let i = 0; i < A.length; i++) A[i] = (2 * rng.next() - 1) * bound;
      modules.set(module, {
        module,
        inDim,
        outDim,
        A: { shape: [c.rank, inDim], data: A },
        B: { shape: [outDim, c.rank], data: new Float32Array(outDim * c.rank) },
      });
    }
    return new LoraAdapter(c, modules, seed);
  }

  /** The trainable tensors by parameter name (`<module>.lora_A.weight`, `<module>.lora_B.weight`). */
  parameters(): Map<string, LoraTensor> {
    const out = new Map<string, LoraTensor>();
    for (const m of this.modules.values()) {
      out.set(`${m.module}.lora_A.weight`, m.A);
      out.set(`${m.module}.lora_B.weight`, m.B);
    }
    return out;
  }

  nParams(): number {
    let n = 0;
    for (const m of this.modules.values()) n += m.A.data.length + m.B.data.length;
    return n;
  }

  clone(): LoraAdapter {
    const mods = new Map<string, LoraModule>();
    for (const [k, m] of this.modules) {
      mods.set(k, {
        ...m,
        A: { shape: [...m.A.shape], data: m.A.data.slice() },
        B: { shape: [...m.B.shape], data: m.B.data.slice() },
      });
    }
    return new LoraAdapter(this.config, mods);
  }
}

/**
 * Module name -> [out, in] of every targeted linear layer of `model` (layer order, then `lm_head` [vocab, hidden],
 * which exists whether or not the embeddings are tied).
 */
export function targetShapes(model: ModelConfig, targets: readonly LoraTarget[]): Map<string, [number, number]> {
  const shapes = parameterShapes(model);
  const out = new Map<string, [number, number]>();
  for (let l = 0; l < model.num_hidden_layers; l++) {
    for (const t of targets) {
      if (t === LM_HEAD) continue;
      const module = `model.layers.${l}.${PARENT[t]}.${t}`;
      const s = shapes.get(`${module}.weight`);
      if (!s || s.length !== 2) throw new UserError(`LoRA: the model has no linear weight ${module}.weight`);
      out.set(module, [s[0]!, s[1]!]);
    }
  }
  if (targets.includes(LM_HEAD)) out.set(LM_HEAD, [model.vocab_size, model.hidden_size]);
  return out;
}

/**
 * Adds the adapter's output to y [N, out] for input x [N, in]. With `dropoutRng` (training), the adapter sees
 * drop(x). Returns what the backward pass needs.
 */
export function loraForward(
  K: Kernels,
  m: LoraModule,
  scale: number,
  rank: number,
  dropout: number,
  x: Float32Array,
  y: Float32Array,
  N: number,
  dropoutRng: Rng | null,
): LoraActs {
  const I = m.inDim,
    O = m.outDim,
    r = rank;
  let xin = x;
  let mask: Float32Array | null = null;
  if (dropoutRng && dropout > 0) {
    mask = new Float32Array(N * I);
    xin = new Float32Array(N * I);
    const keep = 1 / (1 - dropout);
    for (let i = 0; i < mask.length; i++) {
      const v = dropoutRng.next() < dropout ? 0 : keep;
      mask[i] = v;
      xin[i] = x[i]! * v;
    }
  }
  const xa = new Float32Array(N * r);
  K.sgemm(false, true, N, r, I, 1, xin, I, m.A.data, I, 0, xa, r);
  K.sgemm(false, true, N, O, r, scale, xa, r, m.B.data, r, 1, y, O);
  return { x: xin, mask, xa };
}

/**
 * Backward of loraForward for dout [N, out]: gB += scale dout^T xa, gA += (scale dout B)^T drop(x),
 * dinp += drop'((scale dout B) A). gA / gB / dinp null skip those.
 */
export function loraBackward(
  K: Kernels,
  m: LoraModule,
  scale: number,
  rank: number,
  acts: LoraActs,
  dout: Float32Array,
  dinp: Float32Array | null,
  gA: Float32Array | null,
  gB: Float32Array | null,
  N: number,
): void {
  const I = m.inDim,
    O = m.outDim,
    r = rank;
  if (gB) K.sgemm(true, false, O, r, N, scale, dout, O, acts.xa, r, 1, gB, r);
  const dxa = new Float32Array(N * r);
  K.sgemm(false, false, N, r, O, scale, dout, O, m.B.data, r, 0, dxa, r);
  if (gA) K.sgemm(true, false, r, I, N, 1, dxa, r, acts.x, I, 1, gA, I);
  if (!dinp) return;
  if (!acts.mask) {
    K.sgemm(false, false, N, I, r, 1, dxa, r, m.A.data, I, 1, dinp, I);
    return;
  }
  const t = new Float32Array(N * I);
  K.sgemm(false, false, N, I, r, 1, dxa, r, m.A.data, I, 0, t, I);
  for (let i = 0; i < t.length; i++) dinp[i]! += t[i]! * acts.mask[i]!;
}

/**
 * The base with every adapter merged in (W + scale B A); the input map is not modified. An `lm_head` adapter on a
 * tied model unties it: the merged model gets its own `lm_head.weight` = E + scale B A and keeps the embedding E as
 * it was (`tie_word_embeddings` false in the returned config), so it computes what base + adapter computes. (PEFT's
 * merge_and_unload adds the delta into the one tied tensor instead, which moves the input embedding too, and warns.)
 */
export function mergeAdapter(
  K: Kernels,
  config: ModelConfig,
  weights: Map<string, WeightTensor>,
  adapter: LoraAdapter,
): { config: ModelConfig; weights: Map<string, WeightTensor> } {
  const out = new Map<string, WeightTensor>();
  for (const [k, t] of weights) out.set(k, t);
  const r = adapter.config.rank;
  let merged = config;
  for (const m of adapter.modules.values()) {
    const untie = m.module === LM_HEAD && config.tie_word_embeddings;
    const src = untie ? "model.embed_tokens.weight" : `${m.module}.weight`;
    const w = out.get(src);
    if (!w) throw new UserError(`merge: the base has no weight ${src}`);
    // a 16-bit base weight is widened: the merged weight is f32 (W + scale B A is not a bf16 value)
    const data = isHalfTensor(w) ? weightF32(w, K) : w.data.slice();
    K.sgemm(false, false, m.outDim, m.inDim, r, adapter.scale, m.B.data, r, m.A.data, m.inDim, 1, data, m.inDim);
    out.set(`${m.module}.weight`, { shape: [...w.shape], data });
    if (untie) merged = { ...config, tie_word_embeddings: false };
  }
  return { config: merged, weights: out };
}

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";

/** Writes `adapter_config.json` and `adapter_model.safetensors` (F32) as PEFT does. */
export function saveAdapter(dir: string, adapter: LoraAdapter, opts: { baseModel?: string } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const c = adapter.config;
  const cfg = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: opts.baseModel ?? null,
    r: c.rank,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: [...c.targetModules],
    bias: "none",
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    modules_to_save: null,
    inference_mode: true,
  };
  const tensors = new Map<string, SafeTensor>();
  for (const [name, t] of adapter.parameters())
    tensors.set(PEFT_PREFIX + name, { dtype: "F32", shape: t.shape, data: t.data });
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors, { format: "pt" });
  fs.writeFileSync(path.join(dir, ADAPTER_CONFIG), JSON.stringify(cfg, null, 2) + "\n");
}

const PeftConfigSchema = z
  .object({
    peft_type: z.string().optional(),
    r: z.number().int().positive(),
    lora_alpha: z.number().positive(),
    lora_dropout: z.number().min(0).lt(1).default(0),
    target_modules: z.union([z.array(z.string()), z.string()]),
    bias: z.string().default("none"),
    fan_in_fan_out: z.boolean().default(false),
    use_rslora: z.boolean().default(false),
    use_dora: z.boolean().default(false),
    rank_pattern: z.record(z.string(), z.unknown()).nullish(),
    alpha_pattern: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

/** The copy of the base LM head PEFT writes next to an `lm_head` adapter (`save_embedding_layers="auto"`). */
export const PEFT_LM_HEAD_BASE = `${PEFT_PREFIX}${LM_HEAD}.base_layer.weight`;

/**
 * Reads a PEFT LoRA adapter folder for a base model of config `model`. Unsupported settings (DoRA, rsLoRA,
 * bias training, per-module rank patterns, regex target_modules, modules other than q/k/v/o/gate/up/down/lm_head)
 * and missing or mis-shaped tensors are UserErrors; nothing half-loaded is returned.
 *
 * PEFT saves an `lm_head` adapter together with a copy of the base LM head (`lm_head.base_layer.weight`; PEFT's
 * loader would write it over the base). With `base` (the model's weights) that copy is checked against the base's
 * LM head (the embedding when tied), equal up to 16-bit rounding, and a different one is refused (an adapter trained
 * on another base or a resized vocabulary); it is never loaded over the base.
 */
export function loadAdapter(dir: string, model: ModelConfig, base?: Map<string, WeightTensor>): LoraAdapter {
  const cfgPath = path.join(dir, ADAPTER_CONFIG),
    wPath = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(cfgPath))
    throw new UserError(
      `adapter: ${cfgPath} not found (a PEFT LoRA folder has ${ADAPTER_CONFIG} and ${ADAPTER_WEIGHTS})`,
    );
  if (!fs.existsSync(wPath))
    throw new UserError(`adapter: ${wPath} not found (only safetensors adapters are supported)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(cfgPath, "utf8"));
  } catch (e) {
    throw new UserError(`adapter: ${cfgPath} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = PeftConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new UserError(
      `adapter: ${cfgPath}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const p = parsed.data;
  const bad = (what: string) => {
    throw new UserError(
      `adapter: ${cfgPath}: ${what} is not supported (supported: plain LoRA, bias "none", no DoRA/rsLoRA, a list of target modules among ${LORA_TARGETS.join(", ")})`,
    );
  };
  if (p.peft_type !== undefined && p.peft_type !== "LORA") bad(`peft_type ${p.peft_type}`);
  if (p.use_dora) bad("use_dora");
  if (p.use_rslora) bad("use_rslora");
  if (p.fan_in_fan_out) bad("fan_in_fan_out");
  if (p.bias !== "none") bad(`bias "${p.bias}"`);
  if (p.rank_pattern && Object.keys(p.rank_pattern).length) bad("rank_pattern");
  if (p.alpha_pattern && Object.keys(p.alpha_pattern).length) bad("alpha_pattern");
  if (typeof p.target_modules === "string") bad(`target_modules as a pattern ("${p.target_modules}")`);
  const targets = p.target_modules as string[];
  for (const t of targets) if (!(LORA_TARGETS as readonly string[]).includes(t)) bad(`target module "${t}"`);
  const config = LoraConfigSchema.parse({
    rank: p.r,
    alpha: p.lora_alpha,
    dropout: p.lora_dropout,
    targetModules: [...new Set(targets)],
  });
  const file = readSafetensors(wPath);
  const modules = new Map<string, LoraModule>();
  const used = new Set<string>();
  const get = (key: string, shape: number[]): LoraTensor => {
    const t = file.tensors.get(key) ?? file.tensors.get(key.replace(/\.weight$/, ".default.weight"));
    if (!t) throw new UserError(`adapter: ${wPath} has no tensor ${key}`);
    if (t.shape.join(",") !== shape.join(","))
      throw new UserError(`adapter: ${key} has shape [${t.shape}], the base model needs [${shape}]`);
    if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16")
      throw new UserError(`adapter: ${key} has dtype ${t.dtype} (supported: F32, F16, BF16)`);
    used.add(file.tensors.has(key) ? key : key.replace(/\.weight$/, ".default.weight"));
    return { shape, data: weightToF32(t) };
  };
  for (const [module, [outDim, inDim]] of targetShapes(model, config.targetModules)) {
    const A = get(`${PEFT_PREFIX}${module}.lora_A.weight`, [config.rank, inDim]);
    const B = get(`${PEFT_PREFIX}${module}.lora_B.weight`, [outDim, config.rank]);
    modules.set(module, { module, inDim, outDim, A, B });
  }
  const headCopy = file.tensors.get(PEFT_LM_HEAD_BASE);
  if (headCopy && modules.has(LM_HEAD)) {
    used.add(PEFT_LM_HEAD_BASE);
    if (headCopy.shape.join(",") !== `${model.vocab_size},${model.hidden_size}`)
      throw new UserError(
        `adapter: ${PEFT_LM_HEAD_BASE} has shape [${headCopy.shape}], the base model's LM head is [${model.vocab_size},${model.hidden_size}]`,
      );
    const own = base?.get(model.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    if (own) {
      const a = weightToF32(headCopy),
        b = isHalfTensor(own) ? weightF32(own, getKernels()) : own.data;
      let worst = 0,
        at = -1;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i]! - b[i]!);
        // equal up to bf16 rounding (the copy may be stored in another precision than the base)
        if (!(d <= 2 ** -8 * Math.max(Math.abs(a[i]!), Math.abs(b[i]!)) + 1e-7) && (d > worst || at < 0)) {
          worst = d;
          at = i;
        }
      }
      if (at >= 0)
        throw new UserError(
          `adapter: ${wPath} carries its base LM head (${PEFT_LM_HEAD_BASE}, as PEFT saves it with an lm_head ` +
            `adapter) and it differs from this base model's (|diff| ${worst.toExponential(2)} at value ${at}): the ` +
            "adapter was trained on another base or a resized vocabulary; load it on the base it was trained on",
        );
    }
  }
  const extra = [...file.tensors.keys()].filter((k) => !used.has(k));
  if (extra.length)
    throw new UserError(
      `adapter: ${wPath} has tensors this base model does not have LoRA layers for: ${extra.slice(0, 5).join(", ")}`,
    );
  return new LoraAdapter(config, modules);
}
