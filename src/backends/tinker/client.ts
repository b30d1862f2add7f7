/**
 * TinkerPolicy: our `Policy` over a Tinker-API training service (Thinking Machines' Tinker, SkyRL tx, or
 * `batcoder serve CKPT --training`), speaking what the Python SDK `tinker` 0.38.0 speaks (./wire.ts,
 * ./protobuf.ts).
 *
 * - connect: get_server_capabilities (models, context length, batcoder extensions) -> create_session ->
 *   create_model(base_model, lora rank) -> a future -> model_id; a heartbeat keeps the session alive.
 * - forwardBackward: protobuf forward_backward; the LossSpec runs on the "exact", "folded" or "custom" path
 *   (./loss.ts), and which one is LOGGED (once per change). computeLogprobs: a forward_only pass.
 * - optimStep: optim_step with Adam params (grad_clip_norm = our maxGradNorm).
 * - sample: through a sampling session on weights saved with save_weights_for_sampler (re-saved after every
 *   weight change); text is decoded locally (cut at stop strings, stop token dropped, as the embedded sampler).
 * - snapshotReference: a sampling session on frozen weights; its computeLogprobs uses prompt_logprobs.
 * - saveState(dir) / loadState(dir): save_weights / load_weights (with optimizer) on a `tinker://` path; the local
 *   dir holds `tinker-state.json` naming it (the weights stay on the service).
 * - Every call returns a future polled with retrieve_future (the server long-polls; `try_again` repeats with
 *   back-off) until `futureTimeoutMs`. Transport: API key in `X-API-Key`; network errors, 408, 429 and 5xx are
 *   retried with exponential back-off. Retried training POSTs are safe: each carries its `seq_id`, and the
 *   service answers a repeated seq_id with the first request's future. A restarted service answers 404 for
 *   the old model / futures: that fails with a clear error, and the run resumes from its last checkpoint.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../core/errors.js";
import { writeFileAtomic } from "../../core/jsonl.js";
import { computeLoss } from "../../core/losses.js";
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
  TokenizerLike,
} from "../../core/policy.js";
import { BpeTokenizer } from "../../engine/tokenizer.js";
import { lossPath, lossToTinker, type LossPath } from "./loss.js";
import {
  decodeForwardBackwardOutput,
  decodeSampleResponse,
  encodeForwardBackwardRequest,
  type PbDatum,
  type PbTensor,
} from "./protobuf.js";
import {
  CreateModelResponse,
  CreateSamplingSessionResponse,
  CreateSessionResponse,
  Endpoints,
  GetServerCapabilitiesResponse,
  OptimStepResponse,
  PathResponse,
  PROTOBUF,
  RequestFailedResponse,
  TINKER_SDK_VERSION,
  TryAgainResponse,
  UntypedFuture,
  splitMetricKey,
} from "./wire.js";
import { z } from "zod";

export interface TinkerPolicyOptions {
  /** API key (sent as X-API-Key); default $TINKER_API_KEY. */
  apiKey?: string;
  /** The base model to train (default: the service's first trainable model). */
  baseModel?: string;
  /** LoRA rank for create_model (default 32); 0 = full fine-tuning (batcoder's server; stock Tinker needs ≥ 1). */
  loraRank?: number;
  /**
   * Which modules the LoRA adapter covers (Tinker's lora_config flags; each default true, as in the SDK): q/k/v/o,
   * gate/up/down, and the unembedding (LM head).
   */
  trainAttn?: boolean;
  trainMlp?: boolean;
  trainUnembed?: boolean;
  /** Required for services without batcoder's tokenizer endpoint (e.g. a Hugging Face tokenizer). */
  tokenizer?: TokenizerLike;
  /** Use batcoder's exact-loss extension when the server offers it (default true); false forces the stock paths. */
  useExtensions?: boolean;
  /** Per HTTP request (default 60 s). */
  requestTimeoutMs?: number;
  /** Per future, from submission to result (default 30 min). */
  futureTimeoutMs?: number;
  /** Attempts per HTTP request on network errors / 408 / 429 / 5xx (default 6). */
  retries?: number;
  /** First back-off (default 250 ms, doubling, at most 10 s). */
  backoffMs?: number;
  /** Session heartbeat period (default 10 s; 0 disables). */
  heartbeatMs?: number;
  log?: (line: string) => void;
  /** Sees every request body before it is sent (JSON value, or the protobuf bytes), e.g. for conformance tests. */
  trace?: (method: string, endpoint: string, body: unknown) => void;
}

