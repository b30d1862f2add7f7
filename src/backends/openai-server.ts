/**
 * An OpenAI-compatible HTTP server (node:http, no framework) in front of any `Sampler`.
 *
 *   GET  /v1/models
 *   POST /v1/completions        prompt (string | string[] | token ids | token-id arrays), max_tokens (default 16),
 *                               temperature (default 1), top_p, n, stop (string | up to 4 strings), seed,
 *                               logprobs (0-5), stream, stream_options.include_usage, echo (false only);
 *                               vLLM's return_tokens_as_token_ids, stop_token_ids, prompt_logprobs (0) (not streamed)
 *   POST /v1/chat/completions   messages, max_tokens | max_completion_tokens (default: the rest of the context),
 *                               temperature, top_p, n, stop, seed, logprobs (bool), top_logprobs (0-20), stream
 *
 * Batching: requests that arrive while the model is busy (or within `batchWindowMs` of each other) are
 * sampled together in ONE `sampler.sample([...])` call; requests are validated individually first so one
 * bad request cannot fail a batch.
 *
 * Chat: with `chat` (a model that carries a Jinja chat template: an HF folder / hub id's tokenizer_config.json, a GGUF's
 * tokenizer.chat_template; see model-ref.ts `samplerChatFor`) the messages are rendered by the model's own template
 * with `add_generation_prompt` (default true; vLLM's `add_generation_prompt` and `chat_template_kwargs` are accepted),
 * tokenized with its special tokens recognised and nothing added (the template writes BOS), and generation also
 * ends at the template's end-of-turn tokens (`chat.stopTokenIds`: EOS, <|im_end|>, <|eot_id|>, …). Without one (the
 * embedded model has no chat training) messages are rendered to a plain prompt with `renderChatPrompt`
 * (src/core/generator.ts: "### User:\n…\n\n### Assistant:\n") and "\n### " is added to the stop strings.
 * vLLM's `prompt_logprobs: 0` works on chat too (top level of the response), so a client can see the exact prompt ids.
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
import type http from "node:http";
import crypto from "node:crypto";
import { ApiError, UserError } from "../core/errors.js";
import type { Datum, SampledSequence, SampleRequest, Sampler } from "../core/policy.js";
import { CHAT_TURN_STOP, renderChatPrompt, type SamplerChat } from "../core/generator.js";
import { close, createServer, listen, readJsonBody, sendJson, toApiError } from "./http.js";
import {
  chatMessages,
  chatTokenLogprob,
  completionLogprobs,
  encodePrompt,
  int,
  pieces,
  samplingParams,
  tokenExtensions,
  tokenIdLogprobs,
  usageOf,
  tokenTexts,
  visibleTokens,
  type Json,
} from "./openai-wire.js";

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
  /**
   * The model's own chat template and end-of-turn token ids (model-ref.ts `samplerChatFor`); null/absent: plain
   * "### User:" turns (the embedded model).
   */
  chat?: SamplerChat | null;
  /** Called after each sampler call with the exact requests the sampler got (tests, metrics). */
  onBatch?: (info: { requests: number; sequences: number; sampled: readonly SampleRequest[] }) => void;
  log?: (line: string) => void;
}

