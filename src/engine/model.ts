/**
 * LLaMA-family decoder (llama, mistral, qwen2, qwen3: see src/engine/config.ts) with explicit forward and
 * backward passes (llm.c style) on Float32Arrays. Every linear layer goes through matmulForward / matmulBackward
 * (optional bias), so the backward pass reads as the forward pass in reverse.
 *
 * Weights live in `model.weights`, a Map from the HF parameter names of src/engine/config.ts to
 * `{ shape, data }` (row-major, [out, in] for linears). Activations of a training forward pass are kept in a
 * `ForwardCache` so `backward` can run without recomputation (attention keeps only the per-row log-sum-exp and
 * recomputes probabilities).
 *
 * Batches are PACKED: several sequences are concatenated into N rows; matmuls run over all rows at once and
 * attention and rotary positions restart at each segment, so datums of different lengths waste no padding.
 */
import {
  contextLength,
  hasOBias,
  hasQkNorm,
  hasQkvBias,
  headDim,
  type ModelConfig,
  ModelConfigSchema,
  parameterShapes,
  ropeInvFreq,
} from "./config.js";
import { getKernels, type Kernels } from "./kernels.js";
import { type HalfTensor, isHalfTensor, type Tensor, type WeightTensor, weightF32, type BaseDtype } from "./tensor.js";
import { Rng } from "../core/rng.js";
import { LM_HEAD, type LoraActs, type LoraAdapter, loraBackward, loraForward } from "./lora.js";

export type { BaseDtype, HalfTensor, Tensor, WeightTensor } from "./tensor.js";
export { BASE_DTYPES, isHalfTensor, weightF32 } from "./tensor.js";

/** A linear layer's weight: f32 values or a 16-bit HalfTensor. */
export type LinearWeight = Float32Array | HalfTensor;

/** Several sequences packed into one batch. */
export interface PackedBatch {
  tokens: Int32Array;
  positions: Int32Array;
  segStart: Int32Array;
  segLen: Int32Array;
}

export function packSequences(seqs: ArrayLike<number>[]): PackedBatch {
  const N = seqs.reduce((a, s) => a + s.length, 0);
  const tokens = new Int32Array(N);
  const positions = new Int32Array(N);
  const segStart = new Int32Array(seqs.length);
  const segLen = new Int32Array(seqs.length);
  let o = 0;
  seqs.forEach((s, i) => {
    segStart[i] = o;
    segLen[i] = s.length;
    for (let t = 0; t < s.length; t++) {
      tokens[o + t] = s[t]!;
      positions[o + t] = t;
    }
    o += s.length;
  });
  return { tokens, positions, segStart, segLen };
}

interface LayerActs {
  xin: Float32Array;
  xn1: Float32Array;
  rstd1: Float32Array;
  /** q/k before the per-head norm and their rstd (qwen3 only). */
  qpre: Float32Array | null;
  kpre: Float32Array | null;
  rstdq: Float32Array | null;
  rstdk: Float32Array | null;
  /** q/k after bias, norm and rotary. */
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  att: Float32Array;
  lse: Float32Array;
  xmid: Float32Array;
  xn2: Float32Array;
  rstd2: Float32Array;
  g: Float32Array;
  u: Float32Array;
  act: Float32Array;
  /** LoRA activations by module suffix (`self_attn.q_proj`), when an adapter is attached. */
  lora: Map<string, LoraActs> | null;
}

export interface ForwardCache {
  batch: PackedBatch;
  N: number;
  layers: LayerActs[];
  xfinalIn: Float32Array;
  xf: Float32Array;
  rstdf: Float32Array;
  /** [N, vocab] logits (overwritten by dlogits in the backward pass). */
  logits: Float32Array;
  /** The LM head adapter's activations (an adapter targeting `lm_head`), else null. */
  headLora: LoraActs | null;
}

/** Per-slot KV cache for incremental decoding: per layer [slots, maxLen, n_kv_heads*head_dim]. */
export class KVCache {
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  /** Number of cached positions per slot. */
  readonly len: Int32Array;
  constructor(
    readonly nLayers: number,
    readonly slots: number,
    readonly maxLen: number,
    readonly kvDim: number,
  ) {
    this.k = [];
    this.v = [];
    for (let l = 0; l < nLayers; l++) {
      this.k.push(new Float32Array(slots * maxLen * kvDim));
      this.v.push(new Float32Array(slots * maxLen * kvDim));
    }
    this.len = new Int32Array(slots);
  }
  /** Copies slot src's cached positions into slot dst (e.g. one prefilled prompt shared by n samples). */
  copySlot(src: number, dst: number): void {
    const n = this.len[src]! * this.kvDim;
    const so = src * this.maxLen * this.kvDim,
      dso = dst * this.maxLen * this.kvDim;
    for (let l = 0; l < this.nLayers; l++) {
      this.k[l]!.copyWithin(dso, so, so + n);
      this.v[l]!.copyWithin(dso, so, so + n);
    }
    this.len[dst] = this.len[src]!;
  }
}

export { parameterShapes };

function cloneTensor(t: WeightTensor): WeightTensor {
  return isHalfTensor(t)
    ? { shape: [...t.shape], data: t.data.slice(), dtype: t.dtype }
    : { shape: [...t.shape], data: t.data.slice() };
}