export class TinkerError extends UserError {
  constructor(
    message: string,
    readonly endpoint: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "TinkerError";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** HTTP with auth, timeouts and retries; futures polled to their result. */
export class TinkerTransport {
  readonly base: string;
  private readonly apiKey: string | undefined;
  /** Requests sent per endpoint, retries included (for tests and logs). */
  readonly counts: Record<string, number> = {};

  constructor(
    url: string,
    private readonly o: TinkerPolicyOptions,
  ) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new UserError(`invalid Tinker service URL '${url}' (expected http(s)://host:port)`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new UserError(`invalid Tinker service URL '${url}': only http and https are supported`);
    this.base = u.origin + u.pathname.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
    this.apiKey = o.apiKey ?? process.env.TINKER_API_KEY;
  }

  private log(line: string): void {
    (this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  /** One request with retries; resolves to the raw response (status 2xx) or throws a TinkerError. */
  async request(
    method: "GET" | "POST",
    endpoint: string,
    body?: unknown,
    opts: { protobuf?: Uint8Array; accept?: string; retries?: number } = {},
  ): Promise<Response> {
    const attempts = opts.retries ?? this.o.retries ?? 6;
    let delay = this.o.backoffMs ?? 250;
    let last = "";
    this.o.trace?.(method, endpoint, opts.protobuf ?? body);
    for (let a = 1; ; a++) {
      this.counts[endpoint] = (this.counts[endpoint] ?? 0) + 1;
      const headers: Record<string, string> = { "X-Tinker-Sdk": `batcoder (tinker ${TINKER_SDK_VERSION} wire)` };
      if (this.apiKey) headers["X-API-Key"] = this.apiKey;
      if (opts.accept) headers.accept = opts.accept;
      let payload: string | Blob | undefined;
      if (opts.protobuf) {
        headers["content-type"] = PROTOBUF;
        payload = new Blob([new Uint8Array(opts.protobuf)]);
      } else if (body !== undefined) {
        headers["content-type"] = "application/json";
        payload = JSON.stringify(body);
      }
      let status = 0;
      try {
        const res = await fetch(this.base + endpoint, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 60_000),
        });
        status = res.status;
        if (res.ok) return res;
        const text = await res.text();
        let detail = text;
        try {
          const j = JSON.parse(text) as { detail?: unknown; error?: unknown };
          detail =
            typeof j.detail === "string"
              ? j.detail
              : typeof j.error === "string"
                ? j.error
                : JSON.stringify(j.error ?? j);
        } catch {
          detail = text.slice(0, 300);
        }
        last = `HTTP ${status}: ${detail}`;
        if (!RETRY_STATUS.has(status))
          throw new TinkerError(`${method} ${this.base}${endpoint} failed: ${last}`, endpoint, status);
      } catch (e) {
        if (e instanceof TinkerError) throw e;
        last = `${(e as Error).name === "TimeoutError" ? `no response within ${this.o.requestTimeoutMs ?? 60_000} ms` : (e as Error).message}${(e as { cause?: { code?: string } }).cause?.code ? ` (${(e as { cause: { code: string } }).cause.code})` : ""}`;
      }
      if (a >= attempts)
        throw new TinkerError(
          `${method} ${this.base}${endpoint} failed after ${a} attempts: ${last}`,
          endpoint,
          status,
        );
      this.log(`tinker: ${method} ${endpoint}: ${last}; retry ${a}/${attempts - 1} in ${delay} ms`);
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }

  async json<S extends z.ZodTypeAny>(
    method: "GET" | "POST",
    endpoint: string,
    body: unknown,
    schema: S,
  ): Promise<z.infer<S>> {
    const res = await this.request(method, endpoint, body);
    return this.parse(await res.json(), schema, endpoint);
  }

  parse<S extends z.ZodTypeAny>(v: unknown, schema: S, endpoint: string): z.infer<S> {
    const r = schema.safeParse(v);
    if (!r.success)
      throw new TinkerError(
        `${this.base}${endpoint}: unexpected response: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        endpoint,
        200,
      );
    return r.data as z.infer<S>;
  }

  /** Polls a future until it resolves: JSON (parsed by `schema`) or protobuf bytes when `proto`. */
  async result(future: { request_id: string }, what: string, proto: true): Promise<Uint8Array>;
  async result<S extends z.ZodTypeAny>(
    future: { request_id: string },
    what: string,
    proto: false,
    schema: S,
  ): Promise<z.infer<S>>;
  async result(future: { request_id: string }, what: string, proto: boolean, schema?: z.ZodTypeAny): Promise<unknown> {
    const limit = this.o.futureTimeoutMs ?? 30 * 60_000;
    const t0 = Date.now();
    let delay = 50;
    for (;;) {
      if (Date.now() - t0 > limit) {
        throw new TinkerError(
          `${what}: future ${future.request_id} did not resolve within ${Math.round(limit / 1000)} s (the service is stuck or overloaded; the run can resume from its last checkpoint)`,
          Endpoints.retrieveFuture,
          0,
        );
      }
      const res = await this.request(
        "POST",
        Endpoints.retrieveFuture,
        { request_id: future.request_id, allow_metadata_only: false },
        { accept: proto ? `${PROTOBUF}, application/json` : "application/json" },
      );
      if ((res.headers.get("content-type") ?? "").includes(PROTOBUF)) {
        if (!proto)
          throw new TinkerError(`${what}: protobuf result where JSON was expected`, Endpoints.retrieveFuture, 200);
        return new Uint8Array(await res.arrayBuffer());
      }
      const body = (await res.json()) as Record<string, unknown>;
      if (body.type === "try_again") {
        this.parse(body, TryAgainResponse, Endpoints.retrieveFuture);
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
        continue;
      }
      if ("error" in body) {
        const f = this.parse(body, RequestFailedResponse, Endpoints.retrieveFuture);
        throw new TinkerError(
          `${what} failed on the service (${f.category} error): ${f.error}`,
          Endpoints.retrieveFuture,
          200,
        );
      }
      if (proto)
        throw new TinkerError(
          `${what}: the service sent JSON where this client needs protobuf (Accept: ${PROTOBUF}); it predates tinker 0.3x's wire format`,
          Endpoints.retrieveFuture,
          200,
        );
      return this.parse(body, schema!, Endpoints.retrieveFuture);
    }
  }
}

// ------------------------------------------------------------------------------------------------ datums

const f32 = (data: number[]): PbTensor => ({ dtype: "float32", shape: [data.length], data });

function datumToPb(d: Datum, inputs: readonly ("weights" | "advantages" | "logprobs" | "ref_logprobs")[]): PbDatum {
  const li = d.lossInputs;
  const t: Record<string, PbTensor> = {
    target_tokens: { dtype: "int64", shape: [li.targetTokens.length], data: li.targetTokens },
  };
  for (const k of inputs) {
    const v =
      k === "weights"
        ? li.weights
        : k === "advantages"
          ? li.advantages
          : k === "logprobs"
            ? li.samplingLogprobs
            : li.refLogprobs;
    if (v) t[k] = f32(v);
  }
  return { chunks: [d.modelInput], lossFnInputs: t };
}

function stripMetrics(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) out[splitMetricKey(k)[0]] = v;
  return out;
}

// ------------------------------------------------------------------------------------------------ sampling

/** A sampling session on frozen weights (our Sampler + prompt-logprob computeLogprobs). */
export class TinkerSampler implements Sampler {
  private seq = 0;
  constructor(
    private readonly t: TinkerTransport,
    readonly samplingSessionId: string,
    readonly modelPath: string | undefined,
    readonly info: PolicyInfo,
    readonly tokenizer: TokenizerLike,
    /** The service takes batcoder's extensions (prompt_logprobs at a temperature). */
    readonly exact = false,
  ) {}

