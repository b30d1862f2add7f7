/**
 * The training API's wire protocol: the JSON shapes (zod schemas) of every request, the conversions between
 * wire objects and the `Policy` types (both directions, for the server and the client), non-finite-number
 * encoding, and the packing of a state directory into JSON. Field names and semantics: training-server.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ApiError } from "../core/errors.js";
import type { AdamParams, Datum, LossSpec, SampledSequence, SampleRequest } from "../core/policy.js";

export const TRAINING_API_VERSION = 1;
export const TRAINING_PREFIX = "/v1/training";

// ------------------------------------------------------------------------------------------------ schemas

/**
 * Number arrays are the bulk of every request; zod's per-element schemas cost ~10x a plain loop on them, so
 * they are checked in one pass here (same error shape: the issue path ends at the offending index).
 */
function numberArray(ints: boolean): z.ZodType<number[]> {
  const what = ints ? "a non-negative integer (token id)" : "a finite number";
  return z
    .custom<number[]>((v) => Array.isArray(v), { message: "expected an array of numbers" })
    .superRefine((arr, ctx) => {
      for (let i = 0; i < arr.length; i++) {
        const x = arr[i];
        if (typeof x !== "number" || !Number.isFinite(x) || (ints && (!Number.isInteger(x) || x < 0))) {
          ctx.addIssue({
            code: "custom",
            message: `expected ${what}, got ${JSON.stringify(x) ?? String(x)}`,
            path: [i],
          });
          return;
        }
      }
    });
}
const Tokens = numberArray(true);
const Floats = numberArray(false);

export const WireDatum = z
  .strictObject({
    model_input: Tokens,
    loss_fn_inputs: z.strictObject({
      target_tokens: Tokens,
      weights: Floats,
      advantages: Floats.optional(),
      logprobs: Floats.optional(),
      ref_logprobs: Floats.optional(),
    }),
  })
  .superRefine((d, ctx) => {
    // Every per-position array is aligned with target_tokens, which is model_input shifted by one.
    const n = d.model_input.length;
    const li = d.loss_fn_inputs;
    for (const k of ["target_tokens", "weights", "advantages", "logprobs", "ref_logprobs"] as const) {
      const a = li[k];
      if (a !== undefined && a.length !== n) {
        ctx.addIssue({
          code: "custom",
          message: `has ${a.length} entries but model_input has ${n} (they must be aligned)`,
          path: ["loss_fn_inputs", k],
        });
      }
    }
  });
export type WireDatum = z.infer<typeof WireDatum>;

const WireSamplingParams = z.strictObject({
  max_tokens: z.number().int().min(0),
  temperature: z.number().min(0),
  top_p: z.number().optional(),
  top_k: z.number().int().min(0).optional(),
  stop: z.array(z.string()).optional(),
  stop_token_ids: Tokens.optional(),
  seed: z.number().int().optional(),
});

const WireSampleRequest = z.strictObject({
  prompt: Tokens,
  num_samples: z.number().int().min(1),
  sampling_params: WireSamplingParams,
});

const Aggregation = z.enum(["token-mean", "seq-mean-token-mean", "seq-sum-constant"]);
const LossConfigs = {
  cross_entropy: z.strictObject({ aggregation: Aggregation.optional() }),
  importance_sampling: z.strictObject({ aggregation: Aggregation, temperature: z.number().positive().optional() }),
  ppo: z.strictObject({
    clip_low: z.number().min(0),
    clip_high: z.number().min(0),
    kl_coef: z.number(),
    kl_estimator: z.enum(["k1", "k2", "k3"]),
    entropy_coef: z.number(),
    aggregation: Aggregation,
    constant_normalizer: z.number().positive().optional(),
    temperature: z.number().positive().optional(),
  }),
} as const;

/** The zod schema of each request body (exported for benchmarks and clients that want to pre-validate). */
export const RequestSchemas = {
  sample: z.strictObject({ requests: z.array(WireSampleRequest) }),
  data: z.strictObject({ data: z.array(WireDatum), temperature: z.number().positive().optional() }),
  forwardBackward: z.strictObject({
    data: z.array(WireDatum),
    loss_fn: z.enum(["cross_entropy", "importance_sampling", "ppo"]),
    loss_fn_config: z.record(z.string(), z.unknown()).optional(),
  }),
  optimStep: z.strictObject({
    adam_params: z.strictObject({
      learning_rate: z.number(),
      beta1: z.number(),
      beta2: z.number(),
      eps: z.number(),
      weight_decay: z.number().default(0),
      max_grad_norm: z.number().default(0),
    }),
  }),
  saveState: z.strictObject({ path: z.string().min(1).optional() }),
  loadState: z.union([
    z.strictObject({ path: z.string().min(1) }),
    z.strictObject({ files: z.array(z.strictObject({ name: z.string().min(1), data: z.string() })).min(1) }),
  ]),
  snapshot: z.strictObject({}),
  refData: z.strictObject({
    reference_id: z.string().min(1),
    data: z.array(WireDatum),
    temperature: z.number().positive().optional(),
  }),
  refSample: z.strictObject({ reference_id: z.string().min(1), requests: z.array(WireSampleRequest) }),
  refRelease: z.strictObject({ reference_id: z.string().min(1) }),
};

