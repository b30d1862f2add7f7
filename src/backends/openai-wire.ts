/**
 * The OpenAI-compatible API's wire protocol: request validation (sampling parameters, prompts, chat messages; every
 * failure an `ApiError` naming the offending `param`) and response shaping (visible tokens, log-probs, stream pieces,
 * usage). Routes and batching: openai-server.ts.
 */
import { ApiError } from "../core/errors.js";
import type { SampledSequence, TokenizerLike } from "../core/policy.js";
import type { ChatMessage } from "../core/generator.js";

export type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function num(
  body: Json,
  key: string,
  def: number | undefined,
  check: (x: number) => boolean,
  what: string,
): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v))
    throw new ApiError(400, "invalid_value", `'${key}' must be ${what}; got ${JSON.stringify(v)}`, { param: key });
  return v;
}

export function int(body: Json, key: string, def: number | undefined, lo: number, hi: number): number | undefined {
  return num(body, key, def, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer in [${lo}, ${hi}]`);
}

export function stops(body: Json): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const arr = typeof v === "string" ? [v] : v;
  if (!Array.isArray(arr) || arr.length > 4 || arr.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new ApiError(
      400,
      "invalid_value",
      "'stop' must be a non-empty string or an array of up to 4 non-empty strings",
      { param: "stop" },
    );
  }
  return arr as string[];
}

/** Common sampling parameters; `defMax` is the max_tokens default. */
export function samplingParams(
  body: Json,
  ctx: number,
  promptLen: number,
  defMax: number | null,
  maxKey = "max_tokens",
) {
  const room = ctx - promptLen;
  if (room < 1) {
    throw new ApiError(
      400,
      "context_length_exceeded",
      `This model's maximum context length is ${ctx} tokens; the prompt has ${promptLen} tokens.`,
      { param: "messages" },
    );
  }
  const maxTokens = int(body, maxKey, defMax ?? room, 0, 1_000_000)!;
  if (promptLen + maxTokens > ctx) {
    throw new ApiError(
      400,
      "context_length_exceeded",
      `This model's maximum context length is ${ctx} tokens. However, you requested ${promptLen + maxTokens} tokens (${promptLen} in the prompt, ${maxTokens} for the completion).`,
      { param: maxKey },
    );
  }
  const temperature = num(body, "temperature", 1, (x) => x >= 0 && x <= 2, "a number in [0, 2]")!;
  const topP = num(body, "top_p", 1, (x) => x > 0 && x <= 1, "a number in (0, 1]")!;
  const n = int(body, "n", 1, 1, 128)!;
  const seed = int(body, "seed", undefined, -(2 ** 53), 2 ** 53);
  for (const k of ["presence_penalty", "frequency_penalty"]) {
    const v = num(body, k, 0, (x) => x >= -2 && x <= 2, "a number in [-2, 2]");
    if (v !== 0)
      throw new ApiError(400, "unsupported_parameter", `'${k}' is not supported by this server (only 0)`, { param: k });
  }
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== n && body.best_of !== 1) {
    throw new ApiError(400, "unsupported_parameter", "'best_of' is not supported by this server", { param: "best_of" });
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean")
    throw new ApiError(400, "invalid_type", "'stream' must be a boolean", { param: "stream" });
  return {
    maxTokens,
    temperature,
    topP,
    n,
    seed,
    stop: stops(body),
    stream: body.stream === true,
    includeUsage: isObj(body.stream_options) && body.stream_options.include_usage === true,
  };
}

export function encodePrompt(tok: TokenizerLike, p: unknown, where: string): number[] {
  if (typeof p === "string") return [tok.bosId, ...tok.encode(p)];
  if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && t >= 0 && t < tok.vocabSize))
    return p as number[];
  throw new ApiError(
    400,
    "invalid_value",
    `${where} must be a string or a non-empty array of token ids below ${tok.vocabSize}`,
    { param: "prompt" },
  );
}

/** Validates and normalises `messages` ("developer" is read as "system"; text parts are joined). */
export function chatMessages(body: Json): ChatMessage[] {
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0)
    throw new ApiError(
      400,
      msgs === undefined ? "missing_required_parameter" : "invalid_value",
      "'messages' must be a non-empty array",
      { param: "messages" },
    );
  return msgs.map((m, i) => {
    if (!isObj(m))
      throw new ApiError(400, "invalid_type", `messages[${i}] must be an object`, { param: `messages[${i}]` });
    const role = m.role;
    if (role !== "system" && role !== "user" && role !== "assistant" && role !== "developer") {
      throw new ApiError(
        400,
        "invalid_value",
        `messages[${i}].role must be one of system, developer, user, assistant`,
        { param: `messages[${i}].role` },
      );
    }
    let content = m.content;
    if (Array.isArray(content)) {
      if (!content.every((p) => isObj(p) && p.type === "text" && typeof p.text === "string")) {
        throw new ApiError(400, "invalid_value", `messages[${i}].content: only text parts are supported`, {
          param: `messages[${i}].content`,
        });
      }
      content = content.map((p) => (p as Json).text as string).join("");
    }
    if (typeof content !== "string")
      throw new ApiError(400, "invalid_type", `messages[${i}].content must be a string`, {
        param: `messages[${i}].content`,
      });
    return { role: role === "developer" ? "system" : role, content };
  });
}