interface Job {
  request: SampleRequest;
  resolve: (r: SampledSequence[]) => void;
  reject: (e: Error) => void;
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
    this.server = createServer(
      (req, res) => this.handle(req, res),
      (res, e) => this.sendError(res, e),
    );
  }

  /** Starts listening; resolves to the base URL (".../v1"). */
  async listen(port = 8000, host = "127.0.0.1"): Promise<string> {
    return `${await listen(this.server, port, host)}/v1`;
  }

  close(): Promise<void> {
    return close(this.server);
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
      this.opts.onBatch?.({ requests: batch.length, sequences: seqs, sampled: batch.map((j) => j.request) });
      batch.forEach((j, i) => j.resolve(out[i] ?? []));
    } catch (e) {
      for (const j of batch)
        j.reject(new ApiError(500, null, `sampling failed: ${(e as Error).message}`, { param: null }));
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  // ------------------------------------------------------------------------------------------ HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname.replace(/\/+$/, "");
    const routes: Record<string, string> = {
      "/v1/models": "GET",
      "/v1/completions": "POST",
      "/v1/chat/completions": "POST",
    };
    if (route.startsWith("/v1/models/") && req.method === "GET") {
      const id = decodeURIComponent(route.slice("/v1/models/".length));
      if (id !== this.modelName)
        throw new ApiError(404, "model_not_found", `The model '${id}' does not exist`, { param: "model" });
      return this.sendJson(res, 200, this.modelCard());
    }
    const method = routes[route];
    if (!method) throw new ApiError(404, "not_found", `Unknown route ${req.method} ${url.pathname}`, { param: null });
    if (req.method !== method)
      throw new ApiError(405, "method_not_allowed", `Method ${req.method} not allowed on ${route} (use ${method})`, {
        param: null,
      });
    if (route === "/v1/models") return this.sendJson(res, 200, { object: "list", data: [this.modelCard()] });
    const body = await this.readJson(req);
    const model = body.model;
    if (model !== undefined && model !== null && model !== this.modelName) {
      throw new ApiError(
        404,
        "model_not_found",
        `The model '${String(model)}' does not exist (this server serves '${this.modelName}')`,
        { param: "model" },
      );
    }
    if (route === "/v1/completions") return this.completions(body, res);
    return this.chat(body, res);
  }

  private modelCard(): Json {
    return {
      id: this.modelName,
      object: "model",
      created: this.created,
      owned_by: "batcoder",
      context_length: this.opts.sampler.info.contextLength,
    };
  }

  private async readJson(req: http.IncomingMessage): Promise<Json> {
    return (await readJsonBody(req, { limit: this.opts.maxBodyBytes ?? 4 * 1024 * 1024, requireObject: true })) as Json;
  }

  private async completions(body: Json, res: http.ServerResponse): Promise<void> {
    const raw = body.prompt;
    if (raw === undefined || raw === null)
      throw new ApiError(400, "missing_required_parameter", "you must provide a 'prompt'", { param: "prompt" });
    if (body.echo === true)
      throw new ApiError(400, "unsupported_parameter", "'echo' is not supported by this server", { param: "echo" });
    if (body.suffix !== undefined && body.suffix !== null)
      throw new ApiError(400, "unsupported_parameter", "'suffix' is not supported by this server", { param: "suffix" });
    const list: unknown[] =
      typeof raw === "string"
        ? [raw]
        : Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === "number")
          ? [raw]
          : Array.isArray(raw)
            ? raw
            : [raw];
    if (list.length === 0 || list.length > 256)
      throw new ApiError(400, "invalid_value", "'prompt' must hold 1 to 256 prompts", { param: "prompt" });
    const prompts = list.map((p, i) =>
      encodePrompt(this.opts.sampler.tokenizer, p, list.length > 1 ? `prompt[${i}]` : "prompt"),
    );
    const logprobs = int(body, "logprobs", undefined, 0, 5);
    const ps = prompts.map((p) => samplingParams(body, this.opts.sampler.info.contextLength, p.length, 16));
    const P = ps[0]!;
    const ext = tokenExtensions(body, this.opts.sampler.tokenizer.vocabSize);
    if (P.stream && (ext.tokenIds || ext.promptLogprobs))
      throw new ApiError(
        400,
        "unsupported_parameter",
        "'return_tokens_as_token_ids' and 'prompt_logprobs' are not supported with stream",
        { param: "stream" },
      );
    if (ext.promptLogprobs) this.requireScorer();
    const results = await Promise.all(
      prompts.map((prompt, i) =>
        this.enqueue({
          prompt,
          n: P.n,
          params: {
            maxTokens: ps[i]!.maxTokens,
            temperature: P.temperature,
            topP: P.topP,
            stop: P.stop.length ? P.stop : undefined,
            ...(ext.stopTokenIds ? { stopTokenIds: ext.stopTokenIds } : {}),
            seed: P.seed,
          },
        }),
      ),
    );
    // the prompt tokens' own log-probs ([null, lp(t1 | t0), …]), scored by the same model after the batch
    const promptLp = ext.promptLogprobs ? await this.promptLogprobs(prompts) : null;
    const id = `cmpl-${crypto.randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = usageOf(prompts, results);
    if (P.stream) {
      this.startSse(res);
      results.forEach((seqs, pi) =>
        seqs.forEach((s, si) => {
          const index = pi * P.n + si;
          for (const piece of pieces(this.opts.sampler.tokenizer, s)) {
            this.sse(res, {
              id,
              object: "text_completion",
              created,
              model: this.modelName,
              choices: [
                {
                  index,
                  text: piece.text,
                  logprobs:
                    logprobs !== undefined
                      ? {
                          tokens: [piece.tokenText],
                          token_logprobs: [piece.logprob],
                          top_logprobs: [{ [piece.tokenText]: piece.logprob }],
                          text_offset: [piece.offset],
                        }
                      : null,
                  finish_reason: null,
                },
              ],
            });
          }
          this.sse(res, {
            id,
            object: "text_completion",
            created,
            model: this.modelName,
            choices: [{ index, text: "", logprobs: null, finish_reason: s.finishReason }],
          });
        }),
      );
      if (P.includeUsage)
        this.sse(res, { id, object: "text_completion", created, model: this.modelName, choices: [], usage });
      return this.endSse(res);
    }
    const choices = results.flatMap((seqs, pi) =>
      seqs.map((s, si) => ({
        index: pi * P.n + si,
        text: s.text,
        logprobs:
          logprobs !== undefined
            ? ext.tokenIds
              ? tokenIdLogprobs(this.opts.sampler.tokenizer, s)
              : completionLogprobs(this.opts.sampler.tokenizer, s)
            : null,
        finish_reason: s.finishReason,
        ...(promptLp ? { prompt_logprobs: promptLp[pi] } : {}),
      })),
    );
    this.sendJson(res, 200, { id, object: "text_completion", created, model: this.modelName, choices, usage });
  }

  private async chat(body: Json, res: http.ServerResponse): Promise<void> {
    const messages = chatMessages(body);
    const tok = this.opts.sampler.tokenizer;
    const chat = this.opts.chat ?? null;
    const prompt = chat
      ? this.templatePrompt(chat, messages, body)
      : [tok.bosId, ...tok.encode(renderChatPrompt(messages))];
    const ext = tokenExtensions(body, tok.vocabSize);
    if (ext.tokenIds)
      throw new ApiError(
        400,
        "unsupported_parameter",
        "'return_tokens_as_token_ids' is supported on /v1/completions only",
        { param: "return_tokens_as_token_ids" },
      );
    const maxKey =
      body.max_completion_tokens !== undefined && body.max_completion_tokens !== null
        ? "max_completion_tokens"
        : "max_tokens";
    const P = samplingParams(body, this.opts.sampler.info.contextLength, prompt.length, null, maxKey);
    if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== "boolean")
      throw new ApiError(400, "invalid_type", "'logprobs' must be a boolean", { param: "logprobs" });
    const topLogprobs = int(body, "top_logprobs", undefined, 0, 20);
    if (topLogprobs !== undefined && body.logprobs !== true)
      throw new ApiError(400, "invalid_value", "'top_logprobs' requires 'logprobs': true", { param: "top_logprobs" });
    const wantLp = body.logprobs === true;
    if (ext.promptLogprobs) {
      if (P.stream)
        throw new ApiError(400, "unsupported_parameter", "'prompt_logprobs' is not supported with stream", {
          param: "stream",
        });
      this.requireScorer();
    }
    const stopTokenIds = [...new Set([...(chat?.stopTokenIds ?? []), ...(ext.stopTokenIds ?? [])])];
    const stop = chat ? P.stop : [...P.stop, CHAT_TURN_STOP];
    const seqs = await this.enqueue({
      prompt,
      n: P.n,
      params: {
        maxTokens: P.maxTokens,
        temperature: P.temperature,
        topP: P.topP,
        ...(stop.length ? { stop } : {}),
        ...(stopTokenIds.length ? { stopTokenIds } : {}),
        seed: P.seed,
      },
    });
    const promptLp = ext.promptLogprobs ? (await this.promptLogprobs([prompt]))[0]! : null;
    const id = `chatcmpl-${crypto.randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = usageOf([prompt], [seqs]);
    if (P.stream) {
      this.startSse(res);
      seqs.forEach((s, index) => {
        this.sse(res, {
          id,
          object: "chat.completion.chunk",
          created,
          model: this.modelName,
          choices: [{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
        });
        for (const piece of pieces(this.opts.sampler.tokenizer, s)) {
          const lp = wantLp ? { content: [chatTokenLogprob(piece.tokenText, piece.logprob, topLogprobs)] } : null;
          this.sse(res, {
            id,
            object: "chat.completion.chunk",
            created,
            model: this.modelName,
            choices: [{ index, delta: { content: piece.text }, logprobs: lp, finish_reason: null }],
          });
        }
        this.sse(res, {
          id,
          object: "chat.completion.chunk",
          created,
          model: this.modelName,
          choices: [{ index, delta: {}, logprobs: null, finish_reason: s.finishReason }],
        });
      });
      if (P.includeUsage)
        this.sse(res, { id, object: "chat.completion.chunk", created, model: this.modelName, choices: [], usage });
      return this.endSse(res);
    }
    const choices = seqs.map((s, index) => ({
      index,
      message: { role: "assistant", content: s.text },
      logprobs: wantLp
        ? {
            content: visibleTokens(this.opts.sampler.tokenizer, s).map((t) =>
              chatTokenLogprob(t.tokenText, t.logprob, topLogprobs),
            ),
          }
        : null,
      finish_reason: s.finishReason,
    }));
    this.sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model: this.modelName,
      choices,
      usage,
      ...(promptLp ? { prompt_logprobs: promptLp } : {}),
    });
  }

  /**
   * The conversation through the model's own chat template: rendered with add_generation_prompt (vLLM's
   * `add_generation_prompt`, default true) and `chat_template_kwargs` as extra variables, then tokenized with the
   * special tokens recognised and nothing added (the template writes BOS), as transformers' apply_chat_template.
   */
  private templatePrompt(chat: SamplerChat, messages: ReturnType<typeof chatMessages>, body: Json): number[] {
    const agp = body.add_generation_prompt;
    if (agp !== undefined && agp !== null && typeof agp !== "boolean")
      throw new ApiError(400, "invalid_type", "'add_generation_prompt' must be a boolean", {
        param: "add_generation_prompt",
      });
    const kw = body.chat_template_kwargs;
    if (kw !== undefined && kw !== null && (typeof kw !== "object" || Array.isArray(kw)))
      throw new ApiError(400, "invalid_type", "'chat_template_kwargs' must be an object", {
        param: "chat_template_kwargs",
      });
    let text: string;
    try {
      text = chat.template.render(messages, {
        addGenerationPrompt: agp !== false,
        ...(kw ? { variables: kw as Record<string, unknown> } : {}),
      });
    } catch (e) {
      if (e instanceof UserError) throw new ApiError(400, "invalid_value", e.message, { param: "messages" });
      throw e;
    }
    const ids = this.opts.sampler.tokenizer.encode(text);
    if (ids.length === 0)
      throw new ApiError(400, "invalid_value", "the chat template rendered an empty prompt", { param: "messages" });
    return ids;
  }

  private requireScorer(): void {
    const scorer = this.opts.sampler as Partial<{ computeLogprobs(d: Datum[]): Promise<number[][]> }>;
    if (typeof scorer.computeLogprobs !== "function")
      throw new ApiError(
        400,
        "unsupported_parameter",
        "'prompt_logprobs' needs a model that can score prompts; this sampler cannot",
        { param: "prompt_logprobs" },
      );
  }

  /** vLLM's prompt_logprobs (0): `[null, {"<id>": {logprob, decoded_token}}, …]` per prompt, scored by the model. */
  private async promptLogprobs(prompts: number[][]): Promise<Array<Array<Json | null>>> {
    const scorer = this.opts.sampler as unknown as { computeLogprobs(d: Datum[]): Promise<number[][]> };
    const tok = this.opts.sampler.tokenizer;
    return Promise.all(
      prompts.map(async (p) => {
        if (p.length < 2) return [null];
        const lp = (
          await scorer.computeLogprobs([
            {
              modelInput: p.slice(0, -1),
              lossInputs: { targetTokens: p.slice(1), weights: p.slice(1).map(() => 1) },
            },
          ])
        )[0]!;
        const texts = tokenTexts(tok, p);
        return [null, ...lp.map((x, i) => ({ [String(p[i + 1])]: { logprob: x, decoded_token: texts[i + 1]! } }))];
      }),
    );
  }

  private startSse(res: http.ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
  }
  private sse(res: http.ServerResponse, obj: object): void {
    res.write(`data: ${JSON.stringify(obj)}\n\n`);
  }
  private endSse(res: http.ServerResponse): void {
    res.end("data: [DONE]\n\n");
  }

  private sendJson(res: http.ServerResponse, status: number, obj: object): void {
    sendJson(res, status, obj);
  }

  private sendError(res: http.ServerResponse, e: unknown): void {
    const err = toApiError(e, null, (line) => this.opts.log?.(`openai-server: ${line}`), "internal error: ");
    const body = { error: { message: err.message, type: err.type, param: err.param ?? null, code: err.code } };
    if (res.headersSent) {
      // mid-stream: report in-band and close
      if (!res.writableEnded) res.end(`data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`);
      return;
    }
    this.sendJson(res, err.status, body);
  }
}

/** Convenience: build and start a server; resolves once it listens. */
export async function serveSampler(
  opts: OpenAIServerOptions & { port?: number; host?: string },
): Promise<{ server: OpenAIServer; url: string }> {
  const server = new OpenAIServer(opts);
  const url = await server.listen(opts.port ?? 8000, opts.host ?? "127.0.0.1");
  return { server, url };
}
