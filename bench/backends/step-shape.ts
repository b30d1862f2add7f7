/**
 * The RL-sized step both backend overhead benches drive (overhead.ts: our HTTP protocol; tinker-overhead.ts: the
 * Tinker protocol): command-line shape, tokenizer, Adam and PPO settings, deterministic prompts and the datum builder.
 */
import { parseArgs } from "node:util";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import type { AdamParams, Datum, LossSpec, SampledSequence } from "../../src/core/policy.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    steps: { type: "string", default: "6" },
    B: { type: "string", default: "4" },
    G: { type: "string", default: "4" },
    K: { type: "string", default: "2" },
    prompt: { type: "string", default: "96" },
    doc: { type: "string", default: "32" },
    code: { type: "string", default: "64" },
  },
});
/** The model preset (--preset). */
export const preset = values.preset as string;
/** Steps and shapes: B code prompts × G docs × K rebuilds, prompt/doc/code lengths in tokens. */
export const P = {
  steps: Number(values.steps),
  B: Number(values.B),
  G: Number(values.G),
  K: Number(values.K),
  prompt: Number(values.prompt),
  doc: Number(values.doc),
  code: Number(values.code),
};
export const tok = new ByteTokenizer();
export const adam: AdamParams = {
  learningRate: 1e-3,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.01,
  maxGradNorm: 1,
};
export const spec: LossSpec = {
  kind: "ppo",
  clipLow: 0.2,
  clipHigh: 0.28,
  klCoef: 0.01,
  klEstimator: "k3",
  entropyCoef: 0,
  aggregation: "token-mean",
};

// Deterministic pseudo-code prompts (printable bytes).
let s = 12345;
const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
const prompt = (n: number) => [
  tok.bosId,
  ...Array.from({ length: n - 1 }, () => tok.encode(String.fromCharCode(32 + Math.floor(rnd() * 90)))[0]!),
];
export const codePrompts = Array.from({ length: P.B }, () => prompt(P.prompt));

/** A training datum: loss (weight 1, advantage `adv`) on the completion tokens only. */
export function datum(p: number[], seq: SampledSequence, adv: number): Datum {
  const full = [...p, ...seq.tokens];
  const n = full.length - 1;
  const start = p.length - 1;
  return {
    modelInput: full.slice(0, n),
    lossInputs: {
      targetTokens: full.slice(1),
      weights: Array.from({ length: n }, (_, t) => (t >= start ? 1 : 0)),
      advantages: Array.from({ length: n }, (_, t) => (t >= start ? adv : 0)),
    },
  };
}
