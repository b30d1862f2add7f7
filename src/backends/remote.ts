/**
 * RemotePolicy: the `Policy` interface over HTTP, talking to a training server (src/backends/training-server.ts,
 * `batcoder serve CKPT --training`). The RL loop cannot tell it from an in-process policy.
 *
 *   const policy = await connectRemotePolicy("http://127.0.0.1:8001", { apiKey: "secret" });
 *   await trainRL({ config, policy, reward, train, runDir });
 *
 * Tokenization is local: /info sends the server tokenizer's Hugging Face JSON, loaded with BpeTokenizer.fromJSON.
 *
 * Retries (exponential backoff with jitter, on network errors, timeouts, 429/502/503/504):
 * - READ-ONLY calls (info, compute_logprobs, reference log-probs/sampling, sample) are retried freely: running
 *   them twice changes no training state (an unseeded `sample` advances the server RNG again, which changes
 *   which random numbers later unseeded samples get, but never corrupts anything).
 * - STATE-CHANGING calls (forward_backward, optim_step, load_state, save_state, reference/snapshot) are NEVER
 *   re-sent blindly: a request whose response was lost may well have run, and running it again would add the
 *   gradients twice or take two optimizer steps — silently different training. They are retried only under an
 *   `Idempotency-Key` (the server returns the first run's response for a repeated key instead of running again)
 *   AND the `X-Batcoder-Instance` of the server seen at connect time (a restarted server, whose state is gone,
 *   answers 409 instead of running the op on a fresh policy). `retryMutating: false` turns even that off.
 * Errors are `RemotePolicyError`s naming the method, URL, status and the server's message.
 */
import crypto from "node:crypto";
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
  Sampler,
} from "../core/policy.js";
import { BpeTokenizer } from "../engine/tokenizer.js";
import { UserError } from "../core/errors.js";
import {
  adamToWire,
  datumToWire,
  lossSpecToWire,
  packDir,
  parseWire,
  sampleRequestToWire,
  sequenceFromWire,
  stringifyWire,
  temperatureToWire,
  TRAINING_PREFIX,
  unpackDir,
  type WireSequence,
} from "./training-wire.js";

export interface RemotePolicyOptions {
  /** Bearer token (the server's --api-key). */
  apiKey?: string;
  /** Per-request timeout for training ops (default 600 s). */
  timeoutMs?: number;
  /** Timeout for /info (default 30 s). */
  infoTimeoutMs?: number;
  /** Extra attempts after the first (default 3). */
  retries?: number;
  /** First backoff delay; doubled each retry, with jitter (default 200 ms). */
  backoffMs?: number;
  /** Retry state-changing ops under an Idempotency-Key + instance check (default true); false = never retry them. */
  retryMutating?: boolean;
  /**
   * Where saveState/loadState directories live: "client" (default) — the state travels in the HTTP body and
   * `dir` is a local path, as with an in-process policy; "server" — `dir` is a path on the server, inside the
   * state root it was started with (no transfer; for large models).
   */
  stateLocation?: "client" | "server";
}

export class RemotePolicyError extends UserError {
  constructor(
    message: string,
    readonly endpoint: string,
    /** HTTP status, or 0 when no response came back. */
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
    this.name = "RemotePolicyError";
  }
}