  private async call(
    prompt: number[],
    n: number,
    params: Record<string, unknown>,
    promptLogprobs: boolean,
    logprobTemperature = 1,
  ): Promise<ReturnType<typeof decodeSampleResponse>> {
    const body = {
      sampling_session_id: this.samplingSessionId,
      seq_id: ++this.seq,
      num_samples: n,
      prompt: { chunks: [{ tokens: prompt, type: "encoded_text" }] },
      sampling_params: params,
      ...(promptLogprobs ? { prompt_logprobs: true } : {}),
      ...(logprobTemperature !== 1 ? { batcoder_logprob_temperature: logprobTemperature } : {}),
      topk_prompt_logprobs: 0,
      topk_sample_logprobs: 0,
      prompt_alt_tokens_k: 0,
      type: "sample",
    };
    const fut = this.t.parse(
      await (await this.t.request("POST", Endpoints.asample, body)).json(),
      UntypedFuture,
      Endpoints.asample,
    );
    return decodeSampleResponse(await this.t.result(fut, "sample", true));
  }

  async sample(requests: SampleRequest[]): Promise<SampledSequence[][]> {
    return Promise.all(
      requests.map(async (r) => {
        const p = r.params;
        if (p.stop?.length && p.stopTokenIds?.length) {
          throw new UserError("Tinker sampling takes stop strings OR stop token ids, not both in one request");
        }
        const stop = p.stop?.length ? p.stop : [this.tokenizer.eosId, ...(p.stopTokenIds ?? [])];
        const params = {
          max_tokens: p.maxTokens,
          temperature: p.temperature,
          ...(p.topP !== undefined ? { top_p: p.topP } : {}),
          top_k: p.topK ?? -1,
          stop,
          ...(p.seed !== undefined ? { seed: p.seed } : {}),
        };
        const resp = await this.call(r.prompt, r.n, params, false);
        const stopIds = new Set([this.tokenizer.eosId, ...(p.stopTokenIds ?? [])]);
        return resp.sequences.map((s): SampledSequence => {
          const toks =
            s.stopReason === "stop" && s.tokens.length && stopIds.has(s.tokens[s.tokens.length - 1]!)
              ? s.tokens.slice(0, -1)
              : s.tokens;
          let text = this.tokenizer.decode(toks);
          let cut = -1;
          for (const st of p.stop ?? []) {
            const at = text.indexOf(st);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
          }
          if (cut >= 0) text = text.slice(0, cut);
          return { tokens: s.tokens, logprobs: s.logprobs ?? [], text, finishReason: s.stopReason };
        });
      }),
    );
  }

