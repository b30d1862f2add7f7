/**
 * Batched generation with a KV cache.
 *
 * All sequences of a call (every request x its n samples) are decoded together, up to `maxBatch` at a time: each
 * distinct prompt is prefilled once and its cache copied to its n sample slots, then every decoding step runs one
 * batched forward pass over the active sequences.
 *
 * Token choice: logits / temperature, then top-k (keep the k largest), then top-p (smallest set of most likely
 * tokens whose probability mass reaches topP), then a draw from the renormalised distribution; temperature 0 is
 * greedy (argmax). Each sequence has its own PRNG: derived from `params.seed` and the sample index when a seed is
 * given (so results do not depend on batching), otherwise from the caller's generator.
 *
 * RETURNED LOG-PROBS: `logprobs[t]` is log softmax(raw logits)[token] — the model's own distribution at
 * temperature 1, before temperature, top-k and top-p. That is the quantity the RL importance ratio needs
 * (it matches `computeLogprobs` of the same weights up to float32 rounding), not the probability of the draw
 * under the truncated/tempered sampling distribution.
 *
 * Stops: generation ends at a stop token id (EOS always counts; the token is kept in `tokens` but not in `text`),
 * at the first occurrence of a stop string in the decoded text (`text` is cut before it; `tokens` keep everything
 * generated up to that point), at maxTokens, or when the context is full ("length").
 */
import type { SampledSequence, SampleRequest, SamplingParams, TokenizerLike } from "../backends/policy.js";
import type { LlamaModel } from "./model.js";
import { Rng } from "./rng.js";

export interface SampleOptions {
  /** Sequences decoded together (KV-cache slots); default 32. */
  maxBatch?: number;
}

export function validateSamplingParams(p: SamplingParams, where = "sampling params"): void {
  if (!p || typeof p !== "object") throw new Error(`${where}: missing`);
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 0) throw new Error(`${where}: maxTokens must be an integer >= 0, got ${p.maxTokens}`);
  if (!(Number.isFinite(p.temperature) && p.temperature >= 0)) throw new Error(`${where}: temperature must be >= 0, got ${p.temperature}`);
  if (p.topP !== undefined && !(p.topP > 0 && p.topP <= 1)) throw new Error(`${where}: topP must be in (0, 1], got ${p.topP}`);
  if (p.topK !== undefined && !(Number.isInteger(p.topK) && p.topK >= 0)) throw new Error(`${where}: topK must be an integer >= 0, got ${p.topK}`);
  if (p.stop !== undefined && (!Array.isArray(p.stop) || p.stop.some((s) => typeof s !== "string" || s.length === 0))) {
    throw new Error(`${where}: stop must be an array of non-empty strings`);
  }
  if (p.stopTokenIds !== undefined && (!Array.isArray(p.stopTokenIds) || p.stopTokenIds.some((t) => !Number.isInteger(t)))) {
    throw new Error(`${where}: stopTokenIds must be an array of integers`);
  }
  if (p.seed !== undefined && !Number.isFinite(p.seed)) throw new Error(`${where}: seed must be a number`);
}

/** log-sum-exp of a row (float64 accumulation). */
function logSumExp(z: Float32Array, o: number, V: number): number {
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (z[o + j]! > m) m = z[o + j]!;
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(z[o + j]! - m);
  return m + Math.log(s);
}