export function chatTokenLogprob(token: string, logprob: number, top: number | undefined) {
  const bytes = [...Buffer.from(token, "utf8")];
  return { token, logprob, bytes, top_logprobs: top ? [{ token, logprob, bytes }] : [] };
}

/**
 * The tokens that make up the returned text: the sampled tokens whose decoded prefix lies within `text`
 * (a stop string or the EOS token is not part of the text).
 */
export function visibleTokens(
  tok: TokenizerLike,
  s: SampledSequence,
): { tokenText: string; logprob: number; offset: number }[] {
  const out: { tokenText: string; logprob: number; offset: number }[] = [];
  let prev = "";
  for (let i = 0; i < s.tokens.length; i++) {
    if (prev.length >= s.text.length) break;
    const cur = tok.decode(s.tokens.slice(0, i + 1));
    out.push({
      tokenText: textInContext(tok, s.tokens[i]!, prev, cur),
      logprob: s.logprobs[i] ?? 0,
      offset: prev.length,
    });
    prev = cur;
  }
  return out;
}

/**
 * The text one token adds in context: `cur` (the decode up to and including it) minus `prev` (the decode before it)
 * when `cur` extends `prev`; otherwise (the token ends inside a UTF-8 character, or the decoder rewrote earlier text)
 * the token decoded alone. Decoding a token alone is not its text in general: a SentencePiece word-start token
 * "▁world" decodes alone to "world" (the decoder strips a sequence's leading space), but adds " world" after "hello".
 */
function textInContext(tok: TokenizerLike, id: number, prev: string, cur: string): string {
  return cur.startsWith(prev) ? cur.slice(prev.length) : tok.decode([id]);
}

/** Each token's text in context (see textInContext), for every token of `ids` (prompt logprobs). */
export function tokenTexts(tok: TokenizerLike, ids: readonly number[]): string[] {
  const out: string[] = [];
  let prev = "";
  for (let i = 0; i < ids.length; i++) {
    const cur = tok.decode(ids.slice(0, i + 1));
    out.push(textInContext(tok, ids[i]!, prev, cur));
    prev = cur;
  }
  return out;
}

/** Stream pieces: the text delta contributed by each visible token (an incomplete UTF-8 tail waits for the next token). */
export function pieces(
  tok: TokenizerLike,
  s: SampledSequence,
): { text: string; tokenText: string; logprob: number; offset: number }[] {
  const vis = visibleTokens(tok, s);
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

export function completionLogprobs(tok: TokenizerLike, s: SampledSequence) {
  const vis = visibleTokens(tok, s);
  return {
    tokens: vis.map((v) => v.tokenText),
    token_logprobs: vis.map((v) => v.logprob),
    top_logprobs: vis.map((v) => ({ [v.tokenText]: v.logprob })),
    text_offset: vis.map((v) => v.offset),
  };
}

export function usageOf(prompts: number[][], results: SampledSequence[][]) {
  const prompt_tokens = prompts.reduce((a, p) => a + p.length, 0);
  const completion_tokens = results.reduce((a, seqs) => a + seqs.reduce((b, s) => b + s.tokens.length, 0), 0);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

/**
 * vLLM's extensions to /v1/completions that keep token ids exact between stages: `return_tokens_as_token_ids`
 * (log-prob tokens as "token_id:N", and then EVERY sampled token, a final stop token included), `stop_token_ids`,
 * and `prompt_logprobs` (0 only: the log-prob of each prompt token itself; the first is null).
 */
export interface TokenExtensions {
  tokenIds: boolean;
  stopTokenIds: number[] | undefined;
  promptLogprobs: boolean;
}
export function tokenExtensions(body: Json, vocabSize: number): TokenExtensions {
  const t = body.return_tokens_as_token_ids;
  if (t !== undefined && t !== null && typeof t !== "boolean")
    throw new ApiError(400, "invalid_type", "'return_tokens_as_token_ids' must be a boolean", {
      param: "return_tokens_as_token_ids",
    });
  const ids = body.stop_token_ids;
  if (
    ids !== undefined &&
    ids !== null &&
    !(Array.isArray(ids) && ids.every((x) => Number.isInteger(x) && x >= 0 && x < vocabSize))
  ) {
    throw new ApiError(400, "invalid_value", `'stop_token_ids' must be an array of token ids below ${vocabSize}`, {
      param: "stop_token_ids",
    });
  }
  const pl = body.prompt_logprobs;
  if (pl !== undefined && pl !== null && pl !== 0) {
    throw new ApiError(
      400,
      "unsupported_parameter",
      "'prompt_logprobs' supports only 0 here (the prompt tokens' own log-probs, no top-k alternatives)",
      { param: "prompt_logprobs" },
    );
  }
  return {
    tokenIds: t === true,
    stopTokenIds: Array.isArray(ids) ? (ids as number[]) : undefined,
    promptLogprobs: pl === 0,
  };
}

/** Completion log-probs with token ids ("token_id:N") for every sampled token, as vLLM returns them. */
export function tokenIdLogprobs(tok: TokenizerLike, s: SampledSequence) {
  const tokens = s.tokens.map((id) => `token_id:${id}`);
  const offsets = s.tokens.map((_, i) => Math.min(tok.decode(s.tokens.slice(0, i)).length, s.text.length));
  return {
    tokens,
    token_logprobs: s.logprobs.slice(),
    top_logprobs: tokens.map((k, i) => ({ [k]: s.logprobs[i]! })),
    text_offset: offsets,
  };
}