  /** log p(targets) via prompt_logprobs over modelInput + the last target (targets must be the shifted input). */
  async computeLogprobs(datums: Datum[], opts?: LogprobOptions): Promise<number[][]> {
    const temp = opts?.temperature ?? 1;
    if (temp !== 1 && !this.exact) throw temperatureError(temp);
    // all at once: the service scores requests that arrive together in one batch
    return Promise.all(
      datums.map(async (d, i) => {
        const x = d.modelInput,
          y = d.lossInputs.targetTokens;
        for (let t = 0; t + 1 < x.length; t++) {
          if (y[t] !== x[t + 1])
            throw new UserError(
              `computeLogprobs on a Tinker sampler: datum ${i}'s targets are not its input shifted by one (prompt_logprobs can only score the sequence itself)`,
            );
        }
        if (!x.length) return [];
        const resp = await this.call(
          [...x, y[y.length - 1]!],
          1,
          { max_tokens: 1, temperature: 1, top_k: -1 },
          true,
          temp,
        );
        if (!resp.promptLogprobs || resp.promptLogprobs.length !== x.length + 1)
          throw new TinkerError(
            `sample: expected ${x.length + 1} prompt_logprobs, got ${resp.promptLogprobs?.length ?? "none"}`,
            Endpoints.asample,
            200,
          );
        return resp.promptLogprobs.slice(1);
      }),
    );
  }
}

function temperatureError(t: number): UserError {
  return new UserError(
    `log-probs at temperature ${t}: Tinker's API computes them at temperature 1 only. Set temperature=1 for a stock ` +
      "Tinker service, or train on a batcoder server (batcoder serve --training), which takes it.",
  );
}

// ------------------------------------------------------------------------------------------------ policy

export interface TinkerStateManifest {
  format: "batcoder-tinker-state";
  path: string;
  model_id: string;
  base_model: string;
  step: number;
  service: string;
}

export class TinkerPolicy implements Policy {
  readonly info: PolicyInfo;
  private seq = 0;
  private stepCount = 0;
  private sampler: TinkerSampler | null = null;
  private dirty = true;
  private names = 0;
  private lastPath: LossPath | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Which loss path each forwardBackward took (counts), for logs and tests. */
  readonly lossPaths: Record<LossPath, number> = { exact: 0, folded: 0, custom: 0 };