// ------------------------------------------------------------------------------------------------ wire <-> Policy types

export function datumToWire(d: Datum): WireDatum {
  const li = d.lossInputs;
  const w: WireDatum = {
    model_input: d.modelInput,
    loss_fn_inputs: { target_tokens: li.targetTokens, weights: li.weights },
  };
  if (li.advantages) w.loss_fn_inputs.advantages = li.advantages;
  if (li.samplingLogprobs) w.loss_fn_inputs.logprobs = li.samplingLogprobs;
  if (li.refLogprobs) w.loss_fn_inputs.ref_logprobs = li.refLogprobs;
  return w;
}

export function datumFromWire(w: WireDatum): Datum {
  const li = w.loss_fn_inputs;
  const d: Datum = { modelInput: w.model_input, lossInputs: { targetTokens: li.target_tokens, weights: li.weights } };
  if (li.advantages) d.lossInputs.advantages = li.advantages;
  if (li.logprobs) d.lossInputs.samplingLogprobs = li.logprobs;
  if (li.ref_logprobs) d.lossInputs.refLogprobs = li.ref_logprobs;
  return d;
}

export function sampleRequestToWire(r: SampleRequest): z.infer<typeof WireSampleRequest> {
  const p = r.params;
  const sp: z.infer<typeof WireSamplingParams> = { max_tokens: p.maxTokens, temperature: p.temperature };
  if (p.topP !== undefined) sp.top_p = p.topP;
  if (p.topK !== undefined) sp.top_k = p.topK;
  if (p.stop !== undefined) sp.stop = p.stop;
  if (p.stopTokenIds !== undefined) sp.stop_token_ids = p.stopTokenIds;
  if (p.seed !== undefined) sp.seed = p.seed;
  return { prompt: r.prompt, num_samples: r.n, sampling_params: sp };
}

export function sampleRequestFromWire(w: z.infer<typeof WireSampleRequest>): SampleRequest {
  const s = w.sampling_params;
  const params: SampleRequest["params"] = { maxTokens: s.max_tokens, temperature: s.temperature };
  if (s.top_p !== undefined) params.topP = s.top_p;
  if (s.top_k !== undefined) params.topK = s.top_k;
  if (s.stop !== undefined) params.stop = s.stop;
  if (s.stop_token_ids !== undefined) params.stopTokenIds = s.stop_token_ids;
  if (s.seed !== undefined) params.seed = s.seed;
  return { prompt: w.prompt, n: w.num_samples, params };
}

export interface WireSequence {
  tokens: number[];
  logprobs: number[];
  text: string;
  stop_reason: "stop" | "length";
}

export function sequenceToWire(s: SampledSequence): WireSequence {
  return { tokens: s.tokens, logprobs: s.logprobs, text: s.text, stop_reason: s.finishReason };
}

export function sequenceFromWire(s: WireSequence): SampledSequence {
  return { tokens: s.tokens, logprobs: s.logprobs, text: s.text, finishReason: s.stop_reason };
}

export function lossSpecToWire(spec: LossSpec): { loss_fn: LossSpec["kind"]; loss_fn_config: Record<string, unknown> } {
  switch (spec.kind) {
    case "cross_entropy":
      return { loss_fn: "cross_entropy", loss_fn_config: spec.aggregation ? { aggregation: spec.aggregation } : {} };
    case "importance_sampling":
      return {
        loss_fn: "importance_sampling",
        loss_fn_config: {
          aggregation: spec.aggregation,
          ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
        },
      };
    case "ppo": {
      const c: Record<string, unknown> = {
        clip_low: spec.clipLow,
        clip_high: spec.clipHigh,
        kl_coef: spec.klCoef,
        kl_estimator: spec.klEstimator,
        entropy_coef: spec.entropyCoef,
        aggregation: spec.aggregation,
      };
      if (spec.constantNormalizer !== undefined) c.constant_normalizer = spec.constantNormalizer;
      if (spec.temperature !== undefined) c.temperature = spec.temperature;
      return { loss_fn: "ppo", loss_fn_config: c };
    }
  }
}

