/**
 * A Tinker-shaped training API over HTTP (node:http, JSON bodies, no framework) in front of ANY `Policy`.
 *
 *   GET  /v1/training/info                        PolicyInfo + step + the tokenizer's Hugging Face JSON
 *   POST /v1/training/sample                      {requests: [{prompt, num_samples, sampling_params}]}
 *   POST /v1/training/compute_logprobs            {data: [Datum]}                     -> {logprobs}
 *   POST /v1/training/forward_backward            {data: [Datum], loss_fn, loss_fn_config} -> {loss, loss_fn_outputs, metrics}
 *   POST /v1/training/optim_step                  {adam_params}                      -> {grad_norm, step}
 *   POST /v1/training/save_state                  {} -> {files} (the state travels back) | {path} (server-side dir)
 *   POST /v1/training/load_state                  {files} | {path}
 *   POST /v1/training/reference/snapshot          {} -> {reference_id, info}
 *   POST /v1/training/reference/compute_logprobs  {reference_id, data}               -> {logprobs}
 *   POST /v1/training/reference/sample            {reference_id, requests}           -> {sequences}
 *   POST /v1/training/reference/release           {reference_id}
 *
 * Field names follow Tinker's Python SDK where one exists (snake_case): a Datum is
 * `{model_input: number[], loss_fn_inputs: {target_tokens, weights, advantages?, logprobs?, ref_logprobs?}}`
 * (`logprobs` = the sampling policy's log-probs, Tinker's name; `ref_logprobs` is our extension for the
 * KL-in-loss term; Tinker's ModelInput chunks are flattened to a plain token list). Sampling params are
 * `{max_tokens, temperature, top_p?, top_k?, stop?, stop_token_ids?, seed?}`; a sampled sequence is
 * `{tokens, logprobs, text, stop_reason: "stop" | "length"}`. Adam params are Tinker's
 * `{learning_rate, beta1, beta2, eps}` plus `weight_decay` and `max_grad_norm`. See src/backends/README.md.
 *
 * Semantics:
 * - Every state-touching request runs through ONE queue (a policy is stateful: gradients accumulate between
 *   forward_backward and optim_step, sampling consumes the RNG), in arrival order. `info` bypasses it.
 * - Idempotency: a POST may carry `Idempotency-Key: <id>`; a repeated key (while the original runs or after it
 *   finished, among the last `idempotencyCache` keys) gets the original's response instead of running again.
 *   `X-Batcoder-Instance: <id>` (from /info) makes a request fail with 409 if the server restarted since, so a
 *   client's retry can never land on a fresh policy whose state was lost.
 * - Errors are `{error: {message, type, code}}`: 400 invalid_json / invalid_request (zod issues with paths),
 *   401 unauthorized (bearer token), 404 not_found, 405 method_not_allowed, 409 instance_mismatch /
 *   idempotency_conflict, 413 body_too_large, 500 policy_error (the policy threw; its message is passed on).
 * - Numbers: JSON numbers (finite doubles round-trip exactly, so float32 values arrive bit-identical).
 *   Non-finite values in RESPONSES (a NaN loss) are sent as `{"$nonfinite": "NaN" | "Infinity" | "-Infinity"}`
 *   and revived by the client; numbers in requests must be finite (400 otherwise).
 */
import http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import type { AdamParams, Datum, LossSpec, Policy, SampledSequence, SampleRequest, Sampler } from "./policy.js";

export const TRAINING_API_VERSION = 1;
export const TRAINING_PREFIX = "/v1/training";

type Reference = Sampler & { computeLogprobs(datums: Datum[]): Promise<number[][]> };

