/**
 * An OpenAI-compatible HTTP server (node:http, no framework) in front of any `Sampler`.
 *
 *   GET  /v1/models
 *   POST /v1/completions        prompt (string | string[] | token ids | token-id arrays), max_tokens (default 16),
 *                               temperature (default 1), top_p, n, stop (string | up to 4 strings), seed,
 *                               logprobs (0-5), stream, stream_options.include_usage, echo (false only)
 *   POST /v1/chat/completions   messages, max_tokens | max_completion_tokens (default: the rest of the context),
 *                               temperature, top_p, n, stop, seed, logprobs (bool), top_logprobs (0-20), stream
 *
 * Batching: requests that arrive while the model is busy (or within `batchWindowMs` of each other) are
 * sampled together in ONE `sampler.sample([...])` call; requests are validated individually first so one
 * bad request cannot fail a batch.
 *
 * Chat: the embedded model has no chat training, so messages are rendered to a plain prompt with
 * `renderChatPrompt` (src/eval/generator.ts: "### User:\n…\n\n### Assistant:\n") and "\n### " is added to the
 * stop strings.
 *
 * Log-probs are the sampler's (log softmax of the raw logits of the sampled token); `top_logprobs` can only
 * list the sampled token itself, because the Sampler interface does not expose alternatives.
 *
 * Streaming (SSE, `data: {...}\n\n` … `data: [DONE]`) sends one chunk per generated token; since the Sampler
 * returns whole sequences the chunks are written when the batch finishes.
 *
 * Errors: OpenAI's body `{error: {message, type, param, code}}` — 400 invalid_request_error (bad JSON, bad or
 * missing parameters, context length exceeded), 404 (unknown route or model), 405 (wrong method), 413 (body
 * too large), 500 server_error (the sampler failed).
 */
import http from "node:http";
import crypto from "node:crypto";
import type { SampledSequence, SampleRequest, Sampler } from "./policy.js";
import { CHAT_TURN_STOP, renderChatPrompt, type ChatMessage } from "../eval/generator.js";