interface ServerInfo {
  api_version: number;
  instance_id: string;
  backend: string;
  model_name: string;
  n_params: number | null;
  context_length: number;
  step: number | null;
  server_state_paths: boolean;
  tokenizer: Record<string, unknown>;
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Normalises "http://h:p", "http://h:p/", "http://h:p/v1", "http://h:p/v1/training" to "http://h:p". */
export function normalizeBaseUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`not a URL: '${url}' (expected e.g. http://127.0.0.1:8001)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new UserError(`unsupported URL scheme '${u.protocol}' in '${url}' (use http or https)`);
  const p = u.pathname
    .replace(/\/+$/, "")
    .replace(/\/v1\/training$/, "")
    .replace(/\/v1$/, "");
  return `${u.origin}${p}`;
}

/** The HTTP transport shared by the policy and its reference snapshots. */
class Transport {
  instanceId: string | null = null;
  constructor(
    readonly base: string,
    readonly opts: RemotePolicyOptions,
  ) {}

  private chain: Promise<unknown> = Promise.resolve();

  /**
   * Calls go out one at a time, in the order they were made: the server runs ops in ARRIVAL order, and two
   * requests in flight on different connections may arrive swapped (forward_backward after optim_step).
   */
  call<T>(op: string, body: unknown, kind: "read" | "mutate", method: "GET" | "POST" = "POST"): Promise<T> {
    const run = this.chain.then(() => this.callNow<T>(op, body, kind, method));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async callNow<T>(op: string, body: unknown, kind: "read" | "mutate", method: "GET" | "POST"): Promise<T> {
    const url = `${this.base}${TRAINING_PREFIX}/${op}`;
    const endpoint = `${method} ${url}`;
    const retries = kind === "read" || this.opts.retryMutating !== false ? (this.opts.retries ?? 3) : 0;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.opts.apiKey !== undefined) headers.authorization = `Bearer ${this.opts.apiKey}`;
    if (kind === "mutate") {
      headers["idempotency-key"] = crypto.randomUUID();
      // Without the instance check a retry could run on a restarted (fresh) server: then never retry.
      if (this.instanceId) headers["x-batcoder-instance"] = this.instanceId;
    } else if (this.instanceId) headers["x-batcoder-instance"] = this.instanceId;
    const payload = method === "POST" ? stringifyWire(body ?? {}) : undefined;
    const timeout = op === "info" ? (this.opts.infoTimeoutMs ?? 30_000) : (this.opts.timeoutMs ?? 600_000);
    let lastErr: RemotePolicyError | null = null;
    let tries = 0;
    for (let attempt = 0; attempt <= retries; attempt++) {
      tries++;
      if (attempt > 0) {
        const base = (this.opts.backoffMs ?? 200) * 2 ** (attempt - 1);
        await sleep(base * (0.5 + Math.random() * 0.5));
      }
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(timeout) });
      } catch (e) {
        const err = e as Error & { cause?: { code?: string; message?: string } };
        const why =
          err.name === "TimeoutError"
            ? `no response within ${timeout} ms`
            : (err.cause?.code ?? err.cause?.message ?? err.message);
        lastErr = new RemotePolicyError(
          `${endpoint}: cannot reach the training server (${why})`,
          endpoint,
          0,
          err.cause?.code ?? err.name,
        );
        if (kind === "mutate" && !this.instanceId) break;
        continue;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        lastErr = new RemotePolicyError(
          `${endpoint}: the connection broke while reading the response (${(e as Error).message})`,
          endpoint,
          0,
          "read_failed",
        );
        if (kind === "mutate" && !this.instanceId) break;
        continue;
      }
      let json: unknown;
      try {
        json = text === "" ? {} : parseWire(text);
      } catch {
        lastErr = new RemotePolicyError(
          `${endpoint}: HTTP ${res.status}, response is not JSON: ${text.slice(0, 200)}`,
          endpoint,
          res.status,
          "bad_response",
        );
        if (RETRY_STATUS.has(res.status)) continue;
        throw lastErr;
      }
      if (!res.ok) {
        const e = (json as { error?: { message?: string; code?: string } }).error;
        lastErr = new RemotePolicyError(
          `${endpoint}: HTTP ${res.status}${e?.code ? ` ${e.code}` : ""}: ${e?.message ?? text.slice(0, 200)}`,
          endpoint,
          res.status,
          e?.code ?? null,
        );
        if (RETRY_STATUS.has(res.status)) continue;
        throw lastErr;
      }
      return json as T;
    }
    if (tries > 1) lastErr!.message += ` (after ${tries} attempts)`;
    throw lastErr!;
  }
}

/** A reference snapshot living on the server. */
export class RemoteReference implements Sampler {
  constructor(
    private readonly t: Transport,
    readonly referenceId: string,
    readonly info: PolicyInfo,
    readonly tokenizer: BpeTokenizer,
  ) {}

  async sample(requests: SampleRequest[]): Promise<SampledSequence[][]> {
    const r = await this.t.call<{ sequences: WireSequence[][] }>(
      "reference/sample",
      { reference_id: this.referenceId, requests: requests.map(sampleRequestToWire) },
      "read",
    );
    return r.sequences.map((s) => s.map(sequenceFromWire));
  }

  async computeLogprobs(datums: Datum[], opts: LogprobOptions = {}): Promise<number[][]> {
    const r = await this.t.call<{ logprobs: number[][] }>(
      "reference/compute_logprobs",
      { reference_id: this.referenceId, data: datums.map(datumToWire), ...temperatureToWire(opts) },
      "read",
    );
    return r.logprobs;
  }

  /** Frees the snapshot on the server. */
  async release(): Promise<void> {
    await this.t.call("reference/release", { reference_id: this.referenceId }, "read");
  }
}

export class RemotePolicy implements Policy {
  readonly info: PolicyInfo;
  readonly tokenizer: BpeTokenizer;
  /** Optimizer steps the server reported last (from /info or optim_step). */
  step: number | null;

  constructor(
    private readonly t: Transport,
    readonly serverInfo: ServerInfo,
  ) {
    this.info = {
      backend: `remote:${serverInfo.backend}`,
      modelName: serverInfo.model_name,
      contextLength: serverInfo.context_length,
    };
    if (serverInfo.n_params !== null) this.info.nParams = serverInfo.n_params;
    this.step = serverInfo.step;
    try {
      this.tokenizer = BpeTokenizer.fromJSON(serverInfo.tokenizer);
    } catch (e) {
      throw new RemotePolicyError(
        `${t.base}: the server's tokenizer cannot be loaded: ${(e as Error).message}`,
        `GET ${t.base}${TRAINING_PREFIX}/info`,
        200,
        "bad_tokenizer",
      );
    }
  }

  get baseUrl(): string {
    return this.t.base;
  }

  async sample(requests: SampleRequest[]): Promise<SampledSequence[][]> {
    const r = await this.t.call<{ sequences: WireSequence[][] }>(
      "sample",
      { requests: requests.map(sampleRequestToWire) },
      "read",
    );
    return r.sequences.map((s) => s.map(sequenceFromWire));
  }

  async computeLogprobs(datums: Datum[], opts: LogprobOptions = {}): Promise<number[][]> {
    const r = await this.t.call<{ logprobs: number[][] }>(
      "compute_logprobs",
      { data: datums.map(datumToWire), ...temperatureToWire(opts) },
      "read",
    );
    return r.logprobs;
  }

  async forwardBackward(datums: Datum[], loss: LossSpec): Promise<ForwardBackwardResult> {
    const r = await this.t.call<{
      loss: number;
      loss_fn_outputs: { logprobs: number[] }[];
      metrics: Record<string, number>;
    }>("forward_backward", { data: datums.map(datumToWire), ...lossSpecToWire(loss) }, "mutate");
    return { loss: r.loss, logprobs: r.loss_fn_outputs.map((o) => o.logprobs), metrics: r.metrics };
  }

  async optimStep(adam: AdamParams): Promise<OptimStepResult> {
    const r = await this.t.call<{ grad_norm: number; step: number }>(
      "optim_step",
      { adam_params: adamToWire(adam) },
      "mutate",
    );
    this.step = r.step;
    return { gradNorm: r.grad_norm, step: r.step };
  }

  /**
   * Saves the full training state. With stateLocation "client" (default) `dir` is local: the server's state
   * files come back in the response and are written to a temp sibling, then renamed into place (atomic).
   */
  async saveState(dir: string): Promise<void> {
    if (this.t.opts.stateLocation === "server") {
      await this.t.call("save_state", { path: dir }, "mutate");
      return;
    }
    const r = await this.t.call<{ files: { name: string; data: string }[] }>("save_state", {}, "mutate");
    const final = path.resolve(dir);
    const tmp = `${final}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
    fs.mkdirSync(path.dirname(final), { recursive: true });
    try {
      unpackDir(r.files, tmp);
      fs.rmSync(final, { recursive: true, force: true });
      fs.renameSync(tmp, final);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  async loadState(dir: string): Promise<void> {
    if (this.t.opts.stateLocation === "server") {
      await this.t.call("load_state", { path: dir }, "mutate");
    } else {
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
        throw new UserError(`loadState: ${dir} is not a directory`);
      const files = packDir(dir);
      if (files.length === 0) throw new UserError(`loadState: ${dir} is empty`);
      await this.t.call("load_state", { files }, "mutate");
    }
    const info = await this.t.call<ServerInfo>("info", undefined, "read", "GET");
    this.step = info.step;
  }

  async snapshotReference(): Promise<RemoteReference> {
    const r = await this.t.call<{
      reference_id: string;
      info: { backend: string; model_name: string; n_params: number | null; context_length: number };
    }>("reference/snapshot", {}, "mutate");
    const info: PolicyInfo = {
      backend: `remote:${r.info.backend}`,
      modelName: r.info.model_name,
      contextLength: r.info.context_length,
    };
    if (r.info.n_params !== null) info.nParams = r.info.n_params;
    return new RemoteReference(this.t, r.reference_id, info, this.tokenizer);
  }

  /** Nothing to free locally; the server (and its policy) keeps running. */
  async close(): Promise<void> {}
}

/** Connects to a training server: fetches /info (with retries), loads its tokenizer, returns the policy. */
export async function connectRemotePolicy(url: string, opts: RemotePolicyOptions = {}): Promise<RemotePolicy> {
  const t = new Transport(normalizeBaseUrl(url), opts);
  const info = await t.call<ServerInfo>("info", undefined, "read", "GET");
  if (info.api_version !== 1) {
    throw new RemotePolicyError(
      `${t.base}: training API version ${String(info.api_version)} is not supported (this client speaks version 1)`,
      `GET ${t.base}${TRAINING_PREFIX}/info`,
      200,
      "api_version",
    );
  }
  if (opts.stateLocation === "server" && !info.server_state_paths) {
    throw new RemotePolicyError(
      `${t.base}: stateLocation "server" needs a server started with a state root (--state-dir)`,
      `GET ${t.base}${TRAINING_PREFIX}/info`,
      200,
      "no_state_root",
    );
  }
  t.instanceId = info.instance_id;
  return new RemotePolicy(t, info);
}
