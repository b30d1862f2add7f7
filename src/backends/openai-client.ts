/**
 * OpenAI-compatible HTTP client as a `TextGenerator` (src/core/generator.ts): vLLM, llama.cpp server,
 * Ollama, `batcoder serve`, or OpenAI itself.
 *
 * - A string input goes to POST {base}/completions; `{messages}` goes to POST {base}/chat/completions.
 * - At most `concurrency` requests in flight; each with a timeout; retried with exponential backoff plus
 *   jitter on network errors, timeouts, 408/409/429 and 5xx (a Retry-After header is honoured); other 4xx
 *   fail at once with the server's message.
 * - On-disk generation cache (`cacheDir`): one JSONL file per model, a line per generation keyed by
 *   sha256(model, endpoint, prompt or messages, sampling params, sample index). Lines are appended as each
 *   response arrives, so an interrupted evaluation resumes without asking again; a torn last line is ignored.
 * - n samples: asked as one request with `n` = the number still missing; if a server returns fewer choices
 *   (some ignore `n`), the rest are asked again.
 */
import { UserError } from "../core/errors.js";
import { GenerationCache, generationKey } from "../core/generation-cache.js";
import type { ChatMessage, Generation, GenerationInput, GenerationParams, TextGenerator } from "../core/generator.js";