  constructor(
    readonly t: TinkerTransport,
    readonly sessionId: string,
    readonly modelId: string,
    readonly baseModel: string,
    readonly tokenizer: TokenizerLike,
    readonly exact: boolean,
    contextLength: number,
    modelName: string,
    private readonly o: TinkerPolicyOptions,
  ) {
    this.info = { backend: "tinker", modelName, contextLength };
    const hb = o.heartbeatMs ?? 10_000;
    if (hb > 0) {
      this.heartbeat = setInterval(() => {
        this.t
          .request("POST", Endpoints.heartbeat, { session_id: sessionId, type: "session_heartbeat" }, { retries: 1 })
          .catch((e: unknown) => this.log(`tinker: heartbeat failed: ${(e as Error).message}`));
      }, hb);
      this.heartbeat.unref();
    }
  }

  get step(): number {
    return this.stepCount;
  }

  private log(line: string): void {
    (this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  private async forward(
    datums: Datum[],
    lossFn: string,
    config: Record<string, number | string>,
    inputs: Parameters<typeof datumToPb>[1],
    forwardOnly: boolean,
  ): Promise<ForwardBackwardResult> {
    const bytes = encodeForwardBackwardRequest({
      modelId: this.modelId,
      seqId: ++this.seq,
      data: datums.map((d) => datumToPb(d, inputs)),
      lossFn,
      lossFnConfig: config,
      forwardOnly,
    });
    const res = await this.t.request("POST", Endpoints.forwardBackward, undefined, { protobuf: bytes });
    const fut = this.t.parse(await res.json(), UntypedFuture, Endpoints.forwardBackward);
    const out = decodeForwardBackwardOutput(
      await this.t.result(fut, forwardOnly ? "forward" : "forward_backward", true),
    );
    if (out.lossFnOutputs.length !== datums.length)
      throw new TinkerError(
        `forward_backward: ${out.lossFnOutputs.length} outputs for ${datums.length} datums`,
        Endpoints.forwardBackward,
        200,
      );
    const logprobs = out.lossFnOutputs.map((o, i) => {
      const lp = o.logprobs?.data;
      if (!lp || lp.length !== datums[i]!.lossInputs.targetTokens.length)
        throw new TinkerError(
          `forward_backward: datum ${i} has no logprobs of the right length`,
          Endpoints.forwardBackward,
          200,
        );
      return lp;
    });
    const metrics = stripMetrics(out.metrics);
    const loss = metrics.loss ?? NaN;
    delete metrics.loss;
    return { loss, logprobs, metrics };
  }

  async computeLogprobs(datums: Datum[], opts?: LogprobOptions): Promise<number[][]> {
    const temp = opts?.temperature ?? 1;
    if (temp !== 1 && !this.exact) throw temperatureError(temp);
    const zero = datums.map((d) => ({
      modelInput: d.modelInput,
      lossInputs: { targetTokens: d.lossInputs.targetTokens, weights: d.lossInputs.targetTokens.map(() => 0) },
    }));
    return (
      await this.forward(zero, "cross_entropy", temp !== 1 ? { batcoder_temperature: temp } : {}, ["weights"], true)
    ).logprobs;
  }

  async forwardBackward(datums: Datum[], spec: LossSpec): Promise<ForwardBackwardResult> {
    const p = lossPath(spec, this.exact);
    if (p !== this.lastPath) {
      const why = {
        exact: "the service runs batcoder's loss exactly (batcoder extension)",
        folded: "aggregation folded into the per-token advantages/weights of Tinker's built-in sum loss",
        custom:
          "the KL-in-loss term is not a Tinker loss: forward_backward_custom-style, a forward pass for log-probs, our loss here, then cross_entropy with weights = -dLoss/dlogp (2 passes)",
      }[p];
      this.log(`tinker: loss '${spec.kind}' on the ${p} path: ${why}`);
      this.lastPath = p;
    }
    this.lossPaths[p]++;
    this.dirty = true;
    if (p === "custom") {
      const cur = await this.forward(datums, "cross_entropy", {}, ["weights"], true);
      const l = computeLoss(spec, { datums, logprobs: cur.logprobs });
      const surrogate = datums.map((d, i) => ({
        modelInput: d.modelInput,
        lossInputs: { targetTokens: d.lossInputs.targetTokens, weights: l.dLogprobs[i]!.map((g) => -g) },
      }));
      const r = await this.forward(surrogate, "cross_entropy", {}, ["weights"], false);
      return { loss: l.loss, logprobs: r.logprobs, metrics: l.metrics };
    }
    const call = lossToTinker(spec, datums, p);
    const inputs: Parameters<typeof datumToPb>[1] =
      p === "exact"
        ? ["weights", "advantages", "logprobs", "ref_logprobs"]
        : spec.kind === "cross_entropy"
          ? ["weights"]
          : ["advantages", "logprobs"];
    return this.forward(call.datums, call.lossFn, call.config, inputs, false);
  }

  async optimStep(a: AdamParams): Promise<OptimStepResult> {
    const body = {
      adam_params: {
        learning_rate: a.learningRate,
        beta1: a.beta1,
        beta2: a.beta2,
        eps: a.eps,
        weight_decay: a.weightDecay,
        grad_clip_norm: a.maxGradNorm,
      },
      model_id: this.modelId,
      seq_id: ++this.seq,
      type: "optim_step",
    };
    const fut = await this.t.json("POST", Endpoints.optimStep, body, UntypedFuture);
    const r = await this.t.result(fut, "optim_step", false, OptimStepResponse);
    this.dirty = true;
    const m = r.metrics ?? {};
    this.stepCount = typeof m["step:max"] === "number" ? m["step:max"] : this.stepCount + 1;
    return { gradNorm: m["grad_norm:mean"] ?? NaN, step: this.stepCount };
  }

  private async samplerAt(name: string): Promise<TinkerSampler> {
    const fut = await this.t.json(
      "POST",
      Endpoints.saveWeightsForSampler,
      { model_id: this.modelId, path: name, seq_id: ++this.seq, kind: "snapshot", type: "save_weights_for_sampler" },
      UntypedFuture,
    );
    const saved = await this.t.result(fut, "save_weights_for_sampler", false, PathResponse.passthrough());
    const s = await this.t.json(
      "POST",
      Endpoints.createSamplingSession,
      {
        session_id: this.sessionId,
        sampling_session_seq_id: ++this.names,
        model_path: saved.path,
        type: "create_sampling_session",
      },
      CreateSamplingSessionResponse,
    );
    return new TinkerSampler(
      this.t,
      s.sampling_session_id,
      saved.path,
      { ...this.info, modelName: `${this.info.modelName}@${name}` },
      this.tokenizer,
      this.exact,
    );
  }

  private uniqueName(prefix: string): string {
    return `${prefix}-${this.modelId.replace(/[^A-Za-z0-9]/g, "").slice(-8)}-${Date.now().toString(36)}-${++this.names}`;
  }

  async sample(requests: SampleRequest[]): Promise<SampledSequence[][]> {
    if (this.dirty || !this.sampler) {
      this.sampler = await this.samplerAt(this.uniqueName("sampler"));
      this.dirty = false;
    }
    return this.sampler.sample(requests);
  }

  async snapshotReference(): Promise<TinkerSampler> {
    return this.samplerAt(this.uniqueName("ref"));
  }

  async saveState(dir: string): Promise<void> {
    const name = this.uniqueName("state");
    const fut = await this.t.json(
      "POST",
      Endpoints.saveWeights,
      { model_id: this.modelId, path: name, seq_id: ++this.seq, overwrite: false, type: "save_weights" },
      UntypedFuture,
    );
    const r = await this.t.result(fut, "save_weights", false, PathResponse);
    fs.mkdirSync(dir, { recursive: true });
    const m: TinkerStateManifest = {
      format: "batcoder-tinker-state",
      path: r.path,
      model_id: this.modelId,
      base_model: this.baseModel,
      step: this.stepCount,
      service: this.t.base,
    };
    writeFileAtomic(path.join(dir, "tinker-state.json"), JSON.stringify(m, null, 1) + "\n");
  }

  async loadState(dir: string): Promise<void> {
    const file = path.join(dir, "tinker-state.json");
    if (!fs.existsSync(file))
      throw new UserError(
        `${dir} is not a Tinker training state (no tinker-state.json; it was not saved through a Tinker service)`,
      );
    const m = JSON.parse(fs.readFileSync(file, "utf8")) as TinkerStateManifest;
    if (m.format !== "batcoder-tinker-state" || typeof m.path !== "string")
      throw new UserError(`${file}: not a batcoder Tinker state manifest`);
    if (m.base_model !== this.baseModel)
      throw new UserError(`${file}: saved from base model '${m.base_model}', this policy trains '${this.baseModel}'`);
    const fut = await this.t.json(
      "POST",
      Endpoints.loadWeights,
      { model_id: this.modelId, path: m.path, seq_id: ++this.seq, optimizer: true, type: "load_weights" },
      UntypedFuture,
    );
    await this.t.result(fut, "load_weights", false, PathResponse.partial().passthrough());
    this.stepCount = m.step;
    this.dirty = true;
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/** Connects: capabilities -> session -> model; the tokenizer from the options or batcoder's endpoint. */
export async function connectTinkerPolicy(url: string, o: TinkerPolicyOptions = {}): Promise<TinkerPolicy> {
  const t = new TinkerTransport(url, o);
  const caps = await t.json("GET", Endpoints.capabilities, undefined, GetServerCapabilitiesResponse.passthrough());
  const trainable = caps.supported_models.filter((m) => m.trainable !== false && m.model_name);
  const baseModel = o.baseModel ?? trainable[0]?.model_name;
  if (!baseModel) throw new UserError(`${t.base}: the service lists no trainable model`);
  const known = caps.supported_models.find((m) => m.model_name === baseModel);
  if (!known)
    throw new UserError(
      `${t.base}: base model '${baseModel}' is not offered (offered: ${caps.supported_models.map((m) => m.model_name).join(", ") || "none"})`,
    );
  const ext = caps.batcoder;
  let tokenizer = o.tokenizer;
  if (!tokenizer) {
    if (!ext)
      throw new UserError(
        `${t.base} is not a batcoder server: pass a tokenizer for '${baseModel}' (e.g. its Hugging Face tokenizer.json)`,
      );
    const json = await t.json("GET", ext.tokenizer_endpoint, undefined, z.record(z.string(), z.unknown()));
    tokenizer = BpeTokenizer.fromJSON(json);
  }
  const session = await t.json(
    "POST",
    Endpoints.createSession,
    { tags: ["batcoder"], user_metadata: {}, sdk_version: TINKER_SDK_VERSION, type: "create_session" },
    CreateSessionResponse,
  );
  const fut = await t.json(
    "POST",
    Endpoints.createModel,
    {
      session_id: session.session_id,
      model_seq_id: 0,
      base_model: baseModel,
      lora_config: {
        rank: o.loraRank ?? 32,
        train_unembed: o.trainUnembed ?? true,
        train_mlp: o.trainMlp ?? true,
        train_attn: o.trainAttn ?? true,
      },
      optimizer_config: { type: "adamw" },
      type: "create_model",
    },
    UntypedFuture,
  );
  const model = await t.result(fut, "create_model", false, CreateModelResponse);
  const exact = (o.useExtensions ?? true) && !!ext;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  log(
    `tinker: ${t.base}: model ${model.model_id} (${baseModel}, LoRA rank ${o.loraRank ?? 32})${exact ? ", batcoder extensions on" : ext ? ", batcoder extensions off (stock Tinker paths)" : ""}`,
  );
  return new TinkerPolicy(
    t,
    session.session_id,
    model.model_id,
    baseModel,
    tokenizer,
    exact,
    known.max_context_length ?? 2048,
    ext?.model_name ?? baseModel,
    o,
  );
}

/** Whether `url` answers Tinker's get_server_capabilities (one quick request, no retries). */
export async function isTinkerService(url: string, apiKey?: string): Promise<boolean> {
  try {
    const t = new TinkerTransport(url, { apiKey, retries: 1, requestTimeoutMs: 10_000 });
    const res = await t.request("GET", Endpoints.capabilities);
    return GetServerCapabilitiesResponse.passthrough().safeParse(await res.json()).success;
  } catch {
    return false; // not a Tinker service (or not reachable): the caller tries batcoder's own protocol, which reports
  }
}
