/**
 * EmbeddedPolicy: the in-process CPU LLaMA (src/engine) behind the Tinker-shaped Policy interface.
 *
 *   const policy = createEmbeddedPolicy({ preset: "base", tokenizer, seed: 1 });
 *   await policy.forwardBackward(datums, { kind: "cross_entropy" });   // accumulates gradients
 *   await policy.optimStep({ learningRate: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 });
 *   const samples = await policy.sample([{ prompt, n: 4, params: { maxTokens: 64, temperature: 1 } }]);
 *   await policy.saveState("runs/x/step-00000010");   // weights + AdamW moments + step + RNG (atomic)
 *   const again = loadEmbeddedPolicy("runs/x/step-00000010");   // bit-for-bit continuation
 *
 * Sampled log-probs are log softmax(logits / T) at the sampling temperature T (see src/engine/sampler.ts);
 * computeLogprobs / forwardBackward take the same temperature (`opts.temperature`, `LossSpec.temperature`).
 */
import type {
  AdamParams,
  Datum,
  ForwardBackwardResult,
  LogprobOptions,
  LossSpec,
  OptimStepResult,
  Policy,
  PolicyInfo,
  SampledSequence,
  SampleRequest,
  Sampler,
  ScoringSampler,
} from "../core/policy.js";
import { ModelConfigSchema, MODEL_PRESETS, type ModelConfig, type ModelPreset } from "../engine/config.js";
import { isHalfTensor, LlamaModel } from "../engine/model.js";
import { AdamW } from "../engine/optim.js";
import { Rng, type RngState } from "../core/rng.js";
import { generate } from "../engine/sampler.js";
import { datumLogprobs, lossForwardBackward } from "../engine/train.js";
import { getKernels, type Kernels } from "../engine/kernels.js";
import path from "node:path";
import {
  baseWeightsSha256,
  isLoraState,
  loadCheckpoint,
  loadLoraState,
  saveCheckpoint,
  saveLoraState,
} from "../engine/checkpoint.js";
import { UserError } from "../core/errors.js";
import fs from "node:fs";
import { LoraAdapter, loadAdapter, saveAdapter, type LoraConfig, type LoraConfigInput } from "../engine/lora.js";
import type { BpeTokenizer } from "../engine/tokenizer.js";
import { PAD_ID } from "../engine/special.js";

export interface EmbeddedPolicyOptions {
  /** A full config (vocab/bos/eos may be omitted: taken from the tokenizer) ... */
  config?: Partial<ModelConfig>;
  /** ... or a preset name (tiny | small | base | medium | large). */
  preset?: ModelPreset;
  tokenizer: BpeTokenizer;
  seed?: number;
  /** Micro-batch size in tokens for forward/backward (default: 4096, less for big models; engine defaultChunkTokens). */
  maxChunkTokens?: number;
  /** Sequences decoded together when sampling (default 32). */
  maxSampleBatch?: number;
  modelName?: string;
  /** Override the kernels (tests: force the TS fallback). */
  kernels?: Kernels;
}

