/**
 * The two BatCoder directions of any model reference, with the prompts the RL uses:
 *
 *   document(code, lang)            code → doc   (src/rl/prompts.ts code2docPrompt)
 *   implement(doc, lang, signature) doc → code   (doc2codePrompt: the documentation alone, optional signature)
 *
 * `openDirections(ref)` takes what batcoder accepts as a model: an embedded checkpoint, a run directory or its
 * checkpoints folder (core/runs.ts resolveWeights), a Hugging Face folder or hub id, a .gguf file
 * (backends/model-ref.ts), or an OpenAI-compatible URL (backends/openai-client.ts).
 *
 * Prompt formats:
 *   - "batcoder": the method's task templates. For an in-process model, token ids built by src/rl/prompts.ts
 *     (special tokens can never be forged by code text); generation stops on any special token. For a URL, the
 *     same template as text (`promptText`; a `batcoder serve` server maps the special-token strings to their
 *     ids, and adds <|bos|> itself), stopping at the special-token strings.
 *   - "chat": an instruction conversation (system: the documentation format; user: the code or the doc) for
 *     models without the task tokens (an instruct model behind vLLM / llama.cpp / Ollama, an HF folder). The
 *     answer's code fence, if any, is removed. An in-process model whose reference carries a chat template (HF folder,
 *     GGUF) renders the conversation with its own Jinja template and stops at its end-of-turn tokens; otherwise the
 *     plain-text turns of `renderChatPrompt` (core/generator.ts). `renderChat` overrides both.
 *   - "auto" (default): "batcoder" when the model's tokenizer has the task tokens, "chat" otherwise; a URL is
 *     taken to be "batcoder" (pass `format: "chat"` for an instruct server).
 */
import type { Sampler, SampleRequest } from "../core/policy.js";
import { SamplerGenerator, type ChatMessage, type SamplerChat, type TextGenerator } from "../core/generator.js";
import { UserError } from "../core/errors.js";
import type { LangId } from "../lang/index.js";
import { LANGUAGES } from "../lang/index.js";
import { DOC_FORMAT_SPEC } from "../similarity/index.js";
import { SPECIAL_TOKENS } from "../engine/special.js";
import { code2docPrompt, doc2codePrompt, promptText, specialStopIds } from "../rl/prompts.js";
import { extractCodeBlock } from "../eval/postprocess.js";
import { isUrl, loadCheckpointSampler, logToStderr } from "./models.js";

export type PromptFormat = "batcoder" | "chat";

export interface DirectionParams {
  /** Samples per input (default 1). */
  n?: number;
  /** 0 = greedy (default). */
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** Base seed: input i uses seed + i (reproducible sampling). */
  seed?: number;
}

export interface CodeInput {
  code: string;
  lang: LangId;
}
export interface DocInput {
  doc: string;
  lang: LangId;
  /** The function's head, given as the start of the answer (it is part of the returned code). */
  signature?: string | null;
}

export interface BatDirections {
  /** The model's name (for reports). */
  readonly name: string;
  readonly format: PromptFormat;
  /** What was loaded (one line). */
  readonly description: string;
  /** code → documentation: `n` texts per input, in input order. */
  document(items: readonly CodeInput[], params?: DirectionParams): Promise<string[][]>;
  /** documentation → code: `n` programs per input (the signature, when given, starts each). */
  implement(items: readonly DocInput[], params?: DirectionParams): Promise<string[][]>;
  close(): Promise<void>;
}

export interface OpenDirectionsOptions {
  format?: PromptFormat | "auto";
  /** Model id for a URL (default: the server's first model). */
  modelName?: string;
  /** Let a hub id be downloaded (never by default). */
  allowDownload?: boolean;
  log?: (line: string) => void;
  /** The chat-template seam (see the header). */
  renderChat?: (messages: readonly ChatMessage[]) => string;
  /** Sequences per sample call (in-process models). */
  batchSize?: number;
  timeoutMs?: number;
}

const DEFAULT_DOC_TOKENS = 256;
const DEFAULT_CODE_TOKENS = 512;