export interface OpenAIClientOptions {
  /** e.g. "http://127.0.0.1:8000/v1" (a URL without a /v1 suffix gets one). */
  baseUrl: string;
  /** Model id; when omitted the first one from GET /models is used. */
  model?: string;
  apiKey?: string;
  /** Parallel requests (default 4). */
  concurrency?: number;
  /** Per-request timeout (default 300 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 4). */
  retries?: number;
  /** First backoff delay (default 500 ms; doubles each retry, with ±50% jitter, capped at 30 s). */
  backoffMs?: number;
  /** Directory for the generation cache; no caching when omitted. */
  cacheDir?: string;
  /** Whether the server has /chat/completions (default true). */
  supportsChat?: boolean;
  /** Extra fields merged into every request body (e.g. {top_k: 20} for vLLM). */
  extraBody?: Record<string, unknown>;
  /** Injected fetch (tests); default globalThis.fetch. */
  fetch?: typeof fetch;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class OpenAIClient implements TextGenerator {
  readonly baseUrl: string;
  readonly supportsChat: boolean;
  private model: string | undefined;
  private cache: GenerationCache | undefined;
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly fetchImpl: typeof fetch;
  /** Counters (tests, progress): HTTP requests sent, generations served from cache, retries done. */
  readonly stats = { requests: 0, cacheHits: 0, retries: 0 };

  constructor(private readonly opts: OpenAIClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch {
      throw new UserError(`not a valid URL: ${opts.baseUrl}`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:")
      throw new UserError(`the model URL must be http(s): ${opts.baseUrl}`);
    let p = base.pathname.replace(/\/+$/, "");
    if (!/\/v\d+$/.test(p)) p += "/v1";
    this.baseUrl = `${base.origin}${p}`;
    this.model = opts.model;
    this.supportsChat = opts.supportsChat ?? true;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
  }

  get name(): string {
    return this.model ?? "unknown";
  }

  /** Resolves the model id (GET /models when none was given) and loads the cache. */
  async init(): Promise<void> {
    if (!this.model) {
      const r = (await this.request("GET", "/models")) as { data?: { id?: string }[] };
      const id = r.data?.[0]?.id;
      if (!id) throw new UserError(`${this.baseUrl}/models lists no model; pass --model-name`);
      this.model = id;
    }
    if (this.opts.cacheDir && !this.cache)
      this.cache = new GenerationCache(GenerationCache.fileFor(this.opts.cacheDir, this.model));
  }

  async generate(inputs: GenerationInput[], params: GenerationParams): Promise<Generation[][]> {
    await this.init();
    return Promise.all(inputs.map((inp) => this.generateOne(inp, params)));
  }

  private async generateOne(input: GenerationInput, params: GenerationParams): Promise<Generation[]> {
    const keys = Array.from({ length: params.n }, (_, i) => generationKey(this.model!, input, params, i));
    const out: (Generation | undefined)[] = keys.map((k) => this.cache?.get(k));
    this.stats.cacheHits += out.filter(Boolean).length;
    for (let guard = 0; guard < params.n + 2; guard++) {
      const missing = out.map((g, i) => (g ? -1 : i)).filter((i) => i >= 0);
      if (missing.length === 0) break;
      const gens = await this.withSlot(() => this.call(input, params, missing.length, missing[0]!));
      if (gens.length === 0) throw new Error(`${this.baseUrl}: the server returned no choices`);
      gens.slice(0, missing.length).forEach((g, j) => {
        const idx = missing[j]!;
        out[idx] = g;
        this.cache?.put(keys[idx]!, g);
      });
    }
    if (out.some((g) => !g)) throw new Error(`${this.baseUrl}: could not obtain ${params.n} samples`);
    return out as Generation[];
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    const max = Math.max(1, this.opts.concurrency ?? 4);
    if (this.active >= max) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }

  private async call(
    input: GenerationInput,
    params: GenerationParams,
    n: number,
    firstIndex: number,
  ): Promise<Generation[]> {
    const chat = typeof input !== "string";
    const body: Record<string, unknown> = {
      model: this.model,
      max_tokens: params.maxTokens,
      temperature: params.temperature,
      n,
      ...(params.topP !== undefined ? { top_p: params.topP } : {}),
      ...(params.stop?.length ? { stop: params.stop.slice(0, 4) } : {}),
      // distinct seeds per sample index keep seeded sampling reproducible when samples are asked separately
      ...(params.seed !== undefined ? { seed: params.seed + firstIndex } : {}),
      ...(this.opts.extraBody ?? {}),
    };
    if (chat) body.messages = (input as { messages: ChatMessage[] }).messages;
    else body.prompt = input;
    const r = (await this.request("POST", chat ? "/chat/completions" : "/completions", body)) as {
      choices?: {
        index?: number;
        text?: string;
        message?: { content?: string | null };
        finish_reason?: string | null;
      }[];
    };
    if (!Array.isArray(r.choices)) throw new Error(`${this.baseUrl}: response without 'choices'`);
    const choices = [...r.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return choices.map((c) => {
      let text = (chat ? c.message?.content : c.text) ?? "";
      // Servers that ignore more than 4 stop strings: apply the full list here too.
      if (params.stop && params.stop.length > 4) {
        let cut = text.length;
        for (const s of params.stop) {
          const i = text.indexOf(s);
          if (i >= 0 && i < cut) cut = i;
        }
        text = text.slice(0, cut);
      }
      return { text, finishReason: c.finish_reason ?? "stop" };
    });
  }

  /** One HTTP exchange with retries (also used by OpenAISampler); a non-retryable HTTP error throws a UserError. */
  async request(method: "GET" | "POST", route: string, body?: unknown): Promise<unknown> {
    const retries = this.opts.retries ?? 4;
    const base = this.opts.backoffMs ?? 500;
    let last: Error | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        const ra = last instanceof HttpError ? last.retryAfterMs : undefined;
        const delay = ra ?? Math.min(30_000, base * 2 ** (attempt - 1)) * (0.5 + Math.random());
        await new Promise((r) => setTimeout(r, delay));
      }
      try {
        return await this.once(method, route, body);
      } catch (e) {
        last = e as Error;
        if (e instanceof HttpError && !e.retryable) throw new UserError(e.message);
      }
    }
    throw new UserError(`${method} ${this.baseUrl}${route} failed after ${retries + 1} attempts: ${last?.message}`);
  }

  private async once(method: string, route: string, body?: unknown): Promise<unknown> {
    this.stats.requests++;
    const ctl = new AbortController();
    const timeoutMs = this.opts.timeoutMs ?? 300_000;
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      const headers: Record<string, string> = { accept: "application/json" };
      if (body !== undefined) headers["content-type"] = "application/json";
      const key = this.opts.apiKey ?? process.env.OPENAI_API_KEY;
      if (key) headers.authorization = `Bearer ${key}`;
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.baseUrl}${route}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: ctl.signal,
        });
      } catch (e) {
        const msg = ctl.signal.aborted
          ? `timed out after ${timeoutMs} ms`
          : ((e as Error & { cause?: Error }).cause?.message ?? (e as Error).message);
        throw new HttpError(0, `${method} ${this.baseUrl}${route}: ${msg}`, true);
      }
      const text = await res.text();
      if (!res.ok) {
        let detail = text.slice(0, 500);
        try {
          const j = JSON.parse(text) as { error?: { message?: string } | string };
          detail = typeof j.error === "string" ? j.error : (j.error?.message ?? detail);
        } catch {
          /* not JSON */
        }
        const retryable = res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500;
        const ra = Number(res.headers.get("retry-after"));
        throw new HttpError(
          res.status,
          `${method} ${this.baseUrl}${route}: HTTP ${res.status}: ${detail}`,
          retryable,
          Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 60_000) : undefined,
        );
      }
      try {
        return JSON.parse(text);
      } catch {
        throw new HttpError(res.status, `${method} ${this.baseUrl}${route}: response is not JSON`, true);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