/** Resolves a preset or partial config against a tokenizer into a full, validated ModelConfig. */
export function modelConfigFor(
  opts: { config?: Partial<ModelConfig>; preset?: ModelPreset },
  tokenizer: BpeTokenizer,
): ModelConfig {
  let base: Record<string, unknown>;
  if (opts.preset) {
    const p = MODEL_PRESETS[opts.preset];
    if (!p) throw new Error(`unknown model preset '${opts.preset}' (known: ${Object.keys(MODEL_PRESETS).join(", ")})`);
    base = { ...p, ...(opts.config ?? {}) };
  } else if (opts.config) base = { ...opts.config };
  else throw new Error("createEmbeddedPolicy: give a config or a preset");
  const parsed = ModelConfigSchema.safeParse({
    vocab_size: tokenizer.vocabSize,
    bos_token_id: tokenizer.bosId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.tokenId("<|pad|>") ?? PAD_ID,
    ...base,
  });
  if (!parsed.success)
    throw new Error(
      `invalid model config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  if (parsed.data.vocab_size < tokenizer.vocabSize) {
    throw new Error(
      `model vocab_size ${parsed.data.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`,
    );
  }
  return parsed.data;
}

class FrozenSampler implements Sampler {
  constructor(
    readonly info: PolicyInfo,
    readonly tokenizer: BpeTokenizer,
    protected model: LlamaModel,
    protected rng: Rng,
    protected maxChunkTokens: number | undefined,
    protected maxSampleBatch: number,
  ) {}

  async sample(requests: SampleRequest[]): Promise<SampledSequence[][]> {
    return generate(this.model, this.tokenizer, requests, this.rng, { maxBatch: this.maxSampleBatch });
  }

  async computeLogprobs(datums: Datum[], opts: LogprobOptions = {}): Promise<number[][]> {
    return datumLogprobs(this.model, datums, { maxTokens: this.maxChunkTokens, temperature: opts.temperature })
      .logprobs;
  }
}

export class EmbeddedPolicy extends FrozenSampler implements Policy {
  private optimizer: AdamW;
  private grads: Map<string, Float32Array> | null = null;

  constructor(
    model: LlamaModel,
    tokenizer: BpeTokenizer,
    rng: Rng,
    opts: { maxChunkTokens?: number; maxSampleBatch?: number; modelName?: string } = {},
  ) {
    super(
      {
        backend: "embedded",
        modelName: opts.modelName ?? "batcoder-llama",
        nParams: model.nParams(),
        contextLength: model.ctx,
      },
      tokenizer,
      model,
      rng,
      opts.maxChunkTokens,
      opts.maxSampleBatch ?? 32,
    );
    this.optimizer = new AdamW(model.kernels);
  }

  /** The underlying model (HF-named weights, forwardLogits, generateGreedy). */
  get llama(): LlamaModel {
    return this.model;
  }

  /** Optimizer steps taken. */
  get step(): number {
    return this.optimizer.step;
  }

  get rngState(): RngState {
    return this.rng.getState();
  }

  async forwardBackward(datums: Datum[], loss: LossSpec): Promise<ForwardBackwardResult> {
    if (!this.grads) this.grads = this.model.zeroGrads();
    return lossForwardBackward(this.model, datums, loss, this.grads, { maxTokens: this.maxChunkTokens });
  }

  async optimStep(adam: AdamParams): Promise<OptimStepResult> {
    if (!this.grads) this.grads = this.model.zeroGrads(); // a step with no gradients still decays weights / advances state
    const gradNorm = this.optimizer.update(this.model.trainableWeights(), this.grads, adam);
    for (const g of this.grads.values()) g.fill(0);
    return { gradNorm, step: this.optimizer.step };
  }

  /**
   * Starts LoRA training on this policy: a fresh adapter (A Kaiming-uniform from `seed`, B zero, so the model is
   * unchanged) on the frozen base. Only the adapter trains from here on; the optimizer starts afresh (no moments, step
   * 0) because its parameters are new. Accumulated gradients are dropped. Replaces an adapter already attached.
   */
  attachLora(config: LoraConfigInput, seed = 0): LoraAdapter {
    const adapter = LoraAdapter.init(this.model.config, config, seed);
    this.model.lora = adapter;
    this.model.freezeBase = true;
    this.optimizer.m.clear();
    this.optimizer.v.clear();
    this.optimizer.step = 0;
    this.grads = null;
    return adapter;
  }

  /** The attached LoRA adapter's settings (null: every weight trains). */
  get loraConfig(): LoraConfig | null {
    return this.model.lora?.config ?? null;
  }

  /** Drops accumulated gradients without stepping. */
  zeroGrad(): void {
    if (this.grads) for (const g of this.grads.values()) g.fill(0);
  }

  /** AdamW moments of the trainable tensors (`m.<name>`, `v.<name>`), as checkpoints store them. */
  private optimizerTensors(): Map<string, { shape: number[]; data: Float32Array }> {
    const state = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of this.model.trainableWeights()) {
      const m = this.optimizer.m.get(name),
        v = this.optimizer.v.get(name);
      if (m && v) {
        state.set(`m.${name}`, { shape: t.shape, data: m });
        state.set(`v.${name}`, { shape: t.shape, data: v });
      }
    }
    return state;
  }

  /** The trainer state a saved state carries: the caller's extra fields, the step, the model name, the dropout RNG. */
  private trainerState(extra?: Record<string, unknown>): Record<string, unknown> {
    return {
      ...(extra ?? {}),
      step: this.optimizer.step,
      modelName: this.info.modelName,
      // LoRA dropout draws from the adapter's own stream: saved so a resumed run draws the same masks
      ...(this.model.lora ? { loraDropoutRng: this.model.lora.dropoutRng.getState() } : {}),
    };
  }

  async saveState(dir: string, extra?: Record<string, unknown>): Promise<void> {
    const state = this.optimizerTensors();
    saveCheckpoint(dir, {
      config: this.model.config,
      weights: this.model.weights,
      tokenizer: this.tokenizer,
      optimizer: { state, meta: { kind: "adamw", step: this.optimizer.step } },
      rng: this.rng.getState(),
      step: this.optimizer.step,
      trainerState: this.trainerState(extra),
    });
    // A LoRA adapter (frozen base): its tensors in the PEFT layout next to the checkpoint; its AdamW moments are in
    // the optimizer state above under the adapter's parameter names.
    if (this.model.lora) saveAdapter(path.join(dir, "adapter"), this.model.lora);
  }

  /** SHA-256 of the base weights as held (see baseWeightsSha256): what an adapter-only state was trained on. */
  baseSha256(): string {
    return baseWeightsSha256(this.model.weights);
  }

  /**
   * Saves an adapter-only LoRA training state (src/engine/checkpoint.ts saveLoraState): the adapter (PEFT layout),
   * its AdamW state, the step, the sampling RNG and the dropout RNG, plus a reference to the frozen base (`baseModel`:
   * a model id or path, the SHA-256 of its weights and their dtypes) instead of the base weights. `loadState` of it
   * needs a policy on the same base (bit-identical weights, same storage) with a LoRA adapter attached.
   */
  async saveAdapterState(dir: string, base: { model: string }, extra?: Record<string, unknown>): Promise<void> {
    const lora = this.model.lora;
    if (!lora || !this.model.freezeBase)
      throw new Error("saveAdapterState: this policy trains its base weights (full fine-tuning): use saveState");
    saveLoraState(dir, {
      config: this.model.config,
      base: { model: base.model, sha256: this.baseSha256(), dtypes: this.model.baseDtypes() },
      adapter: lora,
      optimizer: { state: this.optimizerTensors(), meta: { kind: "adamw", step: this.optimizer.step } },
      rng: this.rng.getState(),
      step: this.optimizer.step,
      trainerState: this.trainerState(extra),
    });
  }

  /** Loads an adapter-only LoRA state into this policy (the same base, an adapter of the same settings attached). */
  private loadAdapterState(dir: string): void {
    const st = loadLoraState(dir);
    const lora = this.model.lora;
    if (!lora || !this.model.freezeBase)
      throw new UserError(
        `loadState: ${dir} is an adapter-only LoRA training state, but this policy trains all weights (create the model with a LoRA rank)`,
      );
    if (JSON.stringify(st.config) !== JSON.stringify(this.model.config))
      throw new UserError(`loadState: ${dir} was trained on a base with a different model config than this policy's`);
    const own = this.baseSha256();
    if (own !== st.base.sha256) {
      const fmt = (d: Record<string, number>) =>
        Object.entries(d)
          .map(([k, n]) => `${k} ×${n}`)
          .join(", ");
      throw new UserError(
        `loadState: ${dir} is a LoRA state trained on base '${st.base.model}' (weights sha256 ${st.base.sha256.slice(0, 16)}…, ` +
          `matrices ${fmt(st.base.dtypes)}), but this policy's base differs (sha256 ${own.slice(0, 16)}…, matrices ` +
          `${fmt(this.model.baseDtypes())}): a LoRA state continues only on the base it was trained on (same weights, ` +
          "same --base-dtype)",
      );
    }
    const a = st.adapter.config,
      b = lora.config;
    if (a.rank !== b.rank || a.alpha !== b.alpha || a.targetModules.join(",") !== b.targetModules.join(","))
      throw new UserError(
        `loadState: ${dir} holds a LoRA adapter of rank ${a.rank}, alpha ${a.alpha} on ${a.targetModules.join("/")}; ` +
          `this policy's is rank ${b.rank}, alpha ${b.alpha} on ${b.targetModules.join("/")}`,
      );
    // every check passed: from here nothing can fail halfway (optimizer tensors are checked before they are set)
    const params = lora.parameters();
    const opt = { m: new Map(this.optimizer.m), v: new Map(this.optimizer.v), step: this.optimizer.step };
    try {
      restoreOptimizer(this.optimizer, st.optimizer, this.model);
    } catch (e) {
      this.optimizer.m = opt.m;
      this.optimizer.v = opt.v;
      this.optimizer.step = opt.step;
      throw e;
    }
    for (const [name, t] of st.adapter.parameters()) params.get(name)!.data.set(t.data);
    const drng = st.trainerState?.loraDropoutRng;
    if (Array.isArray(drng)) lora.dropoutRng.setState(drng as number[]);
    if (Array.isArray(st.rng)) this.rng.setState(st.rng as number[]);
    this.zeroGrad();
  }

  async loadState(dir: string): Promise<void> {
    if (isLoraState(dir)) return this.loadAdapterState(dir);
    const ck = loadCheckpoint(dir);
    const cfgA = JSON.stringify(ck.config),
      cfgB = JSON.stringify(this.model.config);
    if (cfgA !== cfgB) throw new Error(`loadState: checkpoint ${dir} has a different model config than this policy`);
    const adapterDir = path.join(dir, "adapter");
    const hasAdapter = fs.existsSync(path.join(adapterDir, "adapter_config.json"));
    // a LoRA state and a full fine-tuning state do not mix: refuse before touching anything
    if (hasAdapter !== !!this.model.lora)
      throw new Error(
        hasAdapter
          ? `loadState: ${dir} is a LoRA training state (adapter/), but this policy trains all weights`
          : `loadState: ${dir} has no LoRA adapter (adapter/), but this policy trains one`,
      );
    let saved: LoraAdapter | null = null;
    if (this.model.lora) {
      saved = loadAdapter(adapterDir, this.model.config);
      const a = saved.config,
        b = this.model.lora.config;
      if (a.rank !== b.rank || a.alpha !== b.alpha || a.targetModules.join(",") !== b.targetModules.join(","))
        throw new Error(
          `loadState: ${dir} holds a LoRA adapter of rank ${a.rank}, alpha ${a.alpha} on ${a.targetModules.join("/")}; ` +
            `this policy's is rank ${b.rank}, alpha ${b.alpha} on ${b.targetModules.join("/")}`,
        );
    }
    for (const [name, t] of ck.weights) {
      const w = this.model.weights.get(name)!;
      // a 16-bit frozen base: the checkpoint holds the same bits, widened on load; narrowing them back is exact
      if (isHalfTensor(w)) this.model.kernels.f32ToHalf(t.data, w.dtype, w.data, w.data.length);
      else w.data.set(t.data);
    }
    if (saved && this.model.lora) {
      const params = this.model.lora.parameters();
      for (const [name, t] of saved.parameters()) params.get(name)!.data.set(t.data);
      const drng = ck.trainerState?.loraDropoutRng;
      if (Array.isArray(drng)) this.model.lora.dropoutRng.setState(drng as number[]);
    }
    restoreOptimizer(this.optimizer, ck.optimizer, this.model);
    if (Array.isArray(ck.rng)) this.rng.setState(ck.rng as number[]);
    this.zeroGrad();
  }

  async snapshotReference(): Promise<ScoringSampler> {
    return new FrozenSampler(
      { ...this.info, modelName: `${this.info.modelName}@ref-step${this.optimizer.step}` },
      this.tokenizer,
      // a LoRA policy's frozen base is shared with the reference (never written while frozen); the adapter is copied
      this.model.clone({ shareFrozenBase: true }),
      this.rng.fork(),
      this.maxChunkTokens,
      this.maxSampleBatch,
    );
  }

  async close(): Promise<void> {
    this.grads = null;
  }
}

function restoreOptimizer(
  opt: AdamW,
  saved: { state: Map<string, { shape: number[]; data: unknown }>; meta: Record<string, unknown> } | undefined,
  model: LlamaModel,
): void {
  opt.m.clear();
  opt.v.clear();
  opt.step = 0;
  if (!saved) return;
  const step = saved.meta.step;
  if (typeof step !== "number" || !Number.isInteger(step) || step < 0)
    throw new Error("loadState: optimizer.json has no valid step");
  opt.step = step;
  for (const [key, t] of saved.state) {
    const kind = key.slice(0, 2),
      name = key.slice(2);
    const w = model.trainableWeights().get(name);
    if ((kind !== "m." && kind !== "v.") || !w) throw new Error(`loadState: unexpected optimizer tensor ${key}`);
    if (!(t.data instanceof Float32Array) || t.data.length !== w.data.length)
      throw new Error(`loadState: optimizer tensor ${key} has the wrong size or type`);
    (kind === "m." ? opt.m : opt.v).set(name, t.data);
  }
}

/** A freshly initialised policy from a preset or config. */
export function createEmbeddedPolicy(opts: EmbeddedPolicyOptions): EmbeddedPolicy {
  const config = modelConfigFor(opts, opts.tokenizer);
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const model = LlamaModel.init(config, rng.fork(), opts.kernels ?? getKernels());
  return new EmbeddedPolicy(model, opts.tokenizer, rng, opts);
}

/** Loads a policy (weights, optimizer, step, RNG) from a checkpoint directory written by saveState / saveCheckpoint. */
export function loadEmbeddedPolicy(
  dir: string,
  opts: { maxChunkTokens?: number; maxSampleBatch?: number; kernels?: Kernels } = {},
): EmbeddedPolicy {
  const ck = loadCheckpoint(dir);
  const model = new LlamaModel(ck.config, ck.weights, opts.kernels ?? getKernels());
  const rng = new Rng(0);
  if (Array.isArray(ck.rng)) rng.setState(ck.rng as number[]);
  const name = typeof ck.trainerState?.modelName === "string" ? (ck.trainerState.modelName as string) : undefined;
  // a LoRA training state (saveState wrote adapter/ next to the base weights): the adapter comes back attached
  const adapterDir = path.join(dir, "adapter");
  if (fs.existsSync(path.join(adapterDir, "adapter_config.json"))) {
    model.lora = loadAdapter(adapterDir, ck.config);
    const drng = ck.trainerState?.loraDropoutRng;
    if (Array.isArray(drng)) model.lora.dropoutRng.setState(drng as number[]);
  }
  const p = new EmbeddedPolicy(model, ck.tokenizer, rng, { ...opts, ...(name ? { modelName: name } : {}) });
  restoreOptimizer((p as unknown as { optimizer: AdamW }).optimizer, ck.optimizer, model);
  return p;
}
