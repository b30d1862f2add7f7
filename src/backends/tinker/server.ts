/**
 * A Tinker-protocol training server over ANY `Policy` (today the embedded engine): `batcoder serve CKPT
 * --training`. It speaks what the Python SDK `tinker` 0.38.0 sends (see ./wire.ts, ./protobuf.ts), so both our
 * TinkerPolicy and the stock SDK train against it.
 *
 * - Sessions and ONE trainable model per server (the policy is one training state); `create_model` checks the
 *   base model id. A LoRA rank r > 0 attaches a fresh adapter to the policy (`LoraTrainable.attachLora`, the
 *   embedded engine's src/engine/lora.ts): rank r, alpha 32 (our choice; Tinker does not expose alpha), seed
 *   `lora_config.seed` (default 0), on q/k/v/o (`train_attn`), gate/up/down (`train_mlp`) and the unembedding
 *   lm_head (`train_unembed`), the base frozen; only the adapter trains, and a LoRA model's `tinker://…/weights/…`
 *   states hold only the adapter (PEFT layout), its optimizer and RNGs and a reference to the base (id/path and
 *   weights hash; another base is refused at load). Rank 0 (or no lora_config) is full fine-tuning, as
 *   Tinker-compatible services that train all weights take it.
 * - Training ops (forward_backward [protobuf], optim_step, save_weights, save_weights_for_sampler, load_weights)
 *   and samples return futures; `retrieve_future` long-polls (up to `longPollMs`) and answers `try_again` while a
 *   request runs, the result (JSON, or protobuf for ForwardBackwardOutput / SampleResponse when the client
 *   accepts it), or `{error, category}` when it failed.
 * - Every request that touches state runs through ONE queue in arrival order (gradients accumulate between
 *   forward_backward and optim_step). Sample requests for one sampler that arrive together (within
 *   `sampleBatchMs`, or while the queue is busy) are sampled in one engine call, as the OpenAI server batches,
 *   and their prompt_logprobs scored in one more.
 * - Idempotent retries: a training request repeats its `seq_id` (per model), a sample its `seq_id` (per sampling
 *   session); a repeated one gets the first one's future instead of running twice (gradients added twice would
 *   silently change training). Model ids and request ids are unique to this server instance: after a restart
 *   they answer 404 (the state is gone), never run on a fresh policy.
 * - `tinker://<model_id>/weights/<name>` is a training state (full fine-tuning: weights, optimizer, RNG) on disk under
 *   `stateRoot/<model_id>/weights/<name>`, loadable after a restart; `sampler_weights/<name>` are frozen
 *   snapshots kept in memory (the last `maxSamplers`).
 * - Auth: `X-API-Key` (the SDK's header) when `apiKey` is set. Errors outside futures: `{detail: message}`.
 * - batcoder extensions, advertised in get_server_capabilities under `batcoder`: the exact LossSpec through
 *   `batcoder_*` loss_fn_config keys and `ref_logprobs`, and the tokenizer as HF JSON at /api/v1/batcoder/tokenizer.
 */
import type http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { computeLoss } from "../../core/losses.js";
import { UserError } from "../../core/errors.js";
import { close as closeServer, createServer, listen as listenOn, sendJson } from "../http.js";
import type { Datum, LossSpec, Policy, SampledSequence, SampleRequest, ScoringSampler } from "../../core/policy.js";
import type { LoraConfigInput, LoraTarget } from "../../engine/lora.js";
import { lossFromTinker, BATCODER_CONFIG_KEYS, BATCODER_INPUTS } from "./loss.js";
import {
  decodeForwardBackwardRequest,
  encodeForwardBackwardOutput,
  encodeSampleResponse,
  tensorValues,
  type PbForwardBackwardRequest,
  type PbSampleResponse,
} from "./protobuf.js";
import {
  API,
  Endpoints,
  PROTOBUF,
  RequestSchemas,
  formatTinkerPath,
  isValidName,
  parseTinkerPath,
  type ErrorCategory,
  type SampleRequestWire,
} from "./wire.js";

export type Reference = ScoringSampler;

/** A policy that can train a LoRA adapter on a frozen base (EmbeddedPolicy). */
export interface LoraTrainable {
  attachLora(config: LoraConfigInput, seed?: number): { nParams(): number };
  /** An adapter-only training state (adapter, optimizer, RNGs, a reference to the base), not the base weights. */
  saveAdapterState?(dir: string, base: { model: string }): Promise<void>;
  /** The adapter the policy already carries (a LoRA run's checkpoint), or null. */
  readonly loraConfig: { rank: number; alpha: number; targetModules: readonly string[] } | null;
}

/**
 * The modules a Tinker `lora_config` adapts: q/k/v/o (`train_attn`), gate/up/down (`train_mlp`) and the unembedding
 * `lm_head` (`train_unembed`); each defaults to true, as in the SDK's LoraConfig.
 */
export function tinkerLoraTargets(lc: {
  train_attn?: boolean;
  train_mlp?: boolean;
  train_unembed?: boolean;
}): LoraTarget[] {
  return [
    ...(lc.train_attn !== false ? (["q_proj", "k_proj", "v_proj", "o_proj"] as const) : []),
    ...(lc.train_mlp !== false ? (["gate_proj", "up_proj", "down_proj"] as const) : []),
    ...(lc.train_unembed !== false ? (["lm_head"] as const) : []),
  ];
}