/** Chooses a token from logits row `o` of `z`; returns it and its temperature-1 log-prob. */
export function chooseToken(z: Float32Array, o: number, V: number, p: SamplingParams, rng: Rng): { token: number; logprob: number } {
  const lse = logSumExp(z, o, V);
  let token = 0;
  if (p.temperature === 0) {
    for (let j = 1; j < V; j++) if (z[o + j]! > z[o + token]!) token = j;
    return { token, logprob: z[o + token]! - lse };
  }
  const T = p.temperature;
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (z[o + j]! > m) m = z[o + j]!;
  // top-k threshold on raw logits
  let kth = -Infinity;
  const k = p.topK ?? 0;
  if (k > 0 && k < V) {
    const sorted = z.slice(o, o + V).sort();
    kth = sorted[V - k]!;
  }
  const topP = p.topP ?? 1;
  // candidate ids (after top-k) with unnormalised tempered probabilities
  let ids: number[] = [];
  let w: number[] = [];
  let total = 0;
  const probs = new Float64Array(V);
  for (let j = 0; j < V; j++) {
    if (z[o + j]! < kth) continue;
    const e = Math.exp((z[o + j]! - m) / T);
    probs[j] = e;
    total += e;
  }
  if (topP < 1) {
    // The nucleus is a prefix of the tokens sorted by probability: look at the likeliest tokens first and widen the
    // threshold until the candidates hold enough mass, then sort only those.
    let thr = 1e-3;
    for (;;) {
      ids = [];
      let mass = 0;
      for (let j = 0; j < V; j++) if (probs[j]! >= thr) {
        ids.push(j);
        mass += probs[j]!;
      }
      if (mass >= topP * total || thr === 0) break;
      thr = thr < 1e-30 ? 0 : thr * 1e-3;
    }
    ids.sort((a, b) => probs[b]! - probs[a]! || a - b);
    let cum = 0;
    let cut = ids.length;
    for (let i = 0; i < ids.length; i++) {
      cum += probs[ids[i]!]!;
      if (cum >= topP * total) {
        cut = i + 1;
        break;
      }
    }
    ids = ids.slice(0, cut);
    w = ids.map((j) => probs[j]!);
    total = w.reduce((a, b) => a + b, 0);
    let r = rng.next() * total;
    token = ids[ids.length - 1]!;
    for (let i = 0; i < ids.length; i++) {
      r -= w[i]!;
      if (r < 0) {
        token = ids[i]!;
        break;
      }
    }
  } else {
    let r = rng.next() * total;
    token = -1;
    let last = 0;
    for (let j = 0; j < V; j++) {
      if (probs[j]! === 0) continue;
      last = j;
      r -= probs[j]!;
      if (r < 0) {
        token = j;
        break;
      }
    }
    if (token < 0) token = last;
  }
  return { token, logprob: z[o + token]! - lse };
}

interface Seq {
  req: number;
  sample: number;
  prompt: number[];
  params: SamplingParams;
  rng: Rng;
  stopIds: Set<number>;
  tokens: number[];
  logprobs: number[];
  done: boolean;
  finish: "stop" | "length";
  text: string | null;
  maxLen: number;
}

/** Generates for every request; result[i][j] is sample j of request i. */
export function generate(
  model: LlamaModel,
  tokenizer: TokenizerLike,
  requests: SampleRequest[],
  rng: Rng,
  opts: SampleOptions = {},
): SampledSequence[][] {
  const maxBatch = Math.max(1, opts.maxBatch ?? 32);
  const seqs: Seq[] = [];
  requests.forEach((r, i) => {
    const where = `sample request ${i}`;
    if (!Array.isArray(r.prompt) || r.prompt.length === 0) throw new Error(`${where}: prompt must be a non-empty array of token ids`);
    for (const t of r.prompt) if (!Number.isInteger(t) || t < 0 || t >= model.V) throw new Error(`${where}: prompt token ${t} out of range [0, ${model.V})`);
    if (r.prompt.length >= model.ctx) throw new Error(`${where}: prompt of ${r.prompt.length} tokens leaves no room in the context length ${model.ctx}`);
    if (!Number.isInteger(r.n) || r.n < 1) throw new Error(`${where}: n must be a positive integer, got ${r.n}`);
    validateSamplingParams(r.params, where);
    const base = r.params.seed !== undefined ? new Rng(r.params.seed) : rng.fork();
    const stopIds = new Set<number>([tokenizer.eosId, ...(r.params.stopTokenIds ?? [])]);
    for (let j = 0; j < r.n; j++) {
      seqs.push({
        req: i, sample: j, prompt: r.prompt, params: r.params, rng: base.fork(), stopIds,
        tokens: [], logprobs: [], done: r.params.maxTokens === 0, finish: "length", text: null,
        maxLen: Math.min(model.ctx, r.prompt.length + r.params.maxTokens),
      });
    }
  });
  for (let g = 0; g < seqs.length; g += maxBatch) decodeGroup(model, tokenizer, seqs.slice(g, g + maxBatch));
  const out: SampledSequence[][] = requests.map(() => []);
  for (const s of seqs) {
    let text = s.text;
    if (text === null) {
      const toks = s.finish === "stop" && s.tokens.length && s.stopIds.has(s.tokens[s.tokens.length - 1]!) ? s.tokens.slice(0, -1) : s.tokens;
      text = tokenizer.decode(toks);
    }
    out[s.req]![s.sample] = { tokens: s.tokens, logprobs: s.logprobs, text, finishReason: s.finish };
  }
  return out;
}