export function lossSpecFromWire(kind: LossSpec["kind"], config: Record<string, unknown> | undefined): LossSpec {
  const parsed = LossConfigs[kind].safeParse(config ?? {});
  if (!parsed.success)
    throw new ApiError(
      400,
      "invalid_request",
      `loss_fn_config for '${kind}': ${issues(parsed.error, "loss_fn_config")}`,
    );
  const c = parsed.data as Record<string, unknown>;
  if (kind === "cross_entropy") return c.aggregation ? { kind, aggregation: c.aggregation as never } : { kind };
  if (kind === "importance_sampling") {
    return typeof c.temperature === "number"
      ? { kind, aggregation: c.aggregation as never, temperature: c.temperature }
      : { kind, aggregation: c.aggregation as never };
  }
  const p = parsed.data as z.infer<typeof LossConfigs.ppo>;
  const spec: LossSpec = {
    kind: "ppo",
    clipLow: p.clip_low,
    clipHigh: p.clip_high,
    klCoef: p.kl_coef,
    klEstimator: p.kl_estimator,
    entropyCoef: p.entropy_coef,
    aggregation: p.aggregation,
  };
  if (p.constant_normalizer !== undefined) spec.constantNormalizer = p.constant_normalizer;
  if (p.temperature !== undefined) spec.temperature = p.temperature;
  return spec;
}

/** The optional `temperature` field of compute_logprobs requests (absent = 1). */
export function temperatureToWire(opts: { temperature?: number }): { temperature?: number } {
  return opts.temperature !== undefined && opts.temperature !== 1 ? { temperature: opts.temperature } : {};
}

export function adamToWire(a: AdamParams): Record<string, number> {
  return {
    learning_rate: a.learningRate,
    beta1: a.beta1,
    beta2: a.beta2,
    eps: a.eps,
    weight_decay: a.weightDecay,
    max_grad_norm: a.maxGradNorm,
  };
}

// ------------------------------------------------------------------------------------------------ JSON helpers

export function issues(err: z.ZodError, prefix = ""): string {
  const shown = err.issues.slice(0, 5).map((i) => {
    const p = [prefix, ...i.path.map(String)].filter((s) => s !== "").join(".");
    return `${p || "(body)"}: ${i.message}`;
  });
  return shown.join("; ") + (err.issues.length > 5 ? `; … (${err.issues.length - 5} more)` : "");
}

function hasNonFinite(v: unknown): boolean {
  if (typeof v === "number") return !Number.isFinite(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === "number") {
        if (x - x !== 0) return true; // NaN and ±Infinity (the fast path: most responses are number arrays)
      } else if (x !== null && typeof x === "object" && hasNonFinite(x)) return true;
    }
    return false;
  }
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) if (hasNonFinite(x)) return true;
  }
  return false;
}

/** Marker object standing for a non-finite number on the wire (an object, so no string value is ever mistaken for one). */
const NONFINITE = "$nonfinite";

/** JSON.stringify that sends NaN / ±Infinity as {"$nonfinite": "NaN" | "Infinity" | "-Infinity"}. */
export function stringifyWire(v: unknown): string {
  if (!hasNonFinite(v)) return JSON.stringify(v);
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === "number" && !Number.isFinite(x) ? { [NONFINITE]: String(x) } : x,
  );
}

/** JSON.parse that turns {"$nonfinite": ...} markers back into numbers. */
export function parseWire(text: string): unknown {
  if (!text.includes(`"${NONFINITE}"`)) return JSON.parse(text);
  return JSON.parse(text, (_k, x: unknown) => {
    if (x && typeof x === "object" && !Array.isArray(x)) {
      const keys = Object.keys(x);
      const m = (x as Record<string, unknown>)[NONFINITE];
      if (keys.length === 1 && (m === "NaN" || m === "Infinity" || m === "-Infinity")) return Number(m);
    }
    return x;
  });
}

function listFiles(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

/** Reads a directory tree into [{name (relative, '/'-separated), data (base64)}]. */
export function packDir(dir: string): { name: string; data: string }[] {
  return listFiles(dir).map((name) => ({ name, data: fs.readFileSync(path.join(dir, name)).toString("base64") }));
}

/** Writes packed files into `dir` (which must not exist yet); refuses names that escape it. */
export function unpackDir(files: { name: string; data: string }[], dir: string): void {
  const root = path.resolve(dir);
  for (const f of files) {
    const target = path.resolve(root, f.name);
    if (!target.startsWith(root + path.sep) || f.name.includes("\\"))
      throw new ApiError(400, "invalid_request", `state file name '${f.name}' escapes the state directory`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, Buffer.from(f.data, "base64"));
  }
}