export interface TrainingServerOptions {
  policy: Policy;
  /** Model name reported by /info (default policy.info.modelName). */
  modelName?: string;
  /** Bearer token required on every request (except none). Unset = no authentication. */
  apiKey?: string;
  /** Largest accepted request body (default 256 MiB: a checkpoint upload travels as base64 JSON). */
  maxBodyBytes?: number;
  /** Allows save_state/load_state with a server-side `path`, resolved inside this directory. Unset = refused. */
  stateRoot?: string;
  /** Reference snapshots kept at once (oldest released first; default 4). */
  maxReferences?: number;
  /** Idempotency keys remembered (default 32). */
  idempotencyCache?: number;
  /** The tokenizer's HF JSON, when the policy's tokenizer has no `toHuggingFaceJSON()`. */
  tokenizerJSON?: Record<string, unknown>;
  log?: (line: string) => void;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------------------------------------ schemas

/**
 * Number arrays are the bulk of every request; zod's per-element schemas cost ~10x a plain loop on them, so
 * they are checked in one pass here (same error shape: the issue path ends at the offending index).
 */
function numberArray(ints: boolean): z.ZodType<number[]> {
  const what = ints ? "a non-negative integer (token id)" : "a finite number";
  return z.custom<number[]>((v) => Array.isArray(v), { message: "expected an array of numbers" }).superRefine((arr, ctx) => {
    for (let i = 0; i < arr.length; i++) {
      const x = arr[i];
      if (typeof x !== "number" || !Number.isFinite(x) || (ints && (!Number.isInteger(x) || x < 0))) {
        ctx.addIssue({ code: "custom", message: `expected ${what}, got ${JSON.stringify(x) ?? String(x)}`, path: [i] });
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
        ctx.addIssue({ code: "custom", message: `has ${a.length} entries but model_input has ${n} (they must be aligned)`, path: ["loss_fn_inputs", k] });
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
  importance_sampling: z.strictObject({ aggregation: Aggregation }),
  ppo: z.strictObject({
    clip_low: z.number().min(0),
    clip_high: z.number().min(0),
    kl_coef: z.number(),
    kl_estimator: z.enum(["k1", "k2", "k3"]),
    entropy_coef: z.number(),
    aggregation: Aggregation,
    constant_normalizer: z.number().positive().optional(),
  }),
} as const;

/** The zod schema of each request body (exported for benchmarks and clients that want to pre-validate). */
export const RequestSchemas = {
  sample: z.strictObject({ requests: z.array(WireSampleRequest) }),
  data: z.strictObject({ data: z.array(WireDatum) }),
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
  refData: z.strictObject({ reference_id: z.string().min(1), data: z.array(WireDatum) }),
  refSample: z.strictObject({ reference_id: z.string().min(1), requests: z.array(WireSampleRequest) }),
  refRelease: z.strictObject({ reference_id: z.string().min(1) }),
};

// ------------------------------------------------------------------------------------------------ wire <-> Policy types

export function datumToWire(d: Datum): WireDatum {
  const li = d.lossInputs;
  const w: WireDatum = { model_input: d.modelInput, loss_fn_inputs: { target_tokens: li.targetTokens, weights: li.weights } };
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

function sampleRequestFromWire(w: z.infer<typeof WireSampleRequest>): SampleRequest {
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

function sequenceToWire(s: SampledSequence): WireSequence {
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
      return { loss_fn: "importance_sampling", loss_fn_config: { aggregation: spec.aggregation } };
    case "ppo": {
      const c: Record<string, unknown> = {
        clip_low: spec.clipLow, clip_high: spec.clipHigh, kl_coef: spec.klCoef, kl_estimator: spec.klEstimator,
        entropy_coef: spec.entropyCoef, aggregation: spec.aggregation,
      };
      if (spec.constantNormalizer !== undefined) c.constant_normalizer = spec.constantNormalizer;
      return { loss_fn: "ppo", loss_fn_config: c };
    }
  }
}

function lossSpecFromWire(kind: LossSpec["kind"], config: Record<string, unknown> | undefined): LossSpec {
  const parsed = LossConfigs[kind].safeParse(config ?? {});
  if (!parsed.success) throw new ApiError(400, "invalid_request", `loss_fn_config for '${kind}': ${issues(parsed.error, "loss_fn_config")}`);
  const c = parsed.data as Record<string, unknown>;
  if (kind === "cross_entropy") return c.aggregation ? { kind, aggregation: c.aggregation as never } : { kind };
  if (kind === "importance_sampling") return { kind, aggregation: c.aggregation as never };
  const p = parsed.data as z.infer<typeof LossConfigs.ppo>;
  const spec: LossSpec = {
    kind: "ppo", clipLow: p.clip_low, clipHigh: p.clip_high, klCoef: p.kl_coef, klEstimator: p.kl_estimator,
    entropyCoef: p.entropy_coef, aggregation: p.aggregation,
  };
  if (p.constant_normalizer !== undefined) spec.constantNormalizer = p.constant_normalizer;
  return spec;
}

export function adamToWire(a: AdamParams): Record<string, number> {
  return { learning_rate: a.learningRate, beta1: a.beta1, beta2: a.beta2, eps: a.eps, weight_decay: a.weightDecay, max_grad_norm: a.maxGradNorm };
}

// ------------------------------------------------------------------------------------------------ JSON helpers

function issues(err: z.ZodError, prefix = ""): string {
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
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "number" && !Number.isFinite(x) ? { [NONFINITE]: String(x) } : x));
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
    if (!target.startsWith(root + path.sep) || f.name.includes("\\")) throw new ApiError(400, "invalid_request", `state file name '${f.name}' escapes the state directory`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, Buffer.from(f.data, "base64"));
  }
}

// ------------------------------------------------------------------------------------------------ the server

interface CachedResponse {
  route: string;
  result: Promise<{ status: number; body: unknown }>;
}

export class TrainingServer {
  readonly server: http.Server;
  /** Changes on every start: lets clients detect a restarted server (whose training state is gone). */
  readonly instanceId = crypto.randomUUID();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly refs = new Map<string, Reference>();
  private refCounter = 0;
  private readonly idem = new Map<string, CachedResponse>();
  private readonly tokenizerJSON: Record<string, unknown>;
  /** Requests handled (by route), for tests and logs. */
  readonly counts: Record<string, number> = {};
  readonly modelName: string;

  constructor(private readonly opts: TrainingServerOptions) {
    const tok = opts.policy.tokenizer as { toHuggingFaceJSON?: () => Record<string, unknown> };
    const tj = opts.tokenizerJSON ?? tok.toHuggingFaceJSON?.();
    if (!tj) throw new Error("TrainingServer: the policy's tokenizer cannot be exported (no toHuggingFaceJSON); pass tokenizerJSON");
    this.tokenizerJSON = tj;
    this.modelName = opts.modelName ?? opts.policy.info.modelName;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.sendError(res, e));
    });
  }

