/**
 * The text-level generator interface evaluation talks to, and its adapter for any `Sampler` (the embedded
 * model). The OpenAI-compatible HTTP adapter lives in src/backends/openai-client.ts.
 */
import type { Sampler, SamplingParams } from "./policy.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A plain prompt (completion models) or a conversation (chat models). */
export type GenerationInput = string | { messages: ChatMessage[] };

export interface GenerationParams {
  /** Samples per input. */
  n: number;
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP?: number;
  stop?: string[];
  seed?: number;
}

export interface Generation {
  text: string;
  finishReason: "stop" | "length" | string;
}

export interface TextGenerator {
  /** Identifies the model (for results files and caches). */
  readonly name: string;
  /** Whether the backend has a chat endpoint (instruct format) — completion format always works. */
  readonly supportsChat: boolean;
  /** One array of n generations per input, in input order. */
  generate(inputs: GenerationInput[], params: GenerationParams): Promise<Generation[][]>;
  /**
   * The exact text the model is given for an input (a conversation rendered through its chat template), when the
   * generator renders prompts itself; absent (or undefined) for a server that renders them (an OpenAI endpoint).
   */
  renderPrompt?(input: GenerationInput): string | undefined;
  close?(): Promise<void>;
}

/**
 * Plain-text rendering of a conversation for a model without chat training (the embedded model):
 *
 *   ### System:\n{content}\n\n### User:\n{content}\n\n### Assistant:\n{content}\n\n ... ### Assistant:\n
 *
 * Each message is a "### Role:" header line, the content, and a blank line; the prompt ends with an open
 * "### Assistant:" header. Generation stops at "\n### " (a new turn) in addition to the caller's stops.
 */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  const title = { system: "System", user: "User", assistant: "Assistant" } as const;
  let out = "";
  for (const m of messages) out += `### ${title[m.role]}:\n${m.content}\n\n`;
  return out + "### Assistant:\n";
}
export const CHAT_TURN_STOP = "\n### ";

/** A model's chat template as the generator needs it (src/engine/chat-template.ts's `ChatTemplate` is one). */
export interface ChatRenderer {
  render(
    messages: readonly ChatMessage[],
    opts?: { addGenerationPrompt?: boolean; variables?: Record<string, unknown> },
  ): string;
}

/** The chat path of a SamplerGenerator: the model's template and the token ids that end its turn. */
export interface SamplerChat {
  template: ChatRenderer;
  /** e.g. specialStopIds(tokenizer) from src/engine/special.ts (<|im_end|>, <|eot_id|>, which need not be EOS). */
  stopTokenIds: number[];
}

/**
 * Adapter: any Sampler (tokenizer + sample) as a TextGenerator. Conversations (the instruct format) go through the
 * model's own chat template when it has one (`chat`: rendered with the generation prompt and thinking off, its
 * special tokens recognised, no extra BOS — the template writes it, generation ends at its end-of-turn tokens);
 * otherwise through renderChatPrompt's plain-text turns.
 */
export class SamplerGenerator implements TextGenerator {
  readonly supportsChat = true;
  constructor(
    private readonly sampler: Sampler,
    readonly name: string = sampler.info.modelName,
    private readonly chat: SamplerChat | null = null,
  ) {}

  /** Whether conversations go through the model's own chat template (else through renderChatPrompt). */
  get hasChatTemplate(): boolean {
    return this.chat !== null;
  }

  /** The prompt text of an input: as given, the model's chat template with the generation prompt, or plain turns. */
  renderPrompt(inp: GenerationInput): string {
    if (typeof inp === "string") return inp;
    return this.chat
      ? this.chat.template.render(inp.messages, { variables: { enable_thinking: false } })
      : renderChatPrompt(inp.messages);
  }

  async generate(inputs: GenerationInput[], params: GenerationParams): Promise<Generation[][]> {
    const tok = this.sampler.tokenizer;
    const ctx = this.sampler.info.contextLength;
    const requests = inputs.map((inp) => {
      const isChat = typeof inp !== "string";
      const chat = isChat ? this.chat : null;
      const templated = chat !== null;
      // the template writes its own BOS (if the model uses one); plain prompts get the tokenizer's
      const lead = templated || tok.bosId < 0 ? [] : [tok.bosId];
      const text = this.renderPrompt(inp);
      let ids = [...lead, ...tok.encode(text)];
      const room = Math.max(1, Math.min(params.maxTokens, ctx - 1));
      // Keep the end of an over-long prompt (the part next to the completion), leaving room to generate.
      if (ids.length + room > ctx) ids = [...lead, ...ids.slice(ids.length - (ctx - room - lead.length))];
      const sp: SamplingParams = {
        maxTokens: Math.min(params.maxTokens, Math.max(1, ctx - ids.length)),
        temperature: params.temperature,
        topP: params.topP,
        stop: [...(params.stop ?? []), ...(isChat && !templated ? [CHAT_TURN_STOP] : [])],
        ...(chat ? { stopTokenIds: chat.stopTokenIds } : {}),
        seed: params.seed,
      };
      return { prompt: ids, n: params.n, params: sp };
    });
    const out = await this.sampler.sample(requests);
    return out.map((seqs) => seqs.map((s) => ({ text: s.text, finishReason: s.finishReason })));
  }
}