/** The adapter's alpha for every rank (Tinker's API has no alpha field). */
export const TINKER_LORA_ALPHA = 32;

export interface TinkerServerOptions {
  policy: Policy;
  /** The base model id clients name in create_model (default: the policy's model name). */
  baseModel?: string;
  /**
   * The base's model reference (a path or hub id) recorded in a LoRA model's adapter-only states, so the state can
   * be served again after a restart (`serve STATE --training` loads that base); default `baseModel`.
   */
  baseRef?: string;
  /** Required `X-API-Key` (unset: no authentication). */
  apiKey?: string;
  /** Where `tinker://…/weights/…` states are written (created if missing). */
  stateRoot: string;
  /** How long retrieve_future waits for a result before answering try_again (default 5 s). */
  longPollMs?: number;
  /** Largest accepted request body (default 256 MiB). */
  maxBodyBytes?: number;
  /** Sampler snapshots kept in memory (oldest dropped first; default 8). */
  maxSamplers?: number;
  /** How long the first sample request waits for others to join its engine call (default 2 ms). */
  sampleBatchMs?: number;
  /** Finished futures kept for retrieval (default 256). */
  maxFutures?: number;
  /** The tokenizer's HF JSON when the policy's tokenizer cannot export it. */
  tokenizerJSON?: Record<string, unknown>;
  /** Handles requests outside /api/v1 (e.g. batcoder's own training protocol on the same port); default 404. */
  fallback?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  log?: (line: string) => void;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
/** A request the client got wrong (the future fails with category "user"). */
class UserFault extends Error {}

type Outcome =
  | { kind: "json"; body: unknown }
  | { kind: "proto"; bytes: Uint8Array; json: unknown }
  | { kind: "error"; message: string; category: ErrorCategory };

interface FutureEntry {
  type: string;
  done: Promise<void>;
  outcome?: Outcome;
}

interface SampleBatch {
  items: { req: SampleRequest; promptLogprobs: boolean; temperature: number }[];
  run: Promise<{ seqs: SampledSequence[]; promptLp: number[] | null }[]>;
}

interface ModelState {
  id: string;
  baseModel: string;
  loraRank?: number;
  /** seq_id -> request_id, for idempotent retries. */
  seqs: Map<number, { requestId: string; op: string }>;
}

export class TinkerServer {
  readonly server: http.Server;
  /** Unique to this process: model ids and request ids carry it, so a restarted server never honours old ones. */
  readonly instance = crypto.randomBytes(4).toString("hex");
  readonly baseModel: string;
  /** Requests handled per endpoint (for tests and logs). */
  readonly counts: Record<string, number> = {};
  private chain: Promise<unknown> = Promise.resolve();
  private readonly sessions = new Set<string>();
  private model: ModelState | null = null;
  private modelCounter = 0;
  private futureCounter = 0;
  private readonly futures = new Map<string, FutureEntry>();
  private readonly samplers = new Map<string, Reference>();
  private readonly samplingSessions = new Map<
    string,
    { sampler: Reference; path?: string; seqs: Map<number, string> }
  >();
  private baseSampler: Reference | null = null;
  private readonly sampleBatches = new Map<Reference, SampleBatch>();
  private readonly tokenizerJSON: Record<string, unknown> | undefined;

  constructor(private readonly opts: TinkerServerOptions) {
    this.baseModel = opts.baseModel ?? opts.policy.info.modelName;
    const tok = opts.policy.tokenizer as { toHuggingFaceJSON?: () => Record<string, unknown> };
    this.tokenizerJSON = opts.tokenizerJSON ?? tok.toHuggingFaceJSON?.();
    fs.mkdirSync(opts.stateRoot, { recursive: true });
    this.server = createServer(
      (req, res) => this.handle(req, res),
      (res, e) => this.sendError(res, e),
    );
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Freezes the base weights (for base_model sampling sessions) and listens; resolves to the base URL. */
  async listen(port = 8001, host = "127.0.0.1"): Promise<string> {
    this.baseSampler ??= await this.opts.policy.snapshotReference();
    return listenOn(this.server, port, host);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  // ---------------------------------------------------------------------------------------------- plumbing

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    sendJson(res, status, JSON.stringify(body));
  }
  private sendBytes(res: http.ServerResponse, bytes: Uint8Array): void {
    res.writeHead(200, { "content-type": PROTOBUF, "content-length": bytes.length });
    res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }
  private sendError(res: http.ServerResponse, e: unknown): void {
    const status = e instanceof HttpError ? e.status : 500;
    const message = e instanceof Error ? e.message : String(e);
    if (status >= 500) this.log(`tinker server: ${message}`);
    if (res.headersSent) return void res.end();
    this.send(res, status, { detail: message });
  }

  private readBody(req: http.IncomingMessage): Promise<Buffer> {
    const max = this.opts.maxBodyBytes ?? 256 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let n = 0;
      req.on("data", (c: Buffer) => {
        n += c.length;
        if (n > max) {
          reject(new HttpError(413, `request body over ${max} bytes`));
          req.destroy();
          return;
        }
        parts.push(c);
      });
      req.on("end", () => resolve(Buffer.concat(parts)));
      req.on("error", reject);
    });
  }

