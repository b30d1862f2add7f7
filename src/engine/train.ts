/**
 * Loss forward/backward over Datums (Tinker-shaped) for the LLaMA model: packs datums of different lengths into
 * micro-batches of at most `maxTokens` rows, computes per-token log-probs (and entropies when the loss needs
 * them), asks src/core/losses.ts for dLoss/dlogp (and dLoss/dentropy), and back-propagates through the
 * log-softmax and the network. Gradients are ADDED to the given buffers (gradient accumulation).
 */
import type { Datum, ForwardBackwardResult, LossSpec } from "../core/policy.js";
import { computeLoss as computeLossShared, needsEntropy } from "../core/losses.js";
import { type LlamaModel, packSequences } from "./model.js";

export const DEFAULT_MAX_CHUNK_TOKENS = 4096;
/** Memory a default micro-batch may hold in activations and logits (see defaultChunkTokens). */
export const MICROBATCH_BYTES = 2 * 1024 ** 3;

/**
 * The default micro-batch size of `model` in tokens: DEFAULT_MAX_CHUNK_TOKENS, lowered so that what a training
 * forward pass keeps (LlamaModel.trainingBytesPerToken) stays within MICROBATCH_BYTES — at Qwen2.5-0.5B's shapes
 * (~2.7 MB per token, a third of it the 151,936-wide logits) 4096 tokens would hold ~11 GB, the cap gives ~780.
 */
export function defaultChunkTokens(model: LlamaModel): number {
  return Math.max(64, Math.min(DEFAULT_MAX_CHUNK_TOKENS, Math.floor(MICROBATCH_BYTES / model.trainingBytesPerToken())));
}

export function validateDatums(datums: Datum[], vocab: number, ctx: number): void {
  if (!Array.isArray(datums)) throw new Error("datums must be an array");
  datums.forEach((d, i) => {
    const n = d.modelInput?.length;
    if (!n) throw new Error(`datum ${i}: modelInput is empty`);
    if (n > ctx) throw new Error(`datum ${i}: ${n} tokens exceed the model's context length ${ctx}`);
    const li = d.lossInputs;
    if (!li || li.targetTokens?.length !== n)
      throw new Error(`datum ${i}: lossInputs.targetTokens must have ${n} entries (one per modelInput token)`);
    if (li.weights?.length !== n) throw new Error(`datum ${i}: lossInputs.weights must have ${n} entries`);
    for (const [name, arr] of Object.entries(li)) {
      if (arr !== undefined && (arr as number[]).length !== n)
        throw new Error(`datum ${i}: lossInputs.${name} has ${(arr as number[]).length} entries, expected ${n}`);
    }
    for (const t of d.modelInput)
      if (!Number.isInteger(t) || t < 0 || t >= vocab)
        throw new Error(`datum ${i}: modelInput token ${t} out of range [0, ${vocab})`);
    for (const t of li.targetTokens)
      if (!Number.isInteger(t) || t < 0 || t >= vocab)
        throw new Error(`datum ${i}: target token ${t} out of range [0, ${vocab})`);
    for (const w of li.weights) if (!Number.isFinite(w)) throw new Error(`datum ${i}: non-finite loss weight`);
  });
}

