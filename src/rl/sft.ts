/**
 * Supervised warm start on naturally occurring (code, documentation) pairs, in BOTH directions, plus the
 * plain causal-LM stage that precedes it. Both are cross-entropy loops over the Policy interface:
 * forwardBackward(datums, {kind: "cross_entropy"}) + optimStep, with warmup + cosine learning rate.
 */
import type { AdamParams, Datum, Policy, TokenizerLike } from "../core/policy.js";
import { encodePlain, sftPair, type Direction } from "./prompts.js";
import { makeDatum } from "./trainer.js";
import { hashSeed, Rng } from "../core/rng.js";
import { lrAt } from "../core/schedule.js";

export interface PairItem {
  id: string;
  lang: string;
  code: string;
  /** Canonicalised documentation (the doc format). */
  doc: string;
  signature?: string | null;
}

export interface CeLoopOptions {
  steps: number;
  /** Tokens per optimizer step (sequences are packed greedily up to this many tokens). */
  batchTokens: number;
  learningRate: number;
  warmupSteps: number;
  /** Final LR as a fraction of the peak (cosine decay). */
  minLrRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  onStep?: (info: { step: number; steps: number; loss: number; tokens: number; lr: number }) => void;
}

/** Cuts the datums (seeded order, reshuffled each pass) into batches of about batchTokens tokens. */
function* batches(datums: Datum[], batchTokens: number, seed: number): Generator<Datum[]> {
  for (let pass = 0; ; pass++) {
    const order = new Rng(hashSeed(seed, pass)).shuffle(datums.map((_, i) => i));
    let cur: Datum[] = [];
    let tok = 0;
    for (const i of order) {
      const d = datums[i]!;
      if (cur.length && tok + d.modelInput.length > batchTokens) {
        yield cur;
        cur = [];
        tok = 0;
      }
      cur.push(d);
      tok += d.modelInput.length;
    }
    if (cur.length) yield cur;
  }
}

/** Runs `steps` cross-entropy optimizer steps over the datums; returns the per-step losses. */
export async function crossEntropyLoop(policy: Policy, datums: Datum[], o: CeLoopOptions): Promise<number[]> {
  if (datums.length === 0) throw new Error("nothing to train on: no examples fit the model's context");
  const losses: number[] = [];
  const it = batches(datums, o.batchTokens, o.seed);
  for (let step = 0; step < o.steps; step++) {
    const batch = it.next().value as Datum[];
    const fb = await policy.forwardBackward(batch, { kind: "cross_entropy" });
    const lr = lrAt(step, {
      peakLr: o.learningRate,
      warmupSteps: o.warmupSteps,
      totalSteps: o.steps,
      minLrRatio: o.minLrRatio,
    });
    const adam: AdamParams = {
      learningRate: lr,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: o.weightDecay,
      maxGradNorm: o.maxGradNorm,
    };
    await policy.optimStep(adam);
    losses.push(fb.loss);
    o.onStep?.({
      step: step + 1,
      steps: o.steps,
      loss: fb.loss,
      tokens: batch.reduce((a, d) => a + d.modelInput.length, 0),
      lr,
    });
  }
  return losses;
}

/** Mean per-token NLL of the datums under the current weights (no gradients). */
export async function evalLoss(policy: Policy, datums: Datum[]): Promise<number> {
  let tot = 0;
  let n = 0;
  for (let i = 0; i < datums.length; i += 32) {
    const chunk = datums.slice(i, i + 32);
    const lps = await policy.computeLogprobs(chunk);
    chunk.forEach((d, k) =>
      d.lossInputs.weights.forEach((w, t) => {
        if (w > 0) {
          tot -= lps[k]![t]! * w;
          n += w;
        }
      }),
    );
  }
  return n ? tot / n : NaN;
}

/** SFT datums for both directions (those longer than the context are dropped). */
export function sftDatums(
  tok: TokenizerLike,
  pairs: PairItem[],
  ctx: number,
  opts: { signatureHint?: boolean; directions?: Direction[]; weights?: Partial<Record<Direction, number>> } = {},
): Datum[] {
  const out: Datum[] = [];
  for (const p of pairs) {
    for (const dir of opts.directions ?? ["code2doc", "doc2code"]) {
      const w = opts.weights?.[dir] ?? 1;
      if (w <= 0) continue;
      const { prompt, completion } = sftPair(tok, dir, p.lang, p.code, p.doc, {
        signature: opts.signatureHint ? p.signature : null,
      });
      if (prompt.length + completion.length > ctx) continue;
      out.push(makeDatum(prompt, completion, w));
    }
  }
  return out;
}

/** Causal-LM datums: <|bos|>{text}<|eos|> cut into windows of at most ctx tokens (loss on every token). */
export function lmDatums(tok: TokenizerLike, texts: string[], ctx: number): Datum[] {
  const out: Datum[] = [];
  for (const t of texts) {
    const ids = [tok.bosId, ...encodePlain(tok, t), tok.eosId];
    for (let s = 0; s < ids.length - 1; s += ctx) {
      const w = ids.slice(s, s + ctx + 1);
      if (w.length < 2) break;
      out.push({
        modelInput: w.slice(0, -1),
        lossInputs: { targetTokens: w.slice(1), weights: new Array<number>(w.length - 1).fill(1) },
      });
    }
  }
  return out;
}