  private async readJson<S extends z.ZodTypeAny>(
    req: http.IncomingMessage,
    schema: S,
    what: string,
  ): Promise<z.infer<S>> {
    const buf = await this.readBody(req);
    let v: unknown;
    try {
      v = buf.length ? JSON.parse(buf.toString("utf8")) : {};
    } catch (e) {
      throw new HttpError(400, `${what}: the body is not valid JSON (${(e as Error).message})`);
    }
    const r = schema.safeParse(v);
    if (!r.success) {
      const issues = r.error.issues.map(
        (i) =>
          `${i.path.join(".") || "(body)"}: ${i.message}${i.code === "unrecognized_keys" ? ` (${(i as { keys: string[] }).keys.join(", ")})` : ""}`,
      );
      throw new HttpError(400, `${what}: invalid request: ${issues.join("; ")}`);
    }
    return r.data as z.infer<S>;
  }

  /** Runs fn after every earlier queued operation (one state-touching op at a time, in arrival order). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Queues `fn` and returns a future id whose outcome retrieve_future reports. */
  private future(type: string, fn: () => Promise<Outcome>): { request_id: string; model_id?: string } {
    return this.futureFrom(type, this.serial(fn));
  }

  /** A future whose outcome is `work`'s (already scheduled by the caller). */
  private futureFrom(type: string, work: Promise<Outcome>): { request_id: string; model_id?: string } {
    const id = `${this.instance}-r${++this.futureCounter}`;
    const entry: FutureEntry = { type, done: Promise.resolve() };
    entry.done = work.then(
      (o) => void (entry.outcome = o),
      (e: unknown) => {
        const user = e instanceof UserFault || e instanceof UserError;
        const message = e instanceof Error ? e.message : String(e);
        if (!user) this.log(`tinker server: ${type} failed: ${message}`);
        entry.outcome = { kind: "error", message, category: user ? "user" : "server" };
      },
    );
    this.futures.set(id, entry);
    const max = this.opts.maxFutures ?? 256;
    for (const [k, f] of this.futures) {
      if (this.futures.size <= max) break;
      if (f.outcome) this.futures.delete(k);
    }
    return { request_id: id, ...(this.model ? { model_id: this.model.id } : {}) };
  }

  /** A training request: dedup on (model, seq_id), then queue. */
  private trainingFuture(
    modelId: string,
    seqId: number | undefined,
    op: string,
    fn: (m: ModelState) => Promise<Outcome>,
  ): { request_id: string; model_id?: string } {
    const m = this.requireModel(modelId);
    if (seqId !== undefined) {
      const seen = m.seqs.get(seqId);
      if (seen) {
        if (seen.op !== op)
          throw new HttpError(409, `seq_id ${seqId} of model ${modelId} was already used for ${seen.op}, not ${op}`);
        this.log(`tinker server: repeated ${op} seq_id ${seqId}: answered with its first future ${seen.requestId}`);
        return { request_id: seen.requestId, model_id: m.id };
      }
    }
    const f = this.future(op, () => fn(m));
    if (seqId !== undefined) m.seqs.set(seqId, { requestId: f.request_id, op });
    return f;
  }

  private requireModel(modelId: string): ModelState {
    if (!this.model || this.model.id !== modelId) {
      throw new HttpError(
        404,
        `unknown model_id '${modelId}'${this.model ? ` (this server trains '${this.model.id}')` : ""}: the server may have restarted, and its training state is gone — create a model and load_weights a saved tinker:// state`,
      );
    }
    return this.model;
  }