/** Groups datum indices (in order) into chunks of at most maxTokens tokens (a longer datum gets its own chunk). */
export function chunkDatums(datums: Datum[], maxTokens: number): number[][] {
  const chunks: number[][] = [];
  let cur: number[] = [];
  let n = 0;
  datums.forEach((d, i) => {
    const len = d.modelInput.length;
    if (cur.length && n + len > maxTokens) {
      chunks.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(i);
    n += len;
  });
  if (cur.length) chunks.push(cur);
  return chunks;
}

interface ChunkFwd {
  cache: ReturnType<LlamaModel["forward"]>;
  targets: Int32Array;
  logp: Float32Array;
  lse: Float32Array;
  ent: Float32Array | null;
}

/** Divides logits by the temperature in place (no-op at 1). */
function temper(model: LlamaModel, logits: Float32Array, N: number, temperature: number): void {
  if (temperature !== 1) model.kernels.scale(logits, 1 / temperature, N * model.V);
}

function checkTemperature(t: number): number {
  if (!(Number.isFinite(t) && t > 0)) throw new Error(`temperature must be > 0 for log-probs, got ${t}`);
  return t;
}

function forwardChunk(
  model: LlamaModel,
  datums: Datum[],
  idx: number[],
  withEnt: boolean,
  keep = true,
  temperature = 1,
): ChunkFwd {
  const cache = model.forward(packSequences(idx.map((i) => datums[i]!.modelInput)), keep);
  const N = cache.N;
  temper(model, cache.logits, N, temperature);
  const targets = new Int32Array(N);
  let o = 0;
  for (const i of idx) {
    targets.set(datums[i]!.lossInputs.targetTokens, o);
    o += datums[i]!.modelInput.length;
  }
  const logp = new Float32Array(N),
    lse = new Float32Array(N);
  const ent = withEnt ? new Float32Array(N) : null;
  model.kernels.logsoftmaxFwd(cache.logits, N, model.V, targets, logp, lse, ent);
  return { cache, targets, logp, lse, ent };
}

function scatter(idx: number[], datums: Datum[], flat: Float32Array, into: number[][]): void {
  let o = 0;
  for (const i of idx) {
    const n = datums[i]!.modelInput.length;
    into[i] = Array.from(flat.subarray(o, o + n));
    o += n;
  }
}

/**
 * Per-token log-probs of the targets (and entropies) without gradients, of softmax(logits / temperature)
 * (temperature 1 by default; the RL trainer passes its sampling temperature, as TRL / verl do).
 */
export function datumLogprobs(
  model: LlamaModel,
  datums: Datum[],
  opts: { withEntropy?: boolean; maxTokens?: number; temperature?: number } = {},
): { logprobs: number[][]; entropies: number[][] | undefined } {
  validateDatums(datums, model.V, model.ctx);
  const T = checkTemperature(opts.temperature ?? 1);
  const logprobs: number[][] = new Array(datums.length);
  const entropies: number[][] | undefined = opts.withEntropy ? new Array(datums.length) : undefined;
  for (const idx of chunkDatums(datums, opts.maxTokens ?? defaultChunkTokens(model))) {
    const f = forwardChunk(model, datums, idx, !!opts.withEntropy, false, T);
    scatter(idx, datums, f.logp, logprobs);
    if (entropies) scatter(idx, datums, f.ent!, entropies);
  }
  return { logprobs, entropies };
}

/**
 * Loss + gradients for a batch of datums; gradients are accumulated into `grads`.
 *
 * One micro-batch: forward, loss, backward. Several micro-batches (more than maxTokens tokens): the loss
 * normalisers span the whole batch, so each micro-batch's dLoss/dlogp is taken from computeLoss over ALL datums,
 * with the not-yet-computed log-probs of later micro-batches filled by placeholders (their sampling log-probs, or
 * 0). For the losses of src/core/losses.ts a token's gradient depends only on its own datum and on
 * batch normalisers, so placeholders do not change it; this is CHECKED at the end against computeLoss on the real
 * log-probs, and any micro-batch whose coefficients differ gets a correction pass (backward is linear in
 * dLoss/dlogits at fixed weights), so the result is exact for any loss.
 */
export function lossForwardBackward(
  model: LlamaModel,
  datums: Datum[],
  spec: LossSpec,
  grads: Map<string, Float32Array>,
  opts: { maxTokens?: number /** Loss function override (tests). */; lossFn?: typeof computeLossShared } = {},
): ForwardBackwardResult {
  validateDatums(datums, model.V, model.ctx);
  if (datums.length === 0) return { loss: 0, logprobs: [], metrics: { tokens: 0 } };
  // Policy-gradient losses use log softmax(logits / T) at the sampling temperature T (spec.temperature, default 1).
  const T = checkTemperature(spec.kind === "cross_entropy" ? 1 : (spec.temperature ?? 1));
  const withEnt = needsEntropy(spec);
  const computeLoss = opts.lossFn ?? computeLossShared;
  const chunks = chunkDatums(datums, opts.maxTokens ?? defaultChunkTokens(model));
  const logprobs: number[][] = datums.map(
    (d) => d.lossInputs.samplingLogprobs?.slice() ?? new Array<number>(d.modelInput.length).fill(0),
  );
  const entropies: number[][] | undefined = withEnt
    ? datums.map((d) => new Array<number>(d.modelInput.length).fill(0))
    : undefined;
  const used: { dl: number[][]; de: number[][] | null }[] = [];
  const backwardWith = (f: ChunkFwd, idx: number[], dl: number[][], de: number[][] | null) => {
    const N = f.cache.N;
    const gLogp = new Float32Array(N);
    const gEnt = de ? new Float32Array(N) : null;
    let o = 0;
    for (const i of idx) {
      const n = datums[i]!.modelInput.length;
      for (let t = 0; t < n; t++) gLogp[o + t] = dl[i]![t]!;
      if (gEnt) for (let t = 0; t < n; t++) gEnt[o + t] = de![i]![t]!;
      o += n;
    }
    model.kernels.logsoftmaxBwd(f.cache.logits, N, model.V, f.targets, f.lse, gLogp, f.ent, gEnt);
    temper(model, f.cache.logits, N, T); // d/dlogits = (d/d(logits/T)) / T
    model.backward(f.cache, grads);
  };
  let single: ReturnType<typeof computeLossShared> | null = null;
  for (const idx of chunks) {
    const f = forwardChunk(model, datums, idx, withEnt, true, T);
    scatter(idx, datums, f.logp, logprobs);
    if (entropies) scatter(idx, datums, f.ent!, entropies);
    const lo = computeLoss(spec, { datums, logprobs, entropies });
    if (chunks.length === 1) {
      if (!Number.isFinite(lo.loss)) throw new Error(`loss is ${lo.loss}; no gradients accumulated`);
      single = lo;
    }
    used.push({ dl: lo.dLogprobs, de: lo.dEntropies });
    backwardWith(f, idx, lo.dLogprobs, lo.dEntropies);
  }
  const final = single ? null : computeLoss(spec, { datums, logprobs, entropies });
  let corrections = 0;
  if (final) {
    chunks.forEach((idx, c) => {
      const u = used[c]!;
      let differs = false;
      const ddl = datums.map((d) => new Array<number>(d.modelInput.length).fill(0));
      const dde = final.dEntropies ? datums.map((d) => new Array<number>(d.modelInput.length).fill(0)) : null;
      for (const i of idx) {
        for (let t = 0; t < ddl[i]!.length; t++) {
          ddl[i]![t] = final.dLogprobs[i]![t]! - u.dl[i]![t]!;
          if (ddl[i]![t] !== 0) differs = true;
          if (dde) {
            dde[i]![t] = final.dEntropies![i]![t]! - (u.de?.[i]?.[t] ?? 0);
            if (dde[i]![t] !== 0) differs = true;
          }
        }
      }
      if (differs) {
        corrections++;
        backwardWith(forwardChunk(model, datums, idx, withEnt, true, T), idx, ddl, dde);
      }
    });
  }
  const result = (single ?? final)!;
  if (!Number.isFinite(result.loss))
    throw new Error(`loss is ${result.loss} (gradients were accumulated: call zeroGrad)`);
  return { loss: result.loss, logprobs, metrics: { ...result.metrics, microbatches: chunks.length, corrections } };
}