  /** Starts listening; resolves to the base URL (http://host:port). */
  listen(port = 8001, host = "127.0.0.1"): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const a = this.server.address();
        const p = typeof a === "object" && a ? a.port : port;
        resolve(`http://${host.includes(":") ? `[${host}]` : host}:${p}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }

  /** Runs fn after every earlier queued operation finished (one training op at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname.replace(/\/+$/, "");
    if (this.opts.apiKey !== undefined) {
      const h = req.headers.authorization ?? "";
      const given = h.startsWith("Bearer ") ? h.slice(7) : "";
      const a = Buffer.from(given), b = Buffer.from(this.opts.apiKey);
      if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
        req.resume();
        throw new ApiError(401, "unauthorized", h ? "invalid API key" : "missing API key: send 'Authorization: Bearer <key>'");
      }
    }
    if (!route.startsWith(TRAINING_PREFIX + "/") && route !== TRAINING_PREFIX) {
      req.resume();
      throw new ApiError(404, "not_found", `unknown path ${url.pathname} (the training API lives under ${TRAINING_PREFIX}/)`);
    }
    const op = route.slice(TRAINING_PREFIX.length + 1);
    const posts = new Set(["sample", "compute_logprobs", "forward_backward", "optim_step", "save_state", "load_state", "reference/snapshot", "reference/compute_logprobs", "reference/sample", "reference/release"]);
    if (op === "info") {
      req.resume();
      if (req.method !== "GET") throw new ApiError(405, "method_not_allowed", `${req.method} not allowed on ${route} (use GET)`);
      return this.send(res, 200, this.info());
    }
    if (!posts.has(op)) {
      req.resume();
      throw new ApiError(404, "not_found", `unknown path ${url.pathname} (known: ${TRAINING_PREFIX}/info, ${[...posts].map((p) => `${TRAINING_PREFIX}/${p}`).join(", ")})`);
    }
    if (req.method !== "POST") {
      req.resume();
      throw new ApiError(405, "method_not_allowed", `${req.method} not allowed on ${route} (use POST)`);
    }
    const inst = req.headers["x-batcoder-instance"];
    if (typeof inst === "string" && inst !== this.instanceId) {
      req.resume();
      throw new ApiError(409, "instance_mismatch", `the training server restarted (instance ${inst} is gone, this is ${this.instanceId}): its training state was lost; reconnect and reload a checkpoint`);
    }
    const body = await this.readJson(req);
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    const key = req.headers["idempotency-key"];
    if (typeof key === "string" && key.length > 0) {
      const hit = this.idem.get(key);
      if (hit) {
        if (hit.route !== op) throw new ApiError(409, "idempotency_conflict", `Idempotency-Key '${key}' was already used for ${hit.route}`);
        const r = await hit.result;
        return this.send(res, r.status, r.body);
      }
      const result = this.dispatch(op, body).then(
        (b) => ({ status: 200, body: b }),
        (e: unknown) => {
          const err = this.toApiError(e);
          return { status: err.status, body: { error: { message: err.message, type: err.status >= 500 ? "server_error" : "invalid_request_error", code: err.code } } };
        },
      );
      this.idem.set(key, { route: op, result });
      while (this.idem.size > (this.opts.idempotencyCache ?? 32)) this.idem.delete(this.idem.keys().next().value!);
      const r = await result;
      return this.send(res, r.status, r.body);
    }
    return this.send(res, 200, await this.dispatch(op, body));
  }

  private info(): Record<string, unknown> {
    const p = this.opts.policy;
    const step = (p as { step?: unknown }).step;
    return {
      api_version: TRAINING_API_VERSION,
      instance_id: this.instanceId,
      backend: p.info.backend,
      model_name: this.modelName,
      n_params: p.info.nParams ?? null,
      context_length: p.info.contextLength,
      step: typeof step === "number" ? step : null,
      server_state_paths: this.opts.stateRoot !== undefined,
      tokenizer: this.tokenizerJSON,
    };
  }

  private parse<T>(schema: z.ZodType<T>, body: unknown): T {
    const r = schema.safeParse(body);
    if (!r.success) throw new ApiError(400, "invalid_request", issues(r.error));
    return r.data;
  }

  private ref(id: string): Reference {
    const r = this.refs.get(id);
    if (!r) throw new ApiError(404, "unknown_reference", `no reference snapshot '${id}' (released, evicted, or from a previous server instance)`);
    return r;
  }

  private statePath(p: string): string {
    const root = this.opts.stateRoot;
    if (root === undefined) throw new ApiError(400, "invalid_request", "this server does not accept server-side state paths (start it with a state root); send no 'path' to get the state back in the response");
    const abs = path.resolve(root, p);
    const r = path.resolve(root);
    if (abs !== r && !abs.startsWith(r + path.sep)) throw new ApiError(400, "invalid_request", `path '${p}' is outside the server's state root`);
    return abs;
  }

