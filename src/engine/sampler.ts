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
 * RETURNED LOG-PROBS: `logprobs[t]` is log softmax(logits / T)[token] at the sampling temperature T (T = 1 when
 * greedy), before top-k and top-p — the distribution TRL and verl use for the RL loss, ratio and KL. It matches
 * `computeLogprobs(datums, {temperature: T})` of the same weights up to float32 rounding.
 *
 * Stops: generation ends at a stop token id (EOS always counts; the token is kept in `tokens` but not in `text`),
 * at the first occurrence of a stop string in the decoded text (`text` is cut before it; `tokens` keep everything
 * generated up to that point), at maxTokens, or when the context is full ("length").
 */
import type { SampledSequence, SampleRequest, SamplingParams, TokenizerLike } from "../core/policy.js";
import type { LlamaModel } from "./model.js";
import { Rng } from "../core/rng.js";

export interface SampleOptions {
  /** Sequences decoded together (KV-cache slots); default 32. */
  maxBatch?: number;
}

export function validateSamplingParams(p: SamplingParams, where = "sampling params"): void {
  if (!p || typeof p !== "object") throw new Error(`${where}: missing`);
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 0)
    throw new Error(`${where}: maxTokens must be an integer >= 0, got ${p.maxTokens}`);
  if (!(Number.isFinite(p.temperature) && p.temperature >= 0))
    throw new Error(`${where}: temperature must be >= 0, got ${p.temperature}`);
  if (p.topP !== undefined && !(p.topP > 0 && p.topP <= 1))
    throw new Error(`${where}: topP must be in (0, 1], got ${p.topP}`);
  if (p.topK !== undefined && !(Number.isInteger(p.topK) && p.topK >= 0))
    throw new Error(`${where}: topK must be an integer >= 0, got ${p.topK}`);
  if (p.stop !== undefined && (!Array.isArray(p.stop) || p.stop.some((s) => typeof s !== "string" || s.length === 0))) {
    throw new Error(`${where}: stop must be an array of non-empty strings`);
  }
  if (
    p.stopTokenIds !== undefined &&
    (!Array.isArray(p.stopTokenIds) || p.stopTokenIds.some((t) => !Number.isInteger(t)))
  ) {
    throw new Error(`${where}: stopTokenIds must be an array of integers`);
  }
  if (p.seed !== undefined && !Number.isFinite(p.seed)) throw new Error(`${where}: seed must be a number`);
}

/** Chooses a token from logits row `o` of `z` with the kernels' sampler; returns it and its log-prob at the sampling temperature. */
export function chooseToken(
  model: LlamaModel,
  z: Float32Array,
  o: number,
  p: SamplingParams,
  rng: Rng,
): { token: number; logprob: number } {
  const tok = new Int32Array(1),
    lp = new Float32Array(1);
  model.kernels.sampleRows(
    z.subarray(o, o + model.V),
    1,
    model.V,
    Float32Array.of(p.temperature, p.topK ?? 0, p.topP ?? 1),
    Float64Array.of(rng.next()),
    tok,
    lp,
  );
  return { token: tok[0]!, logprob: lp[0]! };
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
    if (!Array.isArray(r.prompt) || r.prompt.length === 0)
      throw new Error(`${where}: prompt must be a non-empty array of token ids`);
    for (const t of r.prompt)
      if (!Number.isInteger(t) || t < 0 || t >= model.V)
        throw new Error(`${where}: prompt token ${t} out of range [0, ${model.V})`);
    if (r.prompt.length >= model.ctx)
      throw new Error(
        `${where}: prompt of ${r.prompt.length} tokens leaves no room in the context length ${model.ctx}`,
      );
    if (!Number.isInteger(r.n) || r.n < 1) throw new Error(`${where}: n must be a positive integer, got ${r.n}`);
    validateSamplingParams(r.params, where);
    const base = r.params.seed !== undefined ? new Rng(r.params.seed) : rng.fork();
    const stopIds = new Set<number>([tokenizer.eosId, ...(r.params.stopTokenIds ?? [])]);
    for (let j = 0; j < r.n; j++) {
      seqs.push({
        req: i,
        sample: j,
        prompt: r.prompt,
        params: r.params,
        rng: base.fork(),
        stopIds,
        tokens: [],
        logprobs: [],
        done: r.params.maxTokens === 0,
        finish: "length",
        text: null,
        maxLen: Math.min(model.ctx, r.prompt.length + r.params.maxTokens),
      });
    }
  });
  for (let g = 0; g < seqs.length; g += maxBatch) decodeGroup(model, tokenizer, seqs.slice(g, g + maxBatch));
  const out: SampledSequence[][] = requests.map(() => []);
  for (const s of seqs) {
    let text = s.text;
    if (text === null) {
      const toks =
        s.finish === "stop" && s.tokens.length && s.stopIds.has(s.tokens[s.tokens.length - 1]!)
          ? s.tokens.slice(0, -1)
          : s.tokens;
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
  // prefill each distinct prompt once (one packed forward pass), then share its cache among its samples
  const firstSlot = new Map<number, number>();
  const prompts: number[][] = [],
    pslots: number[] = [];
  const rowOfSlot = new Map<number, number>();
  live.forEach((s, slot) => {
    if (firstSlot.has(s.req)) return;
    firstSlot.set(s.req, slot);
    rowOfSlot.set(slot, prompts.length);
    prompts.push(s.prompt);
    pslots.push(slot);
  });
  const pre = model.prefill(cache, prompts, pslots);
  let logits: Float32Array = new Float32Array(live.length * V);
  live.forEach((s, slot) => {
    const src = firstSlot.get(s.req)!;
    if (src !== slot) cache.copySlot(src, slot);
    logits.set(pre.subarray(rowOfSlot.get(src)! * V, rowOfSlot.get(src)! * V + V), slot * V);
  });
  let active = live.map((_, i) => i);
  let rowOf = new Map(active.map((slot) => [slot, slot]));
  while (active.length) {
    const next: number[] = [];
    // one batched token choice for every active row (rows of `logits` are in `active` order)
    const R = active.length;
    const prm = new Float32Array(R * 3),
      uni = new Float64Array(R);
    active.forEach((slot, i) => {
      const s = live[slot]!;
      if (rowOf.get(slot) !== i) throw new Error("sampler: row order mismatch");
      prm[i * 3] = s.params.temperature;
      prm[i * 3 + 1] = s.params.topK ?? 0;
      prm[i * 3 + 2] = s.params.topP ?? 1;
      uni[i] = s.rng.next();
    });
    const chosen = new Int32Array(R),
      chosenLp = new Float32Array(R);
    model.kernels.sampleRows(logits, R, V, prm, uni, chosen, chosenLp);
    for (let i = 0; i < R; i++) {
      const slot = active[i]!;
      const s = live[slot]!;
      const token = chosen[i]!,
        logprob = chosenLp[i]!;
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
          const at = text.indexOf(st);
          if (at >= 0 && (cut < 0 || at < cut)) cut = at;
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
    logits = model.forwardCached(
      cache,
      toks,
      Int32Array.from(active),
      active.map((_, i) => i),
    );
    rowOf = new Map(active.map((slot, i) => [slot, i]));
  }
}