/** The instruction conversations of the "chat" format. */
export function chatMessagesFor(
  direction: "code2doc" | "doc2code",
  input: string,
  lang: LangId,
  signature?: string | null,
): ChatMessage[] {
  const name = LANGUAGES[lang].name;
  if (direction === "code2doc") {
    return [
      { role: "system", content: `You write documentation for functions.\n\n${DOC_FORMAT_SPEC}` },
      {
        role: "user",
        content: `Write the documentation of this ${name} function. Reply with the documentation text only.\n\n${input}`,
      },
    ];
  }
  const sig = signature ? `\n\nThe function starts with:\n${signature}` : "";
  return [
    { role: "system", content: `You write ${name} functions from their documentation.` },
    {
      role: "user",
      content: `Write the ${name} function this documentation describes. Reply with the code only.\n\n${input}${sig}`,
    },
  ];
}

/** A chat answer → code: the fenced block when there is one; the signature is prepended when missing. */
function codeFromChat(answer: string, lang: LangId, signature?: string | null): string {
  const code = answer.includes("```") ? extractCodeBlock(answer, lang) : answer.trim();
  return signature && !code.trimStart().startsWith(signature.trim()) ? `${signature}${code}` : code;
}

function docFromChat(answer: string): string {
  return answer.replace(/^```[a-z]*\n?|\n?```\s*$/g, "").trim();
}

class SamplerDirections implements BatDirections {
  constructor(
    private readonly sampler: Sampler,
    readonly name: string,
    readonly format: PromptFormat,
    readonly description: string,
    private readonly batch: number,
    private readonly renderChat?: (messages: readonly ChatMessage[]) => string,
    private readonly modelChat: SamplerChat | null = null,
  ) {}

  private async sampleIds(prompts: number[][], p: DirectionParams, maxTokens: number): Promise<string[][]> {
    const stop = specialStopIds(this.sampler.tokenizer);
    const ctx = this.sampler.info.contextLength;
    const out: string[][] = [];
    for (let i = 0; i < prompts.length; i += this.batch) {
      const reqs: SampleRequest[] = prompts.slice(i, i + this.batch).map((prompt, k) => {
        // keep the prompt inside the context window: the model's own head (bos + task tokens) is kept
        let ids = prompt;
        const room = Math.max(1, Math.min(maxTokens, ctx - 8));
        if (ids.length + room > ctx) ids = [...ids.slice(0, 3), ...ids.slice(ids.length - (ctx - room - 3))];
        return {
          prompt: ids,
          n: p.n ?? 1,
          params: {
            maxTokens: Math.max(1, Math.min(maxTokens, ctx - ids.length)),
            temperature: p.temperature ?? 0,
            topP: p.topP,
            stopTokenIds: stop,
            seed: (p.seed ?? 0) + i + k,
          },
        };
      });
      const res = await this.sampler.sample(reqs);
      for (const r of res) out.push(r.map((s) => s.text.trim()));
    }
    return out;
  }

  private async chat(msgs: ChatMessage[][], p: DirectionParams, maxTokens: number): Promise<string[][]> {
    const gen = new SamplerGenerator(this.sampler, this.name, this.renderChat ? null : this.modelChat);
    const inputs = this.renderChat ? msgs.map((m) => this.renderChat!(m)) : msgs.map((messages) => ({ messages }));
    const res = await gen.generate(inputs, {
      n: p.n ?? 1,
      maxTokens,
      temperature: p.temperature ?? 0,
      topP: p.topP,
      seed: p.seed,
    });
    return res.map((r) => r.map((g) => g.text));
  }

  async document(items: readonly CodeInput[], p: DirectionParams = {}): Promise<string[][]> {
    const max = p.maxTokens ?? DEFAULT_DOC_TOKENS;
    if (this.format === "chat")
      return (
        await this.chat(
          items.map((it) => chatMessagesFor("code2doc", it.code, it.lang)),
          p,
          max,
        )
      ).map((r) => r.map(docFromChat));
    const tok = this.sampler.tokenizer;
    return this.sampleIds(
      items.map((it) => code2docPrompt(tok, it.code, it.lang)),
      p,
      max,
    );
  }

  async implement(items: readonly DocInput[], p: DirectionParams = {}): Promise<string[][]> {
    const max = p.maxTokens ?? DEFAULT_CODE_TOKENS;
    if (this.format === "chat") {
      const res = await this.chat(
        items.map((it) => chatMessagesFor("doc2code", it.doc, it.lang, it.signature)),
        p,
        max,
      );
      return res.map((r, i) => r.map((a) => codeFromChat(a, items[i]!.lang, items[i]!.signature)));
    }
    const tok = this.sampler.tokenizer;
    const res = await this.sampleIds(
      items.map((it) => doc2codePrompt(tok, it.doc, it.lang, { signature: it.signature ?? null })),
      p,
      max,
    );
    return res.map((r, i) => r.map((c) => (items[i]!.signature ?? "") + c));
  }

