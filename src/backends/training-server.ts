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
import type http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { z } from "zod";
import { ApiError } from "../core/errors.js";
import type { AdamParams, Datum, Policy, Sampler, ScoringSampler } from "../core/policy.js";
import { close, createServer, listen, readJsonBody, sendJson, toApiError } from "./http.js";
import {
  datumFromWire,
  issues,
  lossSpecFromWire,
  packDir,
  RequestSchemas,
  sampleRequestFromWire,
  sequenceToWire,
  stringifyWire,
  TRAINING_API_VERSION,
  TRAINING_PREFIX,
  unpackDir,
} from "./training-wire.js";

export { TRAINING_API_VERSION, TRAINING_PREFIX };

type Reference = ScoringSampler;

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
    if (!tj)
      throw new Error(
        "TrainingServer: the policy's tokenizer cannot be exported (no toHuggingFaceJSON); pass tokenizerJSON",
      );
    this.tokenizerJSON = tj;
    this.modelName = opts.modelName ?? opts.policy.info.modelName;
    this.server = createServer(
      (req, res) => this.handle(req, res),
      (res, e) => this.sendError(res, e),
    );
  }

  /** Starts listening; resolves to the base URL (http://host:port). */
  listen(port = 8001, host = "127.0.0.1"): Promise<string> {
    return listen(this.server, port, host);
  }

  close(): Promise<void> {
    return close(this.server);
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
      const a = Buffer.from(given),
        b = Buffer.from(this.opts.apiKey);
      if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
        req.resume();
        throw new ApiError(
          401,
          "unauthorized",
          h ? "invalid API key" : "missing API key: send 'Authorization: Bearer <key>'",
        );
      }
    }
    if (!route.startsWith(TRAINING_PREFIX + "/") && route !== TRAINING_PREFIX) {
      req.resume();
      throw new ApiError(
        404,
        "not_found",
        `unknown path ${url.pathname} (the training API lives under ${TRAINING_PREFIX}/)`,
      );
    }
    const op = route.slice(TRAINING_PREFIX.length + 1);
    const posts = new Set([
      "sample",
      "compute_logprobs",
      "forward_backward",
      "optim_step",
      "save_state",
      "load_state",
      "reference/snapshot",
      "reference/compute_logprobs",
      "reference/sample",
      "reference/release",
    ]);
    if (op === "info") {
      req.resume();
      if (req.method !== "GET")
        throw new ApiError(405, "method_not_allowed", `${req.method} not allowed on ${route} (use GET)`);
      return this.send(res, 200, this.info());
    }
    if (!posts.has(op)) {
      req.resume();
      throw new ApiError(
        404,
        "not_found",
        `unknown path ${url.pathname} (known: ${TRAINING_PREFIX}/info, ${[...posts].map((p) => `${TRAINING_PREFIX}/${p}`).join(", ")})`,
      );
    }
    if (req.method !== "POST") {
      req.resume();
      throw new ApiError(405, "method_not_allowed", `${req.method} not allowed on ${route} (use POST)`);
    }
    const inst = req.headers["x-batcoder-instance"];
    if (typeof inst === "string" && inst !== this.instanceId) {
      req.resume();
      throw new ApiError(
        409,
        "instance_mismatch",
        `the training server restarted (instance ${inst} is gone, this is ${this.instanceId}): its training state was lost; reconnect and reload a checkpoint`,
      );
    }
    const body = await this.readJson(req);
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    const key = req.headers["idempotency-key"];
    if (typeof key === "string" && key.length > 0) {
      const hit = this.idem.get(key);
      if (hit) {
        if (hit.route !== op)
          throw new ApiError(409, "idempotency_conflict", `Idempotency-Key '${key}' was already used for ${hit.route}`);
        const r = await hit.result;
        return this.send(res, r.status, r.body);
      }
      const result = this.dispatch(op, body).then(
        (b) => ({ status: 200, body: b }),
        (e: unknown) => {
          const err = this.toApiError(e);
          return { status: err.status, body: err.body() };
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
    if (!r)
      throw new ApiError(
        404,
        "unknown_reference",
        `no reference snapshot '${id}' (released, evicted, or from a previous server instance)`,
      );
    return r;
  }

  private statePath(p: string): string {
    const root = this.opts.stateRoot;
    if (root === undefined)
      throw new ApiError(
        400,
        "invalid_request",
        "this server does not accept server-side state paths (start it with a state root); send no 'path' to get the state back in the response",
      );
    const abs = path.resolve(root, p);
    const r = path.resolve(root);
    if (abs !== r && !abs.startsWith(r + path.sep))
      throw new ApiError(400, "invalid_request", `path '${p}' is outside the server's state root`);
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
        return {
          logprobs: await this.serial(() =>
            policy.computeLogprobs(b.data.map(datumFromWire), { temperature: b.temperature }),
          ),
        };
      }
      case "forward_backward": {
        const b = this.parse(RequestSchemas.forwardBackward, body);
        const spec = lossSpecFromWire(b.loss_fn, b.loss_fn_config);
        const r = await this.serial(() => policy.forwardBackward(b.data.map(datumFromWire), spec));
        return { loss: r.loss, loss_fn_outputs: r.logprobs.map((lp) => ({ logprobs: lp })), metrics: r.metrics };
      }
      case "optim_step": {
        const a = this.parse(RequestSchemas.optimStep, body).adam_params;
        const adam: AdamParams = {
          learningRate: a.learning_rate,
          beta1: a.beta1,
          beta2: a.beta2,
          eps: a.eps,
          weightDecay: a.weight_decay,
          maxGradNorm: a.max_grad_norm,
        };
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
        return {
          reference_id: id,
          info: {
            backend: ref.info.backend,
            model_name: ref.info.modelName,
            n_params: ref.info.nParams ?? null,
            context_length: ref.info.contextLength,
          },
        };
      }
      case "reference/compute_logprobs": {
        const b = this.parse(RequestSchemas.refData, body);
        const ref = this.ref(b.reference_id);
        return {
          logprobs: await this.serial(() =>
            ref.computeLogprobs(b.data.map(datumFromWire), { temperature: b.temperature }),
          ),
        };
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
    return readJsonBody(req, { limit: this.opts.maxBodyBytes ?? 256 * 1024 * 1024, emptyAsObject: true });
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    sendJson(res, status, stringifyWire(body), { "x-batcoder-instance": this.instanceId });
  }

  private toApiError(e: unknown): ApiError {
    return toApiError(e, "policy_error", (line) => this.opts.log?.(`training-server: policy error: ${line}`));
  }

  private sendError(res: http.ServerResponse, e: unknown): void {
    const err = this.toApiError(e);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Tell the client to close: the unread rest of a refused body must not be parsed as the next request.
    if (err.status === 413 || err.status === 401) res.setHeader("connection", "close");
    this.send(res, err.status, err.body());
  }
}

/** Convenience: build and start a training server; resolves once it listens. */
export async function serveTraining(
  opts: TrainingServerOptions & { port?: number; host?: string },
): Promise<{ server: TrainingServer; url: string }> {
  const server = new TrainingServer(opts);
  const url = await server.listen(opts.port ?? 8001, opts.host ?? "127.0.0.1");
  return { server, url };
}