  // ---------------------------------------------------------------------------------------------- routing

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname.replace(/\/+$/, "");
    if (this.opts.fallback && !route.startsWith(API + "/")) return this.opts.fallback(req, res);
    if (this.opts.apiKey !== undefined) {
      const given = req.headers["x-api-key"];
      const a = Buffer.from(typeof given === "string" ? given : ""),
        b = Buffer.from(this.opts.apiKey);
      if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
        req.resume();
        throw new HttpError(
          401,
          given
            ? "invalid API key"
            : "missing API key: send it in the X-API-Key header (the tinker SDK's TINKER_API_KEY)",
        );
      }
    }
    if (!route.startsWith(API + "/")) {
      req.resume();
      throw new HttpError(404, `unknown path ${url.pathname} (the Tinker API lives under ${API}/)`);
    }
    const op = route.slice(API.length + 1);
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    const method = req.method ?? "GET";
    const needs = (m: string) => {
      if (method !== m) {
        req.resume();
        throw new HttpError(405, `${method} not allowed on ${route} (use ${m})`);
      }
    };
    // GET endpoints
    if (route === Endpoints.healthz) return (needs("GET"), this.send(res, 200, { status: "ok" }));
    if (route === Endpoints.capabilities) return (needs("GET"), this.send(res, 200, this.capabilities()));
    if (route === Endpoints.batcoderTokenizer) {
      needs("GET");
      if (!this.tokenizerJSON) throw new HttpError(404, "this server's tokenizer cannot be exported");
      return this.send(res, 200, this.tokenizerJSON);
    }
    const sampler = /^samplers\/([^/]+)$/.exec(op);
    if (sampler) {
      needs("GET");
      const s = this.samplingSessions.get(sampler[1]!);
      if (!s) throw new HttpError(404, `unknown sampler '${sampler[1]}'`);
      return this.send(res, 200, {
        sampler_id: sampler[1],
        base_model: this.baseModel,
        ...(s.path ? { model_path: s.path } : {}),
      });
    }
    needs("POST");
    if (/^sessions\/[^/]+\/finish$/.test(op) || route === Endpoints.telemetry || op === "cancel_future") {
      await this.readBody(req);
      return this.send(res, 200, route === Endpoints.telemetry ? { status: "accepted" } : {});
    }
    if (route === Endpoints.forwardBackward) return this.send(res, 200, await this.forwardBackward(req));
    const schema = (RequestSchemas as Record<string, z.ZodTypeAny>)[route];
    if (!schema) {
      req.resume();
      throw new HttpError(
        404,
        `unknown endpoint ${route} (this server implements: ${Object.values(Endpoints).join(", ")})`,
      );
    }
    const body = await this.readJson(req, schema, route);
    if (route === Endpoints.retrieveFuture)
      return this.retrieve(res, body as z.infer<(typeof RequestSchemas)[typeof Endpoints.retrieveFuture]>, req);
    return this.send(res, 200, await this.dispatch(route, body));
  }

  private capabilities(): unknown {
    return {
      supported_models: [
        {
          model_name: this.baseModel,
          max_context_length: this.opts.policy.info.contextLength,
          trainable: true,
          sampleable: true,
        },
      ],
      batcoder: {
        loss_fn_config_keys: [...BATCODER_CONFIG_KEYS],
        loss_fn_inputs: [...BATCODER_INPUTS],
        tokenizer_endpoint: Endpoints.batcoderTokenizer,
        model_name: this.opts.policy.info.modelName,
      },
    };
  }

  private async dispatch(route: string, b: unknown): Promise<unknown> {
    switch (route) {
      case Endpoints.clientConfig:
        // what this server needs from the SDK: plain API keys, httpx, chunks in order, one future per sample.
        return {
          pjwt_auth_enabled: false,
          credential_default_source: "api_key",
          use_pyqwest_transport: false,
          parallel_fwdbwd_chunks: false,
          proto_compress_fwdbwd: false,
          sample_use_retrieve_futures: false,
          sample_join_sampling_session: false,
          custom_loss_server_side: false,
        };
      case Endpoints.dynamicConfig:
        return { refresh_interval_sec: 300, sample_cancel_enabled: false, sample_cancel_max_batch_size: 64 };
      case Endpoints.createSession: {
        const id = `${this.instance}-s${this.sessions.size + 1}`;
        this.sessions.add(id);
        return { session_id: id, type: "create_session" };
      }
      case Endpoints.heartbeat: {
        const r = b as { session_id: string };
        if (!this.sessions.has(r.session_id))
          throw new HttpError(404, `unknown session '${r.session_id}' (the server may have restarted)`);
        return { type: "session_heartbeat" };
      }
      case Endpoints.createModel:
        return this.createModel(b as z.infer<(typeof RequestSchemas)[typeof Endpoints.createModel]>);
      case Endpoints.getInfo: {
        const m = this.requireModel((b as { model_id: string }).model_id);
        return {
          type: "get_info",
          model_id: m.id,
          model_data: { arch: "llama", model_name: m.baseModel, tokenizer_id: m.baseModel },
          is_lora: m.loraRank !== undefined,
          ...(m.loraRank !== undefined ? { lora_rank: m.loraRank } : {}),
          model_name: m.baseModel,
        };
      }
      case Endpoints.optimStep:
        return this.optimStep(b as z.infer<(typeof RequestSchemas)[typeof Endpoints.optimStep]>);
      case Endpoints.createSamplingSession:
        return this.createSamplingSession(
          b as z.infer<(typeof RequestSchemas)[typeof Endpoints.createSamplingSession]>,
        );
      case Endpoints.asample:
        return this.sample(b as z.infer<typeof SampleRequestWire>);
      case Endpoints.saveWeights:
        return this.saveWeights(b as z.infer<(typeof RequestSchemas)[typeof Endpoints.saveWeights]>);
      case Endpoints.saveWeightsForSampler:
        return this.saveForSampler(b as z.infer<(typeof RequestSchemas)[typeof Endpoints.saveWeightsForSampler]>);
      case Endpoints.loadWeights:
        return this.loadWeights(b as z.infer<(typeof RequestSchemas)[typeof Endpoints.loadWeights]>);
      default:
        throw new HttpError(404, `unknown endpoint ${route}`);
    }
  }

  private async retrieve(
    res: http.ServerResponse,
    r: { request_id: string },
    req: http.IncomingMessage,
  ): Promise<void> {
    const f = this.futures.get(r.request_id);
    if (!f) {
      throw new HttpError(
        404,
        `unknown request_id '${r.request_id}': ${r.request_id.startsWith(this.instance) ? "it was dropped from the finished-futures cache" : "it belongs to another server instance (the server restarted; the request's result is lost)"}`,
      );
    }
    if (!f.outcome) {
      const wait = this.opts.longPollMs ?? 5000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([f.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, wait)))]);
      clearTimeout(timer);
    }
    const o = f.outcome;
    if (!o) return this.send(res, 200, { type: "try_again", request_id: r.request_id, queue_state: "active" });
    if (o.kind === "error") return this.send(res, 200, { error: o.message, category: o.category });
    if (o.kind === "proto" && String(req.headers.accept ?? "").includes(PROTOBUF)) return this.sendBytes(res, o.bytes);
    return this.send(res, 200, o.kind === "proto" ? o.json : o.body);
  }

  // ---------------------------------------------------------------------------------------------- operations

  private createModel(r: z.infer<(typeof RequestSchemas)[typeof Endpoints.createModel]>): unknown {
    if (!this.sessions.has(r.session_id))
      throw new HttpError(
        404,
        `unknown session '${r.session_id}' (create_session first; the server may have restarted)`,
      );
    return this.future("create_model", async () => {
      if (r.base_model !== this.baseModel)
        throw new UserFault(`base_model '${r.base_model}' is not served here (supported: ${this.baseModel})`);
      if (this.model) throw new UserFault(`this server trains one model at a time and already has '${this.model.id}'`);
      const lc = r.lora_config;
      const rank = lc?.rank ?? 0;
      const id = `${this.instance}-m${this.modelCounter + 1}`;
      let what = "full fine-tuning (LoRA rank 0: every weight trains)";
      const p = this.opts.policy as Partial<LoraTrainable>;
      const has = p.loraConfig ?? null;
      if (has && rank !== has.rank)
        throw new UserFault(
          `the served checkpoint carries a LoRA adapter of rank ${has.rank}: create the model with rank ${has.rank} ` +
            "to continue training it (full fine-tuning or another rank needs a merged checkpoint: batcoder export --adapter)",
        );
      if (has) {
        what = `continuing the served checkpoint's LoRA adapter (rank ${has.rank}, alpha ${has.alpha}, ${has.targetModules.join("/")}), base frozen`;
        const asked = tinkerLoraTargets(lc ?? {});
        if (asked.join("/") !== [...has.targetModules].join("/"))
          what += ` (lora_config asked for ${asked.join("/") || "no modules"}: the adapter keeps its own modules)`;
      } else if (rank > 0) {
        if (typeof p.attachLora !== "function")
          throw new UserFault(
            `LoRA rank ${rank} requested, but this server's policy cannot train an adapter (create the model with rank 0 for full fine-tuning)`,
          );
        const targets = tinkerLoraTargets(lc ?? {});
        if (targets.length === 0)
          throw new UserFault(
            "lora_config: train_attn, train_mlp and train_unembed are all false, so there is nothing to adapt",
          );
        const adapter = p.attachLora({ rank, alpha: TINKER_LORA_ALPHA, targetModules: targets }, lc?.seed ?? 0);
        what =
          `LoRA rank ${rank}, alpha ${TINKER_LORA_ALPHA} on ${targets.join("/")}: ` +
          `${adapter.nParams().toLocaleString("en-US")} trainable parameters, base frozen`;
      }
      this.modelCounter++;
      this.model = { id, baseModel: r.base_model, ...(rank > 0 ? { loraRank: rank } : {}), seqs: new Map() };
      this.log(`tinker server: model ${id}: ${what}`);
      return { kind: "json", body: { model_id: this.model.id, type: "create_model" } };
    });
  }

  private async forwardBackward(req: http.IncomingMessage): Promise<unknown> {
    const ctype = String(req.headers["content-type"] ?? "");
    const enc = req.headers["content-encoding"];
    if (enc && enc !== "identity") {
      req.resume();
      throw new HttpError(
        415,
        `Content-Encoding '${enc}' is not supported on forward_backward (send it uncompressed; this server's client config says proto_compress_fwdbwd=false)`,
      );
    }
    if (!ctype.includes(PROTOBUF)) {
      req.resume();
      throw new HttpError(
        415,
        `forward_backward takes a protobuf body (Content-Type: ${PROTOBUF}), as tinker >= 0.3x sends it; got '${ctype || "none"}'`,
      );
    }
    let r: PbForwardBackwardRequest;
    try {
      r = decodeForwardBackwardRequest(await this.readBody(req));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, `forward_backward: ${(e as Error).message}`);
    }
    let spec: LossSpec;
    let datums: Datum[];
    try {
      spec = lossFromTinker(r.lossFn, r.lossFnConfig);
      datums = r.data.map((d, i) => datumFromPb(d, i, spec));
    } catch (e) {
      throw new HttpError(400, `forward_backward: ${(e as Error).message}`);
    }
    const op = r.forwardOnly ? "forward" : "forward_backward";
    const temp = r.lossFnConfig.batcoder_temperature;
    if (!r.forwardOnly && r.lossFn === "cross_entropy" && temp !== undefined && temp !== 1) {
      throw new HttpError(
        400,
        "forward_backward: cross_entropy trains at temperature 1 (batcoder_temperature applies to forward passes and the policy-gradient losses)",
      );
    }
    return this.trainingFuture(r.modelId, r.seqId || undefined, op, async () => {
      let loss: number, logprobs: number[][], metrics: Record<string, number>;
      try {
        if (r.forwardOnly) {
          const t = r.lossFnConfig.batcoder_temperature;
          logprobs = await this.opts.policy.computeLogprobs(
            datums,
            typeof t === "number" ? { temperature: t } : undefined,
          );
          const l = computeLoss(spec, { datums, logprobs });
          loss = l.loss;
          metrics = l.metrics;
        } else {
          ({ loss, logprobs, metrics } = await this.opts.policy.forwardBackward(datums, spec));
        }
      } catch (e) {
        throw new UserFault((e as Error).message);
      }
      const out = {
        lossFnOutputType: "ArrayRecord",
        lossFnOutputs: logprobs.map((lp) => ({ logprobs: { dtype: "float32" as const, data: lp } })),
        metrics: { "loss:sum": loss, ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`${k}:mean`, v])) },
      };
      const json = {
        loss_fn_output_type: "ArrayRecord",
        loss_fn_outputs: out.lossFnOutputs.map((o) => ({
          logprobs: { data: o.logprobs.data, dtype: "float32", shape: [o.logprobs.data.length] },
        })),
        metrics: out.metrics,
      };
      return { kind: "proto", bytes: encodeForwardBackwardOutput(out), json };
    });
  }

  private optimStep(r: z.infer<(typeof RequestSchemas)[typeof Endpoints.optimStep]>): unknown {
    const a = r.adam_params;
    return this.trainingFuture(r.model_id, r.seq_id, "optim_step", async () => {
      const o = await this.opts.policy.optimStep({
        learningRate: a.learning_rate,
        beta1: a.beta1,
        beta2: a.beta2,
        eps: a.eps,
        weightDecay: a.weight_decay ?? 0,
        maxGradNorm: a.grad_clip_norm ?? 0,
      });
      return { kind: "json", body: { metrics: { "grad_norm:mean": o.gradNorm, "step:max": o.step } } };
    });
  }

  private statePath(modelId: string, name: string): string {
    return path.join(this.opts.stateRoot, modelId, "weights", name);
  }

  private checkName(name: string | undefined, dflt: string): string {
    const n = name ?? dflt;
    if (!isValidName(n))
      throw new HttpError(
        400,
        `invalid checkpoint name '${n}' (one path segment of [A-Za-z0-9._-], at most 128 characters)`,
      );
    return n;
  }

  private saveWeights(r: z.infer<(typeof RequestSchemas)[typeof Endpoints.saveWeights]>): unknown {
    const m = this.requireModel(r.model_id);
    const name = this.checkName(r.path, `state-${this.futureCounter + 1}`);
    return this.trainingFuture(r.model_id, r.seq_id, "save_weights", async () => {
      const dir = this.statePath(m.id, name);
      if (fs.existsSync(dir)) {
        if (!r.overwrite)
          throw new UserFault(
            `${formatTinkerPath({ modelId: m.id, kind: "weights", name })} exists (pass overwrite=true to replace it)`,
          );
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const tmp = `${dir}.tmp-${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      // a LoRA model: the adapter, its optimizer and RNGs plus a reference to the frozen base (model and weights
      // hash), not the base itself; full fine-tuning: every weight
      const p = this.opts.policy as Partial<LoraTrainable>;
      if (m.loraRank !== undefined && typeof p.saveAdapterState === "function")
        await p.saveAdapterState(tmp, { model: this.opts.baseRef ?? this.baseModel });
      else await this.opts.policy.saveState(tmp);
      fs.renameSync(tmp, dir);
      return {
        kind: "json",
        body: { path: formatTinkerPath({ modelId: m.id, kind: "weights", name }), type: "save_weights" },
      };
    });
  }

  private saveForSampler(r: z.infer<(typeof RequestSchemas)[typeof Endpoints.saveWeightsForSampler]>): unknown {
    const m = this.requireModel(r.model_id);
    const name = this.checkName(r.path, `sampler-${this.futureCounter + 1}`);
    const withSession = r.sampling_session_seq_id !== undefined;
    return this.trainingFuture(r.model_id, r.seq_id, "save_weights_for_sampler", async () => {
      const p = formatTinkerPath({ modelId: m.id, kind: "sampler_weights", name });
      const ref = await this.opts.policy.snapshotReference();
      this.samplers.delete(p);
      this.samplers.set(p, ref);
      while (this.samplers.size > (this.opts.maxSamplers ?? 8))
        this.samplers.delete(this.samplers.keys().next().value!);
      const body: Record<string, unknown> = { path: p, type: "save_weights_for_sampler" };
      if (withSession) {
        const id = this.openSamplingSession(ref, p);
        body.sampling_session_id = id;
      }
      return { kind: "json", body };
    });
  }

  private loadWeights(r: z.infer<(typeof RequestSchemas)[typeof Endpoints.loadWeights]>): unknown {
    if (r.model_id === undefined)
      throw new HttpError(
        400,
        "load_weights: model_id is required here (create the model first, then load the state into it)",
      );
    let tp;
    try {
      tp = parseTinkerPath(r.path);
    } catch (e) {
      throw new HttpError(400, `load_weights: ${(e as Error).message}`);
    }
    if (tp.kind !== "weights")
      throw new HttpError(
        400,
        `load_weights: '${r.path}' is sampler weights; load a training state (tinker://…/weights/…)`,
      );
    if (!r.optimizer)
      throw new HttpError(
        400,
        "load_weights: optimizer=false is not supported (the embedded engine restores weights with their optimizer state); use load_state_with_optimizer",
      );
    const dir = this.statePath(tp.modelId, tp.name);
    return this.trainingFuture(r.model_id, r.seq_id, "load_weights", async () => {
      if (!fs.existsSync(dir)) throw new UserFault(`no saved state at ${r.path}`);
      await this.opts.policy.loadState(dir);
      return { kind: "json", body: { path: r.path, type: "load_weights" } };
    });
  }

  private openSamplingSession(sampler: Reference, p?: string): string {
    const id = `${this.instance}-ss${this.samplingSessions.size + 1}`;
    this.samplingSessions.set(id, { sampler, ...(p ? { path: p } : {}), seqs: new Map() });
    return id;
  }

  private createSamplingSession(r: z.infer<(typeof RequestSchemas)[typeof Endpoints.createSamplingSession]>): unknown {
    if (!this.sessions.has(r.session_id))
      throw new HttpError(404, `unknown session '${r.session_id}' (the server may have restarted)`);
    const sampler = this.resolveSampler(r.model_path, r.base_model);
    return { sampling_session_id: this.openSamplingSession(sampler, r.model_path), type: "create_sampling_session" };
  }

  private resolveSampler(modelPath: string | undefined, baseModel: string | undefined): Reference {
    if (modelPath !== undefined) {
      const s = this.samplers.get(modelPath);
      if (!s)
        throw new HttpError(
          404,
          `no sampler weights at '${modelPath}' on this server (they live in memory: the last ${this.opts.maxSamplers ?? 8}; the server may have restarted)`,
        );
      return s;
    }
    if (baseModel !== undefined) {
      if (baseModel !== this.baseModel)
        throw new HttpError(400, `base_model '${baseModel}' is not served here (supported: ${this.baseModel})`);
      return this.baseSampler!;
    }
    throw new HttpError(400, "name a model_path (tinker://…/sampler_weights/…) or a base_model");
  }

  private sample(r: z.infer<typeof SampleRequestWire>): unknown {
    let sampler: Reference;
    let seqs: Map<number, string> | null = null;
    if (r.sampling_session_id !== undefined) {
      const s = this.samplingSessions.get(r.sampling_session_id);
      if (!s)
        throw new HttpError(
          404,
          `unknown sampling_session_id '${r.sampling_session_id}' (the server may have restarted)`,
        );
      sampler = s.sampler;
      seqs = s.seqs;
    } else sampler = this.resolveSampler(r.model_path, r.base_model);
    if (seqs && r.seq_id !== undefined) {
      const seen = seqs.get(r.seq_id);
      if (seen) return { request_id: seen, sample_sequence_ids: seqIds(seen, r.num_samples ?? 1) };
    }
    const unsupported = (["topk_prompt_logprobs", "topk_sample_logprobs", "prompt_alt_tokens_k"] as const).filter(
      (k) => (r[k] ?? 0) > 0,
    );
    if (r.target_prompt_logprobs !== undefined) unsupported.push("target_prompt_logprobs" as never);
    if (unsupported.length)
      throw new HttpError(
        400,
        `asample: ${unsupported.join(", ")} not supported by this server (supported: prompt_logprobs)`,
      );
    const sp = r.sampling_params;
    if (sp.max_tokens === undefined) throw new HttpError(400, "asample: sampling_params.max_tokens is required");
    const prompt = r.prompt.chunks.flatMap((c) => c.tokens);
    const stop = sp.stop === undefined ? undefined : typeof sp.stop === "string" ? [sp.stop] : sp.stop;
    const req: SampleRequest = {
      prompt,
      n: r.num_samples ?? 1,
      params: {
        maxTokens: sp.max_tokens,
        temperature: sp.temperature ?? 1,
        ...(sp.top_p !== undefined ? { topP: sp.top_p } : {}),
        ...(sp.top_k !== undefined && sp.top_k > 0 ? { topK: sp.top_k } : {}),
        ...(sp.seed !== undefined ? { seed: sp.seed } : {}),
        ...(stop && stop.length && typeof stop[0] === "string" ? { stop: stop as string[] } : {}),
        ...(stop && stop.length && typeof stop[0] === "number" ? { stopTokenIds: stop as number[] } : {}),
      },
    };
    if (prompt.length === 0 || prompt.length >= this.opts.policy.info.contextLength) {
      throw new HttpError(
        400,
        `asample: a prompt of ${prompt.length} tokens leaves no room in the context length ${this.opts.policy.info.contextLength}`,
      );
    }
    // Requests for one sampler that arrive together (within `sampleBatchMs`, or while the queue is busy) are
    // sampled in ONE engine call, and their prompt log-probs scored in one more.
    let batch = this.sampleBatches.get(sampler);
    if (!batch) {
      const b: SampleBatch = { items: [], run: null as unknown as SampleBatch["run"] };
      b.run = new Promise<Awaited<SampleBatch["run"]>>((resolve, reject) =>
        setTimeout(() => {
          this.serial(async () => {
            this.sampleBatches.delete(sampler); // later requests start the next batch
            const seqsOut = await sampler.sample(b.items.map((x) => x.req));
            const scored = b.items.filter((x) => x.promptLogprobs && x.req.prompt.length > 1);
            // one scoring call per temperature (batcoder extension; Tinker's own requests score at 1)
            const lps: number[][] = new Array(scored.length);
            for (const t of new Set(scored.map((x) => x.temperature))) {
              const idx = scored.map((x, i) => (x.temperature === t ? i : -1)).filter((i) => i >= 0);
              const out = await sampler.computeLogprobs(
                idx
                  .map((i) => scored[i]!)
                  .map((x) => ({
                    modelInput: x.req.prompt.slice(0, -1),
                    lossInputs: { targetTokens: x.req.prompt.slice(1), weights: x.req.prompt.slice(1).map(() => 1) },
                  })),
                t === 1 ? undefined : { temperature: t },
              );
              idx.forEach((i, k) => (lps[i] = out[k]!));
            }
            return b.items.map((x, i) => ({
              seqs: seqsOut[i]!,
              promptLp: x.promptLogprobs ? [NaN, ...(x.req.prompt.length > 1 ? lps[scored.indexOf(x)]! : [])] : null,
            }));
          }).then(resolve, reject);
        }, this.opts.sampleBatchMs ?? 2),
      );
      this.sampleBatches.set(sampler, b);
      batch = b;
    }
    const index =
      batch.items.push({
        req,
        promptLogprobs: r.prompt_logprobs === true,
        temperature: r.batcoder_logprob_temperature ?? 1,
      }) - 1;
    const work = batch.run.then(
      (all): Outcome => {
        const { seqs: seqsOut, promptLp } = all[index]!;
        const resp: PbSampleResponse = {
          sequences: seqsOut.map((q) => ({ stopReason: q.finishReason, tokens: q.tokens, logprobs: q.logprobs })),
          promptLogprobs: promptLp,
          promptCacheHitTokens: 0,
        };
        const json = {
          type: "sample",
          sequences: seqsOut.map((q) => ({ stop_reason: q.finishReason, tokens: q.tokens, logprobs: q.logprobs })),
          prompt_logprobs: promptLp ? promptLp.map((x) => (Number.isNaN(x) ? null : x)) : null,
        };
        return { kind: "proto", bytes: encodeSampleResponse(resp), json };
      },
      (e: unknown) => {
        throw new UserFault((e as Error).message);
      },
    );
    const f = this.futureFrom("sample", work);
    if (seqs && r.seq_id !== undefined) seqs.set(r.seq_id, f.request_id);
    return { request_id: f.request_id, sample_sequence_ids: seqIds(f.request_id, r.num_samples ?? 1) };
  }
}

/** One id per sampled sequence (the SDK stamps them on its SampledSequences). */
function seqIds(requestId: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${requestId}-${i}`);
}

/** A protobuf datum as our Datum, checked against what the loss needs. */
function datumFromPb(d: PbForwardBackwardRequest["data"][number], i: number, spec: LossSpec): Datum {
  const tokens = d.chunks.flat();
  const n = tokens.length;
  const get = (k: string, need: boolean): number[] | undefined => {
    const t = d.lossFnInputs[k];
    if (!t) {
      if (need) throw new Error(`data[${i}].loss_fn_inputs.${k} is required for loss '${spec.kind}'`);
      return undefined;
    }
    const v = tensorValues(t);
    if (v.length !== n)
      throw new Error(`data[${i}].loss_fn_inputs.${k} has ${v.length} values, model_input has ${n} tokens`);
    for (const x of v)
      if (!Number.isFinite(x)) throw new Error(`data[${i}].loss_fn_inputs.${k} has a non-finite value`);
    return v;
  };
  const known = new Set(["target_tokens", "weights", "logprobs", "advantages", ...BATCODER_INPUTS]);
  for (const k of Object.keys(d.lossFnInputs)) {
    if (!known.has(k))
      throw new Error(`data[${i}].loss_fn_inputs.${k} is not supported (supported: ${[...known].join(", ")})`);
  }
  const target = get("target_tokens", true)!;
  for (const t of [...tokens, ...target])
    if (!Number.isInteger(t) || t < 0) throw new Error(`data[${i}]: token ids must be non-negative integers`);
  const pg = spec.kind !== "cross_entropy";
  const weights = get("weights", spec.kind === "cross_entropy") ?? new Array<number>(n).fill(1);
  const advantages = get("advantages", pg);
  const sampling = get("logprobs", pg);
  const ref = get("ref_logprobs", spec.kind === "ppo" && spec.klCoef !== 0);
  return {
    modelInput: tokens,
    lossInputs: {
      targetTokens: target,
      weights,
      ...(advantages ? { advantages } : {}),
      ...(sampling ? { samplingLogprobs: sampling } : {}),
      ...(ref ? { refLogprobs: ref } : {}),
    },
  };
}

export async function serveTinker(
  opts: TinkerServerOptions & { port?: number; host?: string },
): Promise<{ server: TinkerServer; url: string }> {
  const server = new TinkerServer(opts);
  const url = await server.listen(opts.port ?? 8001, opts.host ?? "127.0.0.1");
  return { server, url };
}