  async close(): Promise<void> {}
}

/**
 * Stop strings for the batcoder format over HTTP (OpenAI allows at most 4): the end of text and the markers a
 * model that lost track would start a new task with. `batcoder serve` also stops on <|eos|> as a token.
 */
const URL_STOPS: string[] = ["<|eos|>", "<|bos|>", "<|code|>", "<|doc|>"].filter((t) =>
  (SPECIAL_TOKENS as readonly string[]).includes(t),
);

class GeneratorDirections implements BatDirections {
  constructor(
    private readonly gen: TextGenerator,
    readonly format: PromptFormat,
    readonly description: string,
  ) {}
  get name(): string {
    return this.gen.name;
  }

  private async run(
    inputs: (string | { messages: ChatMessage[] })[],
    p: DirectionParams,
    maxTokens: number,
  ): Promise<string[][]> {
    const res = await this.gen.generate(inputs, {
      n: p.n ?? 1,
      maxTokens,
      temperature: p.temperature ?? 0,
      topP: p.topP,
      seed: p.seed,
      ...(this.format === "batcoder" ? { stop: URL_STOPS } : {}),
    });
    return res.map((r) => r.map((g) => g.text));
  }

  async document(items: readonly CodeInput[], p: DirectionParams = {}): Promise<string[][]> {
    const max = p.maxTokens ?? DEFAULT_DOC_TOKENS;
    if (this.format === "chat")
      return (
        await this.run(
          items.map((it) => ({ messages: chatMessagesFor("code2doc", it.code, it.lang) })),
          p,
          max,
        )
      ).map((r) => r.map(docFromChat));
    const res = await this.run(
      items.map((it) => promptText("code2doc", it.code, it.lang).slice("<|bos|>".length)),
      p,
      max,
    );
    return res.map((r) => r.map((t) => t.trim()));
  }

  async implement(items: readonly DocInput[], p: DirectionParams = {}): Promise<string[][]> {
    const max = p.maxTokens ?? DEFAULT_CODE_TOKENS;
    if (this.format === "chat") {
      const res = await this.run(
        items.map((it) => ({ messages: chatMessagesFor("doc2code", it.doc, it.lang, it.signature) })),
        p,
        max,
      );
      return res.map((r, i) => r.map((a) => codeFromChat(a, items[i]!.lang, items[i]!.signature)));
    }
    const res = await this.run(
      items.map((it) => promptText("doc2code", it.doc, it.lang, it.signature ?? null).slice("<|bos|>".length)),
      p,
      max,
    );
    return res.map((r, i) => r.map((c) => ((items[i]!.signature ?? "") + c).trimEnd()));
  }

  async close(): Promise<void> {
    await this.gen.close?.();
  }
}

/** Opens both directions of a model reference (see the header). Says which weights it picked through `log`. */
export async function openDirections(ref: string, opts: OpenDirectionsOptions = {}): Promise<BatDirections> {
  const log = opts.log ?? logToStderr;
  const want = opts.format ?? "auto";
  if (isUrl(ref)) {
    const { OpenAIClient } = await import("../backends/openai-client.js");
    const c = new OpenAIClient({ baseUrl: ref, model: opts.modelName, timeoutMs: opts.timeoutMs });
    await c.init();
    const format: PromptFormat = want === "chat" ? "chat" : "batcoder";
    log(`using model ${c.name} at ${ref} (${format} prompts)`);
    return new GeneratorDirections(c, format, `${c.name} at ${ref}`);
  }
  const { sampler, dir, chat } = await loadCheckpointSampler(ref, log, { allowDownload: opts.allowDownload ?? false });
  const hasTaskTokens =
    sampler.tokenizer.tokenId("<|code2doc|>") !== undefined && sampler.tokenizer.tokenId("<|doc2code|>") !== undefined;
  if (want === "batcoder" && !hasTaskTokens) {
    throw new UserError(
      `model ${ref}: its tokenizer has no <|code2doc|>/<|doc2code|> tokens, so the batcoder prompt format cannot be used; use --prompt-format chat`,
    );
  }
  const format: PromptFormat = want === "auto" ? (hasTaskTokens ? "batcoder" : "chat") : want;
  return new SamplerDirections(
    sampler,
    sampler.info.modelName,
    format,
    dir,
    opts.batchSize ?? 16,
    opts.renderChat,
    chat,
  );
}