function decodeGroup(model: LlamaModel, tokenizer: TokenizerLike, group: Seq[]): void {
  const live = group.filter((s) => !s.done);
  if (live.length === 0) return;
  const V = model.V;
  const maxLen = Math.max(...live.map((s) => s.maxLen));
  const cache = model.createCache(live.length, maxLen);
  // prefill each distinct prompt once (one batched call), then share its cache among its samples
  const firstSlot = new Map<string, number>();
  const prefillToks: number[] = [], prefillSlot: number[] = [], logitRows: number[] = [];
  const rowOfSlot = new Map<number, number>();
  live.forEach((s, slot) => {
    const key = `${s.req}`;
    if (firstSlot.has(key)) return;
    firstSlot.set(key, slot);
    for (const t of s.prompt) {
      prefillToks.push(t);
      prefillSlot.push(slot);
    }
    rowOfSlot.set(slot, logitRows.length);
    logitRows.push(prefillToks.length - 1);
  });
  const pre = model.forwardCached(cache, Int32Array.from(prefillToks), Int32Array.from(prefillSlot), logitRows);
  let logits: Float32Array = new Float32Array(live.length * V);
  live.forEach((s, slot) => {
    const src = firstSlot.get(`${s.req}`)!;
    if (src !== slot) cache.copySlot(src, slot);
    logits.set(pre.subarray(rowOfSlot.get(src)! * V, rowOfSlot.get(src)! * V + V), slot * V);
  });
  let active = live.map((_, i) => i);
  let rowOf = new Map(active.map((slot) => [slot, slot]));
  while (active.length) {
    const next: number[] = [];
    for (const slot of active) {
      const s = live[slot]!;
      const { token, logprob } = chooseToken(logits, rowOf.get(slot)! * V, V, s.params, s.rng);
      s.tokens.push(token);
      s.logprobs.push(logprob);
      if (s.stopIds.has(token)) {
        s.finish = "stop";
        continue;
      }
      if (s.params.stop?.length) {
        const text = tokenizer.decode(s.tokens);
        let cut = -1;
        for (const st of s.params.stop) {
          const i = text.indexOf(st);
          if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0) {
          s.finish = "stop";
          s.text = text.slice(0, cut);
          continue;
        }
      }
      if (s.tokens.length >= s.params.maxTokens || s.prompt.length + s.tokens.length >= s.maxLen) {
        s.finish = "length";
        continue;
      }
      next.push(slot);
    }
    for (const slot of active) if (!next.includes(slot)) live[slot]!.done = true;
    active = next;
    if (!active.length) break;
    const toks = Int32Array.from(active.map((slot) => live[slot]!.tokens[live[slot]!.tokens.length - 1]!));
    logits = model.forwardCached(cache, toks, Int32Array.from(active), active.map((_, i) => i));
    rowOf = new Map(active.map((slot, i) => [slot, i]));
  }
}