  private async dispatch(op: string, body: unknown): Promise<unknown> {
    const policy = this.opts.policy;
    switch (op) {
      case "sample": {
        const b = this.parse(RequestSchemas.sample, body);
        const out = await this.serial(() => policy.sample(b.requests.map(sampleRequestFromWire)));
        return { sequences: out.map((seqs) => seqs.map(sequenceToWire)) };
      }
      case "compute_logprobs": {
        const b = this.parse(RequestSchemas.data, body);
        return { logprobs: await this.serial(() => policy.computeLogprobs(b.data.map(datumFromWire))) };
      }
      case "forward_backward": {
        const b = this.parse(RequestSchemas.forwardBackward, body);
        const spec = lossSpecFromWire(b.loss_fn, b.loss_fn_config);
        const r = await this.serial(() => policy.forwardBackward(b.data.map(datumFromWire), spec));
        return { loss: r.loss, loss_fn_outputs: r.logprobs.map((lp) => ({ logprobs: lp })), metrics: r.metrics };
      }
      case "optim_step": {
        const a = this.parse(RequestSchemas.optimStep, body).adam_params;
        const adam: AdamParams = { learningRate: a.learning_rate, beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weight_decay, maxGradNorm: a.max_grad_norm };
        const r = await this.serial(() => policy.optimStep(adam));
        return { grad_norm: r.gradNorm, step: r.step };
      }
      case "save_state": {
        const b = this.parse(RequestSchemas.saveState, body);
        if (b.path !== undefined) {
          const dir = this.statePath(b.path);
          await this.serial(() => policy.saveState(dir));
          return { path: b.path };
        }
        return this.serial(async () => {
          const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-train-save-"));
          try {
            const dir = path.join(tmp, "state");
            await policy.saveState(dir);
            return { files: packDir(dir) };
          } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
          }
        });
      }
      case "load_state": {
        const b = this.parse(RequestSchemas.loadState, body);
        if ("path" in b) {
          const dir = this.statePath(b.path);
          await this.serial(() => policy.loadState(dir));
          return { path: b.path };
        }
        await this.serial(async () => {
          const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-train-load-"));
          try {
            const dir = path.join(tmp, "state");
            unpackDir(b.files, dir);
            await policy.loadState(dir);
          } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
          }
        });
        return { loaded: b.files.length };
      }
      case "reference/snapshot": {
        this.parse(RequestSchemas.snapshot, body ?? {});
        const ref = await this.serial(() => policy.snapshotReference());
        const id = `ref-${++this.refCounter}`;
        this.refs.set(id, ref);
        while (this.refs.size > (this.opts.maxReferences ?? 4)) this.refs.delete(this.refs.keys().next().value!);
        return { reference_id: id, info: { backend: ref.info.backend, model_name: ref.info.modelName, n_params: ref.info.nParams ?? null, context_length: ref.info.contextLength } };
      }
      case "reference/compute_logprobs": {
        const b = this.parse(RequestSchemas.refData, body);
        const ref = this.ref(b.reference_id);
        return { logprobs: await this.serial(() => ref.computeLogprobs(b.data.map(datumFromWire))) };
      }
      case "reference/sample": {
        const b = this.parse(RequestSchemas.refSample, body);
        const ref = this.ref(b.reference_id);
        const out = await this.serial(() => ref.sample(b.requests.map(sampleRequestFromWire)));
        return { sequences: out.map((seqs) => seqs.map(sequenceToWire)) };
      }
      case "reference/release": {
        const b = this.parse(RequestSchemas.refRelease, body);
        return { released: this.refs.delete(b.reference_id) };
      }
    }
    throw new ApiError(404, "not_found", `unknown operation ${op}`);
  }

  private readJson(req: http.IncomingMessage): Promise<unknown> {
    const limit = this.opts.maxBodyBytes ?? 256 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on("data", (c: Buffer) => {
        if (failed) return;
        size += c.length;
        if (size > limit) {
          failed = true;
          reject(new ApiError(413, "body_too_large", `request body over ${limit} bytes`));
          return;
        }
        chunks.push(c);
      });
      req.on("error", (e) => reject(e));
      req.on("end", () => {
        if (failed) return;
        const text = Buffer.concat(chunks).toString("utf8");
        if (text.trim() === "") return resolve({});
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new ApiError(400, "invalid_json", `request body is not valid JSON: ${(e as Error).message}`));
        }
      });
    });
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = stringifyWire(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-batcoder-instance": this.instanceId });
    res.end(text);
  }

  private toApiError(e: unknown): ApiError {
    if (e instanceof ApiError) return e;
    this.opts.log?.(`training-server: policy error: ${(e as Error)?.stack ?? String(e)}`);
    return new ApiError(500, "policy_error", (e as Error)?.message ?? String(e));
  }

  private sendError(res: http.ServerResponse, e: unknown): void {
    const err = this.toApiError(e);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Tell the client to close: the unread rest of a refused body must not be parsed as the next request.
    if (err.status === 413 || err.status === 401) res.setHeader("connection", "close");
    this.send(res, err.status, { error: { message: err.message, type: err.status >= 500 ? "server_error" : "invalid_request_error", code: err.code } });
  }
}

/** Convenience: build and start a training server; resolves once it listens. */
export async function serveTraining(opts: TrainingServerOptions & { port?: number; host?: string }): Promise<{ server: TrainingServer; url: string }> {
  const server = new TrainingServer(opts);
  const url = await server.listen(opts.port ?? 8001, opts.host ?? "127.0.0.1");
  return { server, url };
}
