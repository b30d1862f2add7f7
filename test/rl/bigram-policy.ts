/**
 * A small but real Policy for the trainer's unit tests: a bigram language model (logits W[prev][next]) with
 * exact log-probs, entropies and gradients through computeLoss, Adam, seeded sampling and save/load. It runs
 * in microseconds, so the loop's bookkeeping (rollouts, groups, resume) can be tested without the engine.
 * Like the engine, every log-prob is of softmax(W[prev] / T) at the sampling temperature T.
 */
import fs from "node:fs";
import path from "node:path";
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
  TokenizerLike,
} from "../../src/core/policy.js";
import { computeLoss, needsEntropy } from "../../src/core/losses.js";
import { Rng } from "../../src/core/rng.js";

export class BigramPolicy implements Policy {
  readonly info: PolicyInfo = { backend: "test-bigram", modelName: "bigram", contextLength: 4096 };
  W: Float64Array;
  grad: Float64Array;
  m: Float64Array;
  v: Float64Array;
  t = 0;
  readonly V: number;
  constructor(
    readonly tokenizer: TokenizerLike,
    seed = 1,
  ) {
    this.V = tokenizer.vocabSize;
    this.W = new Float64Array(this.V * this.V);
    const r = new Rng(seed);
    for (let i = 0; i < this.W.length; i++) this.W[i] = (r.next() - 0.5) * 0.02;
    this.grad = new Float64Array(this.W.length);
    this.m = new Float64Array(this.W.length);
    this.v = new Float64Array(this.W.length);
  }
  private row(prev: number, T = 1): Float64Array {
    const z = this.W.subarray(prev * this.V, (prev + 1) * this.V);
    let mx = -Infinity;
    for (const x of z) mx = Math.max(mx, x);
    const p = new Float64Array(this.V);
    let s = 0;
    for (let j = 0; j < this.V; j++) s += p[j] = Math.exp((z[j]! - mx) / T);
    for (let j = 0; j < this.V; j++) p[j]! /= s;
    return p;
  }
  async sample(reqs: SampleRequest[]): Promise<SampledSequence[][]> {
    return reqs.map((req) => {
      const rng = new Rng(req.params.seed ?? 7);
      const stops = new Set([this.tokenizer.eosId, ...(req.params.stopTokenIds ?? [])]);
      return Array.from({ length: req.n }, () => {
        const tokens: number[] = [];
        const logprobs: number[] = [];
        let prev = req.prompt.at(-1)!;
        let finish: "stop" | "length" = "length";
        for (let k = 0; k < req.params.maxTokens; k++) {
          const p = this.row(prev, req.params.temperature || 1);
          let u = rng.next();
          let j = 0;
          if (req.params.temperature === 0) j = p.indexOf(Math.max(...p));
          else for (j = 0; j < this.V - 1; j++) if ((u -= p[j]!) <= 0) break;
          tokens.push(j);
          logprobs.push(Math.log(p[j]!));
          prev = j;
          if (stops.has(j)) {
            finish = "stop";
            break;
          }
        }
        const textIds = finish === "stop" ? tokens.slice(0, -1) : tokens;
        return { tokens, logprobs, text: this.tokenizer.decode(textIds), finishReason: finish };
      });
    });
  }
  async computeLogprobs(datums: Datum[], opts: LogprobOptions = {}): Promise<number[][]> {
    return datums.map((d) =>
      d.lossInputs.targetTokens.map((y, t) => Math.log(this.row(d.modelInput[t]!, opts.temperature ?? 1)[y]!)),
    );
  }
  async forwardBackward(datums: Datum[], spec: LossSpec): Promise<ForwardBackwardResult> {
    const T = spec.kind === "cross_entropy" ? 1 : (spec.temperature ?? 1);
    const probs = datums.map((d) => d.lossInputs.targetTokens.map((_, t) => this.row(d.modelInput[t]!, T)));
    const logprobs = datums.map((d, i) => d.lossInputs.targetTokens.map((y, t) => Math.log(probs[i]![t]![y]!)));
    const entropies = needsEntropy(spec)
      ? probs.map((rows) => rows.map((p) => -p.reduce((a, x) => a + (x > 0 ? x * Math.log(x) : 0), 0)))
      : undefined;
    const out = computeLoss(spec, { datums, logprobs, entropies });
    datums.forEach((d, i) =>
      d.lossInputs.targetTokens.forEach((y, t) => {
        const p = probs[i]![t]!;
        const g = out.dLogprobs[i]![t]!;
        const ge = out.dEntropies ? out.dEntropies[i]![t]! : 0;
        if (g === 0 && ge === 0) return;
        const base = d.modelInput[t]! * this.V;
        const H = entropies ? entropies[i]![t]! : 0;
        for (let j = 0; j < this.V; j++) {
          // d logp_y / dz_j = ([j==y] - p_j) / T ; dH/dz_j = -p_j (log p_j + H) / T
          let dz = (g * ((j === y ? 1 : 0) - p[j]!)) / T;
          if (ge !== 0) dz += (ge * -p[j]! * (Math.log(p[j]!) + H)) / T;
          this.grad[base + j]! += dz;
        }
      }),
    );
    return { loss: out.loss, logprobs, metrics: out.metrics };
  }
  async optimStep(a: AdamParams): Promise<OptimStepResult> {
    let norm = 0;
    for (const g of this.grad) norm += g * g;
    norm = Math.sqrt(norm);
    const scale = a.maxGradNorm > 0 && norm > a.maxGradNorm ? a.maxGradNorm / norm : 1;
    this.t++;
    for (let i = 0; i < this.W.length; i++) {
      const g = this.grad[i]! * scale;
      this.m[i] = a.beta1 * this.m[i]! + (1 - a.beta1) * g;
      this.v[i] = a.beta2 * this.v[i]! + (1 - a.beta2) * g * g;
      const mh = this.m[i]! / (1 - Math.pow(a.beta1, this.t));
      const vh = this.v[i]! / (1 - Math.pow(a.beta2, this.t));
      this.W[i]! -= a.learningRate * (mh / (Math.sqrt(vh) + a.eps) + a.weightDecay * this.W[i]!);
    }
    this.grad.fill(0);
    return { gradNorm: norm, step: this.t };
  }
  async saveState(dir: string): Promise<void> {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, "bigram.json"),
      JSON.stringify({ W: [...this.W], m: [...this.m], v: [...this.v], t: this.t }),
    );
  }
  async loadState(dir: string): Promise<void> {
    const j = JSON.parse(fs.readFileSync(path.join(dir, "bigram.json"), "utf8"));
    this.W = Float64Array.from(j.W);
    this.m = Float64Array.from(j.m);
    this.v = Float64Array.from(j.v);
    this.t = j.t;
    this.grad.fill(0);
  }
  async snapshotReference() {
    const ref = new BigramPolicy(this.tokenizer);
    ref.W = this.W.slice();
    return ref;
  }
}