export interface OpenAIServerOptions {
  sampler: Sampler;
  /** Model id reported by /v1/models and accepted in requests (default sampler.info.modelName). */
  modelName?: string;
  /** How long to wait for more requests before sampling a batch (default 5 ms). */
  batchWindowMs?: number;
  /** Max sequences (sum of n) per sampler call (default 64). */
  maxBatchSequences?: number;
  /** Largest accepted request body (default 4 MiB). */
  maxBodyBytes?: number;
  /** Called after each sampler call (tests, metrics). */
  onBatch?: (info: { requests: number; sequences: number }) => void;
  log?: (line: string) => void;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

interface Job {
  request: SampleRequest;
  resolve: (r: SampledSequence[]) => void;
  reject: (e: Error) => void;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(body: Json, key: string, def: number | undefined, check: (x: number) => boolean, what: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) throw new ApiError(400, `'${key}' must be ${what}; got ${JSON.stringify(v)}`, "invalid_request_error", key, "invalid_value");
  return v;
}

function int(body: Json, key: string, def: number | undefined, lo: number, hi: number): number | undefined {
  return num(body, key, def, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer in [${lo}, ${hi}]`);
}

function stops(body: Json): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const arr = typeof v === "string" ? [v] : v;
  if (!Array.isArray(arr) || arr.length > 4 || arr.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new ApiError(400, "'stop' must be a non-empty string or an array of up to 4 non-empty strings", "invalid_request_error", "stop", "invalid_value");
  }
  return arr as string[];
}

export class OpenAIServer {
  readonly server: http.Server;
  readonly modelName: string;
  private readonly queue: Job[] = [];
  private busy = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly opts: OpenAIServerOptions) {
    this.modelName = opts.modelName ?? opts.sampler.info.modelName;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.sendError(res, e));
    });
  }

  /** Starts listening; resolves to the base URL (".../v1"). */
  listen(port = 8000, host = "127.0.0.1"): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        const a = this.server.address();
        const p = typeof a === "object" && a ? a.port : port;
        resolve(`http://${host.includes(":") ? `[${host}]` : host}:${p}/v1`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }

  // ------------------------------------------------------------------------------------------ batching

  private enqueue(request: SampleRequest): Promise<SampledSequence[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.busy || this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.opts.batchWindowMs ?? 5);
  }

  private async flush(): Promise<void> {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const max = this.opts.maxBatchSequences ?? 64;
    const batch: Job[] = [];
    let seqs = 0;
    while (this.queue.length && (batch.length === 0 || seqs + this.queue[0]!.request.n <= max)) {
      const j = this.queue.shift()!;
      batch.push(j);
      seqs += j.request.n;
    }
    try {
      const out = await this.opts.sampler.sample(batch.map((j) => j.request));
      this.opts.onBatch?.({ requests: batch.length, sequences: seqs });
      batch.forEach((j, i) => j.resolve(out[i] ?? []));
    } catch (e) {
      for (const j of batch) j.reject(new ApiError(500, `sampling failed: ${(e as Error).message}`, "server_error", null, null));
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  // ------------------------------------------------------------------------------------------ HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname.replace(/\/+$/, "");
    const routes: Record<string, string> = { "/v1/models": "GET", "/v1/completions": "POST", "/v1/chat/completions": "POST" };
    if (route.startsWith("/v1/models/") && req.method === "GET") {
      const id = decodeURIComponent(route.slice("/v1/models/".length));
      if (id !== this.modelName) throw new ApiError(404, `The model '${id}' does not exist`, "invalid_request_error", "model", "model_not_found");
      return this.sendJson(res, 200, this.modelCard());
    }
    const method = routes[route];
    if (!method) throw new ApiError(404, `Unknown route ${req.method} ${url.pathname}`, "invalid_request_error", null, "not_found");
    if (req.method !== method) throw new ApiError(405, `Method ${req.method} not allowed on ${route} (use ${method})`, "invalid_request_error", null, "method_not_allowed");
    if (route === "/v1/models") return this.sendJson(res, 200, { object: "list", data: [this.modelCard()] });
    const body = await this.readJson(req);
    const model = body.model;
    if (model !== undefined && model !== null && model !== this.modelName) {
      throw new ApiError(404, `The model '${String(model)}' does not exist (this server serves '${this.modelName}')`, "invalid_request_error", "model", "model_not_found");
    }
    if (route === "/v1/completions") return this.completions(body, res);
    return this.chat(body, res);
  }

  private modelCard(): Json {
    return { id: this.modelName, object: "model", created: this.created, owned_by: "batcoder", context_length: this.opts.sampler.info.contextLength };
  }

  private readJson(req: http.IncomingMessage): Promise<Json> {
    const limit = this.opts.maxBodyBytes ?? 4 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > limit && !failed) {
          failed = true;
          reject(new ApiError(413, `request body exceeds ${limit} bytes`, "invalid_request_error", null, "request_too_large"));
          return;
        }
        if (!failed) chunks.push(c);
      });
      req.on("error", (e) => reject(e));
      req.on("end", () => {
        if (failed) return;
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return reject(new ApiError(400, "We could not parse the JSON body of your request.", "invalid_request_error", null, "invalid_json"));
        }
        if (!isObj(parsed)) return reject(new ApiError(400, "the request body must be a JSON object", "invalid_request_error", null, "invalid_json"));
        resolve(parsed);
      });
    });
  }

  /** Common sampling parameters; `defMax` is the max_tokens default. */
  private params(body: Json, promptLen: number, defMax: number | null, maxKey = "max_tokens") {
    const ctx = this.opts.sampler.info.contextLength;
    const room = ctx - promptLen;
    if (room < 1) {
      throw new ApiError(400, `This model's maximum context length is ${ctx} tokens; the prompt has ${promptLen} tokens.`, "invalid_request_error", "messages", "context_length_exceeded");
    }
    const maxTokens = int(body, maxKey, defMax ?? room, 0, 1_000_000)!;
    if (promptLen + maxTokens > ctx) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${ctx} tokens. However, you requested ${promptLen + maxTokens} tokens (${promptLen} in the prompt, ${maxTokens} for the completion).`,
        "invalid_request_error",
        maxKey,
        "context_length_exceeded",
      );
    }
    const temperature = num(body, "temperature", 1, (x) => x >= 0 && x <= 2, "a number in [0, 2]")!;
    const topP = num(body, "top_p", 1, (x) => x > 0 && x <= 1, "a number in (0, 1]")!;
    const n = int(body, "n", 1, 1, 128)!;
    const seed = int(body, "seed", undefined, -(2 ** 53), 2 ** 53);
    for (const k of ["presence_penalty", "frequency_penalty"]) {
      const v = num(body, k, 0, (x) => x >= -2 && x <= 2, "a number in [-2, 2]");
      if (v !== 0) throw new ApiError(400, `'${k}' is not supported by this server (only 0)`, "invalid_request_error", k, "unsupported_parameter");
    }
    if (body.best_of !== undefined && body.best_of !== null && body.best_of !== n && body.best_of !== 1) {
      throw new ApiError(400, "'best_of' is not supported by this server", "invalid_request_error", "best_of", "unsupported_parameter");
    }
    if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") throw new ApiError(400, "'stream' must be a boolean", "invalid_request_error", "stream", "invalid_type");
    return { maxTokens, temperature, topP, n, seed, stop: stops(body), stream: body.stream === true, includeUsage: isObj(body.stream_options) && body.stream_options.include_usage === true };
  }

  private encodePrompt(p: unknown, where: string): number[] {
    const tok = this.opts.sampler.tokenizer;
    if (typeof p === "string") return [tok.bosId, ...tok.encode(p)];
    if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && t >= 0 && t < tok.vocabSize)) return p as number[];
    throw new ApiError(400, `${where} must be a string or a non-empty array of token ids below ${tok.vocabSize}`, "invalid_request_error", "prompt", "invalid_value");
  }

  private async completions(body: Json, res: http.ServerResponse): Promise<void> {
    const raw = body.prompt;
    if (raw === undefined || raw === null) throw new ApiError(400, "you must provide a 'prompt'", "invalid_request_error", "prompt", "missing_required_parameter");
    if (body.echo === true) throw new ApiError(400, "'echo' is not supported by this server", "invalid_request_error", "echo", "unsupported_parameter");
    if (body.suffix !== undefined && body.suffix !== null) throw new ApiError(400, "'suffix' is not supported by this server", "invalid_request_error", "suffix", "unsupported_parameter");
    const list: unknown[] =
      typeof raw === "string" ? [raw] : Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === "number") ? [raw] : Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || list.length > 256) throw new ApiError(400, "'prompt' must hold 1 to 256 prompts", "invalid_request_error", "prompt", "invalid_value");
    const prompts = list.map((p, i) => this.encodePrompt(p, list.length > 1 ? `prompt[${i}]` : "prompt"));
    const logprobs = int(body, "logprobs", undefined, 0, 5);
    const ps = prompts.map((p) => this.params(body, p.length, 16));
    const P = ps[0]!;
    const results = await Promise.all(
      prompts.map((prompt, i) =>
        this.enqueue({ prompt, n: P.n, params: { maxTokens: ps[i]!.maxTokens, temperature: P.temperature, topP: P.topP, stop: P.stop.length ? P.stop : undefined, seed: P.seed } }),
      ),
    );
    const id = `cmpl-${crypto.randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = this.usage(prompts, results);
    const tok = this.opts.sampler.tokenizer;
    if (P.stream) {
      this.startSse(res);
      results.forEach((seqs, pi) =>
        seqs.forEach((s, si) => {
          const index = pi * P.n + si;
          for (const piece of this.pieces(s)) {
            this.sse(res, { id, object: "text_completion", created, model: this.modelName, choices: [{ index, text: piece.text, logprobs: logprobs !== undefined ? { tokens: [piece.tokenText], token_logprobs: [piece.logprob], top_logprobs: [{ [piece.tokenText]: piece.logprob }], text_offset: [piece.offset] } : null, finish_reason: null }] });
          }
          this.sse(res, { id, object: "text_completion", created, model: this.modelName, choices: [{ index, text: "", logprobs: null, finish_reason: s.finishReason }] });
        }),
      );
      if (P.includeUsage) this.sse(res, { id, object: "text_completion", created, model: this.modelName, choices: [], usage });
      return this.endSse(res);
    }
    const choices = results.flatMap((seqs, pi) =>
      seqs.map((s, si) => ({
        index: pi * P.n + si,
        text: s.text,
        logprobs: logprobs !== undefined ? this.completionLogprobs(s) : null,
        finish_reason: s.finishReason,
      })),
    );
    this.sendJson(res, 200, { id, object: "text_completion", created, model: this.modelName, choices, usage });
  }

  private async chat(body: Json, res: http.ServerResponse): Promise<void> {
    const msgs = body.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) throw new ApiError(400, "'messages' must be a non-empty array", "invalid_request_error", "messages", msgs === undefined ? "missing_required_parameter" : "invalid_value");
    const messages: ChatMessage[] = msgs.map((m, i) => {
      if (!isObj(m)) throw new ApiError(400, `messages[${i}] must be an object`, "invalid_request_error", `messages[${i}]`, "invalid_type");
      const role = m.role;
      if (role !== "system" && role !== "user" && role !== "assistant" && role !== "developer") {
        throw new ApiError(400, `messages[${i}].role must be one of system, developer, user, assistant`, "invalid_request_error", `messages[${i}].role`, "invalid_value");
      }
      let content = m.content;
      if (Array.isArray(content)) {
        if (!content.every((p) => isObj(p) && p.type === "text" && typeof p.text === "string")) {
          throw new ApiError(400, `messages[${i}].content: only text parts are supported`, "invalid_request_error", `messages[${i}].content`, "invalid_value");
        }
        content = content.map((p) => (p as Json).text as string).join("");
      }
      if (typeof content !== "string") throw new ApiError(400, `messages[${i}].content must be a string`, "invalid_request_error", `messages[${i}].content`, "invalid_type");
      return { role: role === "developer" ? "system" : role, content };
    });
    const tok = this.opts.sampler.tokenizer;
    const prompt = [tok.bosId, ...tok.encode(renderChatPrompt(messages))];
    const maxKey = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? "max_completion_tokens" : "max_tokens";
    const P = this.params(body, prompt.length, null, maxKey);
    if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== "boolean") throw new ApiError(400, "'logprobs' must be a boolean", "invalid_request_error", "logprobs", "invalid_type");
    const topLogprobs = int(body, "top_logprobs", undefined, 0, 20);
    if (topLogprobs !== undefined && body.logprobs !== true) throw new ApiError(400, "'top_logprobs' requires 'logprobs': true", "invalid_request_error", "top_logprobs", "invalid_value");
    const wantLp = body.logprobs === true;
    const seqs = await this.enqueue({
      prompt,
      n: P.n,
      params: { maxTokens: P.maxTokens, temperature: P.temperature, topP: P.topP, stop: [...P.stop, CHAT_TURN_STOP], seed: P.seed },
    });
    const id = `chatcmpl-${crypto.randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = this.usage([prompt], [seqs]);
    if (P.stream) {
      this.startSse(res);
      seqs.forEach((s, index) => {
        this.sse(res, { id, object: "chat.completion.chunk", created, model: this.modelName, choices: [{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
        for (const piece of this.pieces(s)) {
          const lp = wantLp ? { content: [this.chatTokenLogprob(piece.tokenText, piece.logprob, topLogprobs)] } : null;
          this.sse(res, { id, object: "chat.completion.chunk", created, model: this.modelName, choices: [{ index, delta: { content: piece.text }, logprobs: lp, finish_reason: null }] });
        }
        this.sse(res, { id, object: "chat.completion.chunk", created, model: this.modelName, choices: [{ index, delta: {}, logprobs: null, finish_reason: s.finishReason }] });
      });
      if (P.includeUsage) this.sse(res, { id, object: "chat.completion.chunk", created, model: this.modelName, choices: [], usage });
      return this.endSse(res);
    }
    const choices = seqs.map((s, index) => ({
      index,
      message: { role: "assistant", content: s.text },
      logprobs: wantLp ? { content: this.visibleTokens(s).map((t) => this.chatTokenLogprob(t.tokenText, t.logprob, topLogprobs)) } : null,
      finish_reason: s.finishReason,
    }));
    this.sendJson(res, 200, { id, object: "chat.completion", created, model: this.modelName, choices, usage });
  }

  private chatTokenLogprob(token: string, logprob: number, top: number | undefined) {
    const bytes = [...Buffer.from(token, "utf8")];
    return { token, logprob, bytes, top_logprobs: top ? [{ token, logprob, bytes }] : [] };
  }

  /**
   * The tokens that make up the returned text: the sampled tokens whose decoded prefix lies within `text`
   * (a stop string or the EOS token is not part of the text).
   */
  private visibleTokens(s: SampledSequence): { tokenText: string; logprob: number; offset: number }[] {
    const tok = this.opts.sampler.tokenizer;
    const out: { tokenText: string; logprob: number; offset: number }[] = [];
    let prev = "";
    for (let i = 0; i < s.tokens.length; i++) {
      if (prev.length >= s.text.length) break;
      const cur = tok.decode(s.tokens.slice(0, i + 1));
      out.push({ tokenText: tok.decode([s.tokens[i]!]), logprob: s.logprobs[i] ?? 0, offset: prev.length });
      prev = cur;
    }
    return out;
  }

  /** Stream pieces: the text delta contributed by each visible token (an incomplete UTF-8 tail waits for the next token). */
  private pieces(s: SampledSequence): { text: string; tokenText: string; logprob: number; offset: number }[] {
    const tok = this.opts.sampler.tokenizer;
    const vis = this.visibleTokens(s);
    const out: { text: string; tokenText: string; logprob: number; offset: number }[] = [];
    let emitted = 0;
    vis.forEach((v, i) => {
      let upto: number;
      if (i === vis.length - 1) upto = s.text.length;
      else upto = Math.min(tok.decode(s.tokens.slice(0, i + 1)).replace(/\uFFFD+$/, "").length, s.text.length);
      upto = Math.max(upto, emitted);
      out.push({ text: s.text.slice(emitted, upto), tokenText: v.tokenText, logprob: v.logprob, offset: v.offset });
      emitted = upto;
    });
    if (emitted < s.text.length) out.push({ text: s.text.slice(emitted), tokenText: "", logprob: 0, offset: emitted });
    return out;
  }

  private completionLogprobs(s: SampledSequence) {
    const vis = this.visibleTokens(s);
    return {
      tokens: vis.map((v) => v.tokenText),
      token_logprobs: vis.map((v) => v.logprob),
      top_logprobs: vis.map((v) => ({ [v.tokenText]: v.logprob })),
      text_offset: vis.map((v) => v.offset),
    };
  }

  private usage(prompts: number[][], results: SampledSequence[][]) {
    const prompt_tokens = prompts.reduce((a, p) => a + p.length, 0);
    const completion_tokens = results.reduce((a, seqs) => a + seqs.reduce((b, s) => b + s.tokens.length, 0), 0);
    return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
  }

  private startSse(res: http.ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
  }
  private sse(res: http.ServerResponse, obj: object): void {
    res.write(`data: ${JSON.stringify(obj)}\n\n`);
  }
  private endSse(res: http.ServerResponse): void {
    res.end("data: [DONE]\n\n");
  }

  private sendJson(res: http.ServerResponse, status: number, obj: object): void {
    const data = JSON.stringify(obj);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(data) });
    res.end(data);
  }

  private sendError(res: http.ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`, "server_error", null, null);
    if (!(e instanceof ApiError)) this.opts.log?.(`openai-server: ${(e as Error)?.stack ?? String(e)}`);
    if (res.headersSent) {
      // mid-stream: report in-band and close
      try {
        res.end(`data: ${JSON.stringify({ error: { message: err.message, type: err.type, param: err.param, code: err.code } })}\n\ndata: [DONE]\n\n`);
      } catch {
        /* connection gone */
      }
      return;
    }
    this.sendJson(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code } });
  }
}

/** Convenience: build and start a server; resolves once it listens. */
export async function serveSampler(opts: OpenAIServerOptions & { port?: number; host?: string }): Promise<{ server: OpenAIServer; url: string }> {
  const server = new OpenAIServer(opts);
  const url = await server.listen(opts.port ?? 8000, opts.host ?? "127.0.0.1");
  return { server, url };
}