export function countParams(c: ModelConfig): number {
  let n = 0;
  for (const s of parameterShapes(c).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}

/** out[N, O] = inp[N, I] W[O, I]^T (+ bias[O]) (+ out when beta is 1). */
export function matmulForward(
  K: Kernels,
  out: Float32Array,
  inp: Float32Array,
  W: LinearWeight,
  bias: Float32Array | null,
  N: number,
  I: number,
  O: number,
  beta = 0,
): Float32Array {
  if (beta !== 0 && beta !== 1) throw new Error(`matmulForward: beta ${beta} (only 0: write, or 1: accumulate)`);
  // few rows (decoding): the fused matvec kernels stream W once per up to 4 rows; many rows: OpenBLAS sgemm
  if (W instanceof Float32Array) K.linearFwd(inp, W, bias, out, N, I, O, beta === 1);
  else K.linearFwdHalf(inp, W.data, W.dtype, bias, out, N, I, O, beta === 1);
  return out;
}

/**
 * Backward of matmulForward: dinp = dout W (added to dinp when accumulate), dW += dout^T inp, dbias += column
 * sums of dout. dinp may be null when the input needs no gradient, dW null for a frozen weight (always for a
 * 16-bit weight, which is frozen by construction).
 */
export function matmulBackward(
  K: Kernels,
  dinp: Float32Array | null,
  dW: Float32Array | null,
  dbias: Float32Array | null,
  dout: Float32Array,
  inp: Float32Array,
  W: LinearWeight,
  N: number,
  I: number,
  O: number,
  accumulate = false,
): void {
  if (!(W instanceof Float32Array)) {
    if (dW) throw new Error("matmulBackward: a 16-bit (frozen) weight cannot get a gradient");
    if (dinp) K.linearBwdHalf(dout, W.data, W.dtype, dinp, N, I, O, accumulate);
    if (dbias) for (let r = 0; r < N; r++) for (let o = 0, ro = r * O; o < O; o++) dbias[o]! += dout[ro + o]!;
    return;
  }
  if (dinp) K.sgemm(false, false, N, I, O, 1, dout, O, W, I, accumulate ? 1 : 0, dinp, I);
  if (dW) K.sgemm(true, false, O, I, N, 1, dout, O, inp, I, 1, dW, I);
  if (dbias) for (let r = 0; r < N; r++) for (let o = 0, ro = r * O; o < O; o++) dbias[o]! += dout[ro + o]!;
}

interface LayerW {
  inNorm: Float32Array;
  wq: LinearWeight;
  wk: LinearWeight;
  wv: LinearWeight;
  wo: LinearWeight;
  bq: Float32Array | null;
  bk: Float32Array | null;
  bv: Float32Array | null;
  bo: Float32Array | null;
  qNorm: Float32Array | null;
  kNorm: Float32Array | null;
  postNorm: Float32Array;
  wg: LinearWeight;
  wu: LinearWeight;
  wd: LinearWeight;
}

export class LlamaModel {
  readonly config: ModelConfig;
  /** f32 tensors, except 2-D matrices converted to 16 bits by setBaseDtype (frozen base; see BaseDtype). */
  readonly weights: Map<string, WeightTensor>;
  readonly d: number;
  readonly H: number;
  readonly Hkv: number;
  readonly hd: number;
  readonly F: number;
  readonly V: number;
  readonly L: number;
  readonly ctx: number;
  readonly ropeCos: Float32Array;
  readonly ropeSin: Float32Array;
  readonly qkvBias: boolean;
  readonly oBias: boolean;
  readonly qkNorm: boolean;
  kernels: Kernels;
  /**
   * LoRA adapter applied on top of the base weights (src/engine/lora.ts), or null. With an adapter and
   * `freezeBase`, zeroGrads / trainableWeights cover the adapter only: the base gets no gradient or optimizer state.
   */
  lora: LoraAdapter | null = null;
  freezeBase = true;

  constructor(config: ModelConfig, weights: Map<string, WeightTensor>, kernels?: Kernels) {
    this.config = ModelConfigSchema.parse(config);
    const c = this.config;
    this.d = c.hidden_size;
    this.H = c.num_attention_heads;
    this.Hkv = c.num_key_value_heads;
    this.hd = headDim(c);
    this.F = c.intermediate_size;
    this.V = c.vocab_size;
    this.L = c.num_hidden_layers;
    this.ctx = contextLength(c);
    this.qkvBias = hasQkvBias(c);
    this.oBias = hasOBias(c);
    this.qkNorm = hasQkNorm(c);
    this.kernels = kernels ?? getKernels();
    const shapes = parameterShapes(c);
    for (const [name, shape] of shapes) {
      const t = weights.get(name);
      if (!t) throw new Error(`model weights: missing tensor ${name}`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (t.data.length !== n || t.shape.join(",") !== shape.join(",")) {
        throw new Error(`model weights: ${name} has shape [${t.shape}] (${t.data.length} values), expected [${shape}]`);
      }
      if (isHalfTensor(t) && shape.length !== 2)
        throw new Error(`model weights: ${name} is ${t.dtype}; only 2-D weight matrices may be 16-bit`);
    }
    for (const name of weights.keys())
      if (!shapes.has(name)) throw new Error(`model weights: unexpected tensor ${name}`);
    this.weights = weights;
    const half = this.hd / 2;
    const invFreq = ropeInvFreq(c);
    this.ropeCos = new Float32Array(this.ctx * half);
    this.ropeSin = new Float32Array(this.ctx * half);
    for (let p = 0; p < this.ctx; p++) {
      for (let j = 0; j < half; j++) {
        const a = p * invFreq[j]!;
        this.ropeCos[p * half + j] = Math.cos(a);
        this.ropeSin[p * half + j] = Math.sin(a);
      }
    }
  }

  /**
   * Random initialisation: N(0, 0.02) for embeddings and projections (output projections scaled by 1/sqrt(2L)),
   * ones for norms, zeros for biases.
   */
  static init(config: ModelConfig, seed: number | Rng = 0, kernels?: Kernels): LlamaModel {
    const c = ModelConfigSchema.parse(config);
    const rng = seed instanceof Rng ? seed : new Rng(seed);
    const weights = new Map<string, Tensor>();
    const residScale = 1 / Math.sqrt(2 * c.num_hidden_layers);
    for (const [name, shape] of parameterShapes(c)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (name.endsWith(".bias")) data.fill(0);
      else if (shape.length === 1) data.fill(1);
      else {
        const std = 0.02 * (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? residScale : 1);
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      }
      weights.set(name, { shape: [...shape], data });
    }
    return new LlamaModel(c, weights, kernels);
  }

  /**
   * A copy (e.g. a frozen reference model). Deep by default; with `shareFrozenBase` and a LoRA adapter on a frozen
   * base, the base tensors are shared (never written while frozen) and only the adapter is copied.
   */
  clone(opts: { shareFrozenBase?: boolean } = {}): LlamaModel {
    const share = !!opts.shareFrozenBase && this.lora !== null && this.freezeBase;
    const w = new Map<string, WeightTensor>();
    for (const [k, t] of this.weights) w.set(k, share ? t : cloneTensor(t));
    const m = new LlamaModel(this.config, w, this.kernels);
    if (this.lora) m.lora = this.lora.clone();
    m.freezeBase = this.freezeBase;
    return m;
  }

  nParams(): number {
    let n = 0;
    for (const t of this.weights.values()) n += t.data.length;
    return n;
  }

  /**
   * Bytes a training forward pass keeps per token for the backward pass (every layer's activations, LoRA's
   * rank-sized ones, the final norm and the [vocab] logits row), f32. Sizes micro-batches (train.ts).
   */
  trainingBytesPerToken(): number {
    const { d, H, Hkv, hd, F, V } = this;
    const qd = H * hd,
      kvd = Hkv * hd;
    let perLayer = 6 * d + 2 * qd + 2 * kvd + H + 2 + 3 * F;
    if (this.qkNorm) perLayer += qd + kvd + H + Hkv;
    if (this.lora) perLayer += 7 * this.lora.config.rank;
    // an lm_head adapter keeps xf A^T [r] per token (xf itself is kept anyway; dropout adds a copy and a mask)
    const head = this.lora?.modules.has(LM_HEAD)
      ? this.lora.config.rank + (this.lora.config.dropout > 0 ? 2 * d : 0)
      : 0;
    return 4 * (this.L * perLayer + 3 * d + 1 + V + head);
  }

  /** Bytes held by the base weights (f32: 4 per value, bf16/f16: 2), not counting an adapter. */
  weightBytes(): number {
    let n = 0;
    for (const t of this.weights.values()) n += t.data.byteLength;
    return n;
  }

  /** The storage type of each base weight matrix, counted: e.g. `{ bf16: 170 }` (1-D norms/biases are always f32). */
  baseDtypes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.weights.values()) {
      if (t.shape.length !== 2) continue;
      const k = isHalfTensor(t) ? t.dtype : "f32";
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  /**
   * Stores the 2-D base weights (every linear, the embedding and the LM head; or only those in `names`) as `dtype`,
   * in place: f32 -> bf16/f16 rounds to nearest even, 16-bit -> f32 widens exactly, bf16 <-> f16 goes through f32.
   * Norms and biases stay f32. A 16-bit base is frozen: only a LoRA adapter on top of it can be trained
   * (trainableWeights refuses otherwise). Returns this.
   */
  setBaseDtype(dtype: BaseDtype, names?: Iterable<string>): this {
    const K = this.kernels;
    for (const name of names ?? [...this.weights.keys()]) {
      const t = this.weights.get(name);
      if (!t) throw new Error(`setBaseDtype: no weight ${name}`);
      if (t.shape.length !== 2) continue;
      const cur = isHalfTensor(t) ? t.dtype : "f32";
      if (cur === dtype) continue;
      const n = t.data.length;
      let f32: Float32Array;
      if (isHalfTensor(t)) {
        f32 = new Float32Array(n);
        K.halfToF32(t.data, t.dtype, f32, n);
      } else f32 = t.data;
      if (dtype === "f32") {
        this.weights.set(name, { shape: t.shape, data: f32 });
      } else {
        const bits = new Uint16Array(n);
        K.f32ToHalf(f32, dtype, bits, n);
        this.weights.set(name, { shape: t.shape, data: bits, dtype });
      }
    }
    return this;
  }

  /** The base weights with every tensor in f32 (16-bit ones widened into new arrays; f32 ones shared). */
  f32Weights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [k, t] of this.weights)
      out.set(k, isHalfTensor(t) ? { shape: t.shape, data: weightF32(t, this.kernels) } : t);
    return out;
  }

  /** An f32 weight (norms, biases; any weight of an all-f32 model). */
  private w(name: string): Float32Array {
    const t = this.weights.get(name)!;
    if (isHalfTensor(t)) throw new Error(`model: ${name} is ${t.dtype}, expected f32`);
    return t.data;
  }

  private wOpt(name: string, present: boolean): Float32Array | null {
    return present ? this.w(name) : null;
  }

  /** A weight matrix for matmulForward / matmulBackward: f32 values or its 16-bit tensor. */
  private m(name: string): LinearWeight {
    const t = this.weights.get(name)!;
    return isHalfTensor(t) ? t : t.data;
  }

  private layerW(i: number): LayerW {
    const p = `model.layers.${i}.`;
    return {
      inNorm: this.w(p + "input_layernorm.weight"),
      wq: this.m(p + "self_attn.q_proj.weight"),
      wk: this.m(p + "self_attn.k_proj.weight"),
      wv: this.m(p + "self_attn.v_proj.weight"),
      wo: this.m(p + "self_attn.o_proj.weight"),
      bq: this.wOpt(p + "self_attn.q_proj.bias", this.qkvBias),
      bk: this.wOpt(p + "self_attn.k_proj.bias", this.qkvBias),
      bv: this.wOpt(p + "self_attn.v_proj.bias", this.qkvBias),
      bo: this.wOpt(p + "self_attn.o_proj.bias", this.oBias),
      qNorm: this.wOpt(p + "self_attn.q_norm.weight", this.qkNorm),
      kNorm: this.wOpt(p + "self_attn.k_norm.weight", this.qkNorm),
      postNorm: this.w(p + "post_attention_layernorm.weight"),
      wg: this.m(p + "mlp.gate_proj.weight"),
      wu: this.m(p + "mlp.up_proj.weight"),
      wd: this.m(p + "mlp.down_proj.weight"),
    };
  }

  /**
   * Logits [N, vocab] of final-normed rows xf: the LM head (tied: the embedding matrix) plus an `lm_head` LoRA
   * adapter when attached (dropout and its activations only with `keep`, the training forward pass).
   */
  private lmHead(xf: Float32Array, N: number, keep: boolean): { logits: Float32Array; acts: LoraActs | null } {
    const logits = this.linear(xf, this.m(this.lmHeadName), N, this.d, this.V);
    const a = this.lora;
    const m = a?.modules.get(LM_HEAD);
    if (!a || !m) return { logits, acts: null };
    const acts = loraForward(
      this.kernels,
      m,
      a.scale,
      a.config.rank,
      a.config.dropout,
      xf,
      logits,
      N,
      keep ? a.dropoutRng : null,
    );
    return { logits, acts: keep ? acts : null };
  }

  get lmHeadName(): string {
    return this.config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  }

  private checkTokens(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= this.V) throw new Error(`token id ${t} out of range [0, ${this.V})`);
    }
  }

  /** y[N, out] = x[N, in] W^T (+ bias) */
  private linear(
    x: Float32Array,
    W: LinearWeight,
    N: number,
    inDim: number,
    outDim: number,
    y?: Float32Array,
    beta = 0,
    bias: Float32Array | null = null,
  ): Float32Array {
    return matmulForward(this.kernels, y ?? new Float32Array(N * outDim), x, W, bias, N, inDim, outDim, beta);
  }

  /**
   * q, k, v of one layer from the normed input: projections (+ bias), per-head q/k RMSNorm (qwen3), rotary.
   * With `acts`, the pre-norm q/k and their rstd are returned for the backward pass.
   */
  private attnInputs(
    W: LayerW,
    xn: Float32Array,
    N: number,
    positions: Int32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keep: boolean,
    l: number,
    la: Map<string, LoraActs> | null,
  ): Pick<LayerActs, "qpre" | "kpre" | "rstdq" | "rstdk"> {
    const K = this.kernels;
    const { d, H, Hkv, hd } = this;
    const qd = H * hd,
      kvd = Hkv * hd,
      eps = this.config.rms_norm_eps;
    this.linear(xn, W.wq, N, d, qd, q, 0, W.bq);
    this.linear(xn, W.wk, N, d, kvd, k, 0, W.bk);
    this.linear(xn, W.wv, N, d, kvd, v, 0, W.bv);
    if (this.lora) {
      this.loraAdd(l, "self_attn.q_proj", xn, q, N, la);
      this.loraAdd(l, "self_attn.k_proj", xn, k, N, la);
      this.loraAdd(l, "self_attn.v_proj", xn, v, N, la);
    }
    let saved: Pick<LayerActs, "qpre" | "kpre" | "rstdq" | "rstdk"> = {
      qpre: null,
      kpre: null,
      rstdq: null,
      rstdk: null,
    };
    if (W.qNorm && W.kNorm) {
      const qpre = keep ? q.slice() : q,
        kpre = keep ? k.slice() : k;
      const rstdq = new Float32Array(N * H),
        rstdk = new Float32Array(N * Hkv);
      K.rmsnormFwd(qpre, W.qNorm, q, rstdq, N * H, hd, eps);
      K.rmsnormFwd(kpre, W.kNorm, k, rstdk, N * Hkv, hd, eps);
      if (keep) saved = { qpre, kpre, rstdq, rstdk };
    }
    K.rope(q, N, H, hd, positions, this.ropeCos, this.ropeSin, 1);
    K.rope(k, N, Hkv, hd, positions, this.ropeCos, this.ropeSin, 1);
    return saved;
  }

  /** Adds the adapter of layer l's module `mod` (if any) to y; keeps its activations in `la` (training). */
  private loraAdd(
    l: number,
    mod: string,
    x: Float32Array,
    y: Float32Array,
    N: number,
    la: Map<string, LoraActs> | null,
  ): void {
    const a = this.lora;
    const m = a?.modules.get(`model.layers.${l}.${mod}`);
    if (!a || !m) return;
    const acts = loraForward(
      this.kernels,
      m,
      a.scale,
      a.config.rank,
      a.config.dropout,
      x,
      y,
      N,
      la ? a.dropoutRng : null,
    );
    la?.set(mod, acts);
  }

  private loraBwd(
    l: number,
    mod: string,
    acts: LayerActs,
    dout: Float32Array,
    dinp: Float32Array,
    N: number,
    grads: Map<string, Float32Array>,
  ): void {
    const a = this.lora;
    const name = `model.layers.${l}.${mod}`;
    const m = a?.modules.get(name);
    if (!a || !m) return;
    const la = acts.lora?.get(mod);
    if (!la) throw new Error(`backward: no LoRA activations for ${name} (adapter attached after the forward pass?)`);
    const gA = grads.get(`${name}.lora_A.weight`) ?? null,
      gB = grads.get(`${name}.lora_B.weight`) ?? null;
    loraBackward(this.kernels, m, a.scale, a.config.rank, la, dout, dinp, gA, gB, N);
  }

  /**
   * The tensors the optimizer updates: the adapter's A/B when a LoRA adapter is attached with a frozen base
   * (optionally plus the base when freezeBase is false), else every base weight.
   */
  trainableWeights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    if (!this.lora || !this.freezeBase) {
      for (const [k, t] of this.weights) {
        if (isHalfTensor(t))
          throw new Error(
            `full fine-tuning needs f32 base weights, but ${k} is ${t.dtype} (a 16-bit base is frozen: train a LoRA adapter, or load the base in f32)`,
          );
        out.set(k, t);
      }
    }
    if (!this.lora) return out;
    for (const [k, t] of this.lora.parameters()) out.set(k, t);
    return out;
  }

  private embed(tokens: Int32Array): Float32Array {
    const d = this.d,
      E = this.m("model.embed_tokens.weight");
    const x = new Float32Array(tokens.length * d);
    if (E instanceof Float32Array) {
      for (let i = 0; i < tokens.length; i++) x.set(E.subarray(tokens[i]! * d, tokens[i]! * d + d), i * d);
    } else {
      for (let i = 0; i < tokens.length; i++) {
        const o = tokens[i]! * d;
        this.kernels.halfToF32(E.data.subarray(o, o + d), E.dtype, x.subarray(i * d, i * d + d), d);
      }
    }
    return x;
  }

  /** Training forward pass over a packed batch; keeps every activation for `backward` (unless keepActivations is false). */
  forward(batch: PackedBatch, keepActivations = true): ForwardCache {
    return this.forwardImpl(batch, keepActivations, null) as ForwardCache;
  }

  /**
   * Shared forward pass. keep=false drops activations as it goes (inference); onKV receives each layer's
   * post-rotary k and v ([N, n_kv_heads*head_dim]); logitRows limits the lm head to those rows.
   */
  private forwardImpl(
    batch: PackedBatch,
    keep: boolean,
    logitRows: ArrayLike<number> | null,
    onKV?: (layer: number, k: Float32Array, v: Float32Array) => void,
  ): ForwardCache | Float32Array {
    const K = this.kernels;
    const { d, H, Hkv, hd, F } = this;
    const N = batch.tokens.length;
    this.checkTokens(batch.tokens);
    for (let s = 0; s < batch.segLen.length; s++) {
      if (batch.segLen[s]! > this.ctx)
        throw new Error(`sequence of ${batch.segLen[s]} tokens exceeds the context length ${this.ctx}`);
    }
    const qd = H * hd,
      kvd = Hkv * hd,
      eps = this.config.rms_norm_eps;
    let x = this.embed(batch.tokens);
    const layers: LayerActs[] = [];
    for (let l = 0; l < this.L; l++) {
      const W = this.layerW(l);
      const xn1 = new Float32Array(N * d),
        rstd1 = new Float32Array(N);
      K.rmsnormFwd(x, W.inNorm, xn1, rstd1, N, d, eps);
      const q = new Float32Array(N * qd),
        k = new Float32Array(N * kvd),
        v = new Float32Array(N * kvd);
      const la = keep && this.lora ? new Map<string, LoraActs>() : null;
      const qkActs = this.attnInputs(W, xn1, N, batch.positions, q, k, v, keep, l, la);
      const att = new Float32Array(N * qd),
        lse = new Float32Array(N * H);
      K.attnFwd(q, k, v, att, lse, batch.segStart, batch.segLen, H, Hkv, hd);
      const xmid = x.slice();
      this.linear(att, W.wo, N, qd, d, xmid, 1, W.bo);
      this.loraAdd(l, "self_attn.o_proj", att, xmid, N, la);
      const xn2 = new Float32Array(N * d),
        rstd2 = new Float32Array(N);
      K.rmsnormFwd(xmid, W.postNorm, xn2, rstd2, N, d, eps);
      const g = this.linear(xn2, W.wg, N, d, F);
      const u = this.linear(xn2, W.wu, N, d, F);
      this.loraAdd(l, "mlp.gate_proj", xn2, g, N, la);
      this.loraAdd(l, "mlp.up_proj", xn2, u, N, la);
      const act = new Float32Array(N * F);
      K.swigluFwd(g, u, act, N * F);
      const xout = xmid.slice();
      this.linear(act, W.wd, N, F, d, xout, 1);
      this.loraAdd(l, "mlp.down_proj", act, xout, N, la);
      onKV?.(l, k, v);
      if (keep)
        layers.push({ xin: x, xn1, rstd1, ...qkActs, q, k, v, att, lse, xmid, xn2, rstd2, g, u, act, lora: la });
      x = xout;
    }
    if (logitRows) {
      const nl = logitRows.length;
      const xs = new Float32Array(nl * d);
      for (let i = 0; i < nl; i++) {
        const r = logitRows[i]!;
        if (!(r >= 0 && r < N)) throw new Error(`logit row ${r} out of range`);
        xs.set(x.subarray(r * d, r * d + d), i * d);
      }
      const xf = new Float32Array(nl * d),
        rf = new Float32Array(nl);
      K.rmsnormFwd(xs, this.w("model.norm.weight"), xf, rf, nl, d, eps);
      return this.lmHead(xf, nl, false).logits;
    }
    const xf = new Float32Array(N * d),
      rstdf = new Float32Array(N);
    K.rmsnormFwd(x, this.w("model.norm.weight"), xf, rstdf, N, d, eps);
    const { logits, acts: headLora } = this.lmHead(xf, N, keep);
    return { batch, N, layers, xfinalIn: x, xf, rstdf, logits, headLora };
  }

  /**
   * Prefills empty cache slots with whole prompts in one packed forward pass (BLAS attention), and returns the
   * logits of each prompt's last position ([prompts.length, vocab]).
   */
  prefill(cache: KVCache, prompts: ArrayLike<number>[], slots: ArrayLike<number>): Float32Array {
    if (prompts.length !== slots.length) throw new Error("prefill: one slot per prompt");
    const kvd = this.Hkv * this.hd;
    for (let i = 0; i < prompts.length; i++) {
      const s = slots[i]!;
      if (!(s >= 0 && s < cache.slots)) throw new Error(`cache slot ${s} out of range`);
      if (cache.len[s] !== 0) throw new Error(`prefill: cache slot ${s} is not empty`);
      if (prompts[i]!.length === 0) throw new Error("prefill: empty prompt");
      if (prompts[i]!.length > cache.maxLen)
        throw new Error(`prompt of ${prompts[i]!.length} tokens exceeds the cache length ${cache.maxLen}`);
    }
    const batch = packSequences(prompts);
    const last = Array.from(batch.segStart, (st, i) => st + batch.segLen[i]! - 1);
    const logits = this.forwardImpl(batch, false, last, (l, k, v) => {
      for (let i = 0; i < prompts.length; i++) {
        const st = batch.segStart[i]!,
          n = batch.segLen[i]!;
        const o = slots[i]! * cache.maxLen * kvd;
        cache.k[l]!.set(k.subarray(st * kvd, (st + n) * kvd), o);
        cache.v[l]!.set(v.subarray(st * kvd, (st + n) * kvd), o);
      }
    }) as Float32Array;
    for (let i = 0; i < prompts.length; i++) cache.len[slots[i]!] = prompts[i]!.length;
    return logits;
  }

  /** Zeroed gradient buffers, one per parameter. */
  zeroGrads(): Map<string, Float32Array> {
    const g = new Map<string, Float32Array>();
    for (const [k, t] of this.trainableWeights()) g.set(k, new Float32Array(t.data.length));
    return g;
  }

  /**
   * Backward pass. `cache.logits` must already hold dLoss/dlogits (see logsoftmaxBwd); gradients are ADDED
   * into `grads`. The cache is consumed (buffers are reused).
   */
  backward(cache: ForwardCache, grads: Map<string, Float32Array>): void {
    if (cache.layers.length !== this.L || cache.layers.some((a) => !a)) {
      throw new Error("backward needs a forward pass run with keepActivations (and each cache can be used once)");
    }
    const K = this.kernels;
    const { d, H, Hkv, hd, F, V } = this;
    const N = cache.N,
      qd = H * hd,
      kvd = Hkv * hd;
    // A weight with no gradient buffer (frozen base under LoRA) gets no gradient; norms write into a scratch buffer.
    const G = (name: string) => grads.get(name) ?? null;
    const Gopt = (name: string, present: boolean) => (present ? (grads.get(name) ?? null) : null);
    const scratch = new Float32Array(Math.max(d, hd));
    const Gn = (name: string) => grads.get(name) ?? scratch.fill(0);
    const dlogits = cache.logits;
    const dxf = new Float32Array(N * d);
    matmulBackward(K, dxf, G(this.lmHeadName), null, dlogits, cache.xf, this.m(this.lmHeadName), N, d, V);
    const head = this.lora?.modules.get(LM_HEAD);
    if (this.lora && head) {
      if (!cache.headLora)
        throw new Error("backward: no LoRA activations for lm_head (adapter attached after the forward pass?)");
      const gA = grads.get(`${LM_HEAD}.lora_A.weight`) ?? null,
        gB = grads.get(`${LM_HEAD}.lora_B.weight`) ?? null;
      loraBackward(K, head, this.lora.scale, this.lora.config.rank, cache.headLora, dlogits, dxf, gA, gB, N);
    }
    let dx = new Float32Array(N * d);
    K.rmsnormBwd(dxf, cache.xfinalIn, this.w("model.norm.weight"), cache.rstdf, dx, Gn("model.norm.weight"), N, d);
    const dact = new Float32Array(N * F),
      dg = new Float32Array(N * F),
      du = new Float32Array(N * F);
    const dxn = new Float32Array(N * d);
    const datt = new Float32Array(N * qd),
      dq = new Float32Array(N * qd);
    const dk = new Float32Array(N * kvd),
      dv = new Float32Array(N * kvd);
    const dqpre = this.qkNorm ? new Float32Array(N * qd) : null,
      dkpre = this.qkNorm ? new Float32Array(N * kvd) : null;
    const { positions, segStart, segLen } = cache.batch;
    for (let l = this.L - 1; l >= 0; l--) {
      const A = cache.layers[l]!;
      const W = this.layerW(l);
      const p = `model.layers.${l}.`;
      // MLP: xout = xmid + down(silu(gate(xn2)) * up(xn2)), xn2 = rmsnorm(xmid)
      matmulBackward(K, dact, G(p + "mlp.down_proj.weight"), null, dx, A.act, W.wd, N, F, d);
      this.loraBwd(l, "mlp.down_proj", A, dx, dact, N, grads);
      K.swigluBwd(dact, A.g, A.u, dg, du, N * F);
      matmulBackward(K, dxn, G(p + "mlp.gate_proj.weight"), null, dg, A.xn2, W.wg, N, d, F);
      matmulBackward(K, dxn, G(p + "mlp.up_proj.weight"), null, du, A.xn2, W.wu, N, d, F, true);
      this.loraBwd(l, "mlp.gate_proj", A, dg, dxn, N, grads);
      this.loraBwd(l, "mlp.up_proj", A, du, dxn, N, grads);
      const dxmid = dx; // residual path: dxmid = dx + rmsnorm backward
      K.rmsnormBwd(dxn, A.xmid, W.postNorm, A.rstd2, dxmid, Gn(p + "post_attention_layernorm.weight"), N, d);
      // attention: xmid = xin + o(att), att = attention(rope(norm(q(xn1))), rope(norm(k(xn1))), v(xn1))
      matmulBackward(
        K,
        datt,
        G(p + "self_attn.o_proj.weight"),
        Gopt(p + "self_attn.o_proj.bias", this.oBias),
        dxmid,
        A.att,
        W.wo,
        N,
        qd,
        d,
      );
      this.loraBwd(l, "self_attn.o_proj", A, dxmid, datt, N, grads);
      dk.fill(0);
      dv.fill(0);
      K.attnBwd(datt, A.q, A.k, A.v, A.att, A.lse, dq, dk, dv, segStart, segLen, H, Hkv, hd);
      K.rope(dq, N, H, hd, positions, this.ropeCos, this.ropeSin, -1);
      K.rope(dk, N, Hkv, hd, positions, this.ropeCos, this.ropeSin, -1);
      let dqLin = dq,
        dkLin = dk;
      if (dqpre && dkpre) {
        dqpre.fill(0);
        dkpre.fill(0);
        K.rmsnormBwd(dq, A.qpre!, W.qNorm!, A.rstdq!, dqpre, Gn(p + "self_attn.q_norm.weight"), N * H, hd);
        K.rmsnormBwd(dk, A.kpre!, W.kNorm!, A.rstdk!, dkpre, Gn(p + "self_attn.k_norm.weight"), N * Hkv, hd);
        dqLin = dqpre;
        dkLin = dkpre;
      }
      const qb = this.qkvBias;
      matmulBackward(
        K,
        dxn,
        G(p + "self_attn.q_proj.weight"),
        Gopt(p + "self_attn.q_proj.bias", qb),
        dqLin,
        A.xn1,
        W.wq,
        N,
        d,
        qd,
      );
      matmulBackward(
        K,
        dxn,
        G(p + "self_attn.k_proj.weight"),
        Gopt(p + "self_attn.k_proj.bias", qb),
        dkLin,
        A.xn1,
        W.wk,
        N,
        d,
        kvd,
        true,
      );
      matmulBackward(
        K,
        dxn,
        G(p + "self_attn.v_proj.weight"),
        Gopt(p + "self_attn.v_proj.bias", qb),
        dv,
        A.xn1,
        W.wv,
        N,
        d,
        kvd,
        true,
      );
      this.loraBwd(l, "self_attn.q_proj", A, dqLin, dxn, N, grads);
      this.loraBwd(l, "self_attn.k_proj", A, dkLin, dxn, N, grads);
      this.loraBwd(l, "self_attn.v_proj", A, dv, dxn, N, grads);
      K.rmsnormBwd(dxn, A.xin, W.inNorm, A.rstd1, dxmid, Gn(p + "input_layernorm.weight"), N, d);
      dx = dxmid;
      cache.layers[l] = undefined as unknown as LayerActs; // free activations early
    }
    const gE = G("model.embed_tokens.weight");
    if (!gE) return;
    const toks = cache.batch.tokens;
    for (let i = 0; i < N; i++) {
      const o = toks[i]! * d,
        io = i * d;
      for (let j = 0; j < d; j++) gE[o + j]! += dx[io + j]!;
    }
  }

  /** Logits [T, vocab] of one sequence (full recomputation, no cache). */
  forwardLogits(tokens: ArrayLike<number>): Float32Array {
    return this.forward(packSequences([tokens]), false).logits;
  }

  /** A KV cache for `slots` sequences of at most maxLen positions each. */
  createCache(slots: number, maxLen = this.ctx): KVCache {
    if (maxLen > this.ctx) throw new Error(`cache length ${maxLen} exceeds the context length ${this.ctx}`);
    return new KVCache(this.L, slots, maxLen, this.Hkv * this.hd);
  }

  /**
   * Incremental forward: appends tokens[r] to cache slot rowSlot[r] (rows of one slot in order), and returns the
   * logits of the rows listed in `logitRows` ([logitRows.length, vocab]).
   */
  forwardCached(cache: KVCache, tokens: Int32Array, rowSlot: Int32Array, logitRows: ArrayLike<number>): Float32Array {
    const K = this.kernels;
    const { d, H, Hkv, hd, F } = this;
    const R = tokens.length,
      qd = H * hd,
      kvd = Hkv * hd,
      eps = this.config.rms_norm_eps;
    this.checkTokens(tokens);
    const rowPos = new Int32Array(R);
    const next = Int32Array.from(cache.len);
    for (let r = 0; r < R; r++) {
      const s = rowSlot[r]!;
      if (s < 0 || s >= cache.slots) throw new Error(`cache slot ${s} out of range`);
      if (next[s]! >= cache.maxLen) throw new Error(`KV cache slot ${s} is full (${cache.maxLen} positions)`);
      rowPos[r] = next[s]!++;
    }
    const x = this.embed(tokens);
    const xn = new Float32Array(R * d),
      rstd = new Float32Array(R);
    const att = new Float32Array(R * qd);
    const g = new Float32Array(R * F),
      u = new Float32Array(R * F);
    const q = new Float32Array(R * qd),
      k = new Float32Array(R * kvd),
      v = new Float32Array(R * kvd);
    for (let l = 0; l < this.L; l++) {
      const W = this.layerW(l);
      K.rmsnormFwd(x, W.inNorm, xn, rstd, R, d, eps);
      this.attnInputs(W, xn, R, rowPos, q, k, v, false, l, null);
      const kc = cache.k[l]!,
        vc = cache.v[l]!;
      for (let r = 0; r < R; r++) {
        const o = (rowSlot[r]! * cache.maxLen + rowPos[r]!) * kvd;
        kc.set(k.subarray(r * kvd, r * kvd + kvd), o);
        vc.set(v.subarray(r * kvd, r * kvd + kvd), o);
      }
      K.attnCached(q, kc, vc, rowSlot, rowPos, att, H, Hkv, hd, cache.maxLen);
      this.linear(att, W.wo, R, qd, d, x, 1, W.bo);
      this.loraAdd(l, "self_attn.o_proj", att, x, R, null);
      K.rmsnormFwd(x, W.postNorm, xn, rstd, R, d, eps);
      this.linear(xn, W.wg, R, d, F, g);
      this.linear(xn, W.wu, R, d, F, u);
      this.loraAdd(l, "mlp.gate_proj", xn, g, R, null);
      this.loraAdd(l, "mlp.up_proj", xn, u, R, null);
      K.swigluFwd(g, u, g, R * F);
      this.linear(g, W.wd, R, F, d, x, 1);
      this.loraAdd(l, "mlp.down_proj", g, x, R, null);
    }
    cache.len.set(next);
    const nl = logitRows.length;
    const xs = new Float32Array(nl * d);
    for (let i = 0; i < nl; i++) {
      const r = logitRows[i]!;
      if (r < 0 || r >= R) throw new Error(`logit row ${r} out of range`);
      xs.set(x.subarray(r * d, r * d + d), i * d);
    }
    const xf = new Float32Array(nl * d),
      rf = new Float32Array(nl);
    K.rmsnormFwd(xs, this.w("model.norm.weight"), xf, rf, nl, d, eps);
    return this.lmHead(xf, nl, false).logits;
  }

  /** Greedy decoding with the KV cache; stops at any of stopIds. Returns the generated ids. */
  generateGreedy(
    prompt: ArrayLike<number>,
    maxNewTokens: number,
    stopIds: readonly number[] = [this.config.eos_token_id],
  ): number[] {
    if (prompt.length === 0) throw new Error("generateGreedy: empty prompt");
    const maxLen = Math.min(this.ctx, prompt.length + maxNewTokens);
    if (prompt.length > maxLen || prompt.length >= this.ctx)
      throw new Error(`prompt of ${prompt.length} tokens leaves no room in context ${this.ctx}`);
    const cache = this.createCache(1, maxLen);
    let logits = this.prefill(cache, [prompt], [0]);
    const out: number[] = [];
    while (out.length < maxNewTokens) {
      let best = 0;
      for (let j = 1; j < this.V; j++) if (logits[j]! > logits[best]!) best = j;
      out.push(best);
      if (stopIds.includes(best) || cache.len[0]! >= maxLen) break;
      logits = this.forwardCached(cache, Int32Array.of(best), Int32Array.of(0), [0]);
    }
    return out;
  }
}
