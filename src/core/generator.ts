/**
 * The text-level generator interface evaluation talks to, and its adapter for any `Sampler` (the embedded
 * model). The OpenAI-compatible HTTP adapter lives in src/backends/openai-client.ts.
 */
import type { Sampler, SamplingParams } from "../core/policy.js";

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

/** Adapter: any Sampler (tokenizer + sample) as a TextGenerator. */
export class SamplerGenerator implements TextGenerator {
  readonly supportsChat = true;
  constructor(
    private readonly sampler: Sampler,
    readonly name: string = sampler.info.modelName,
  ) {}

  async generate(inputs: GenerationInput[], params: GenerationParams): Promise<Generation[][]> {
    const tok = this.sampler.tokenizer;
    const ctx = this.sampler.info.contextLength;
    const requests = inputs.map((inp) => {
      const isChat = typeof inp !== "string";
      const text = isChat ? renderChatPrompt(inp.messages) : inp;
      let ids = [tok.bosId, ...tok.encode(text)];
      const room = Math.max(1, Math.min(params.maxTokens, ctx - 1));
      // Keep the end of an over-long prompt (the part next to the completion), leaving room to generate.
      if (ids.length + room > ctx) ids = [tok.bosId, ...ids.slice(ids.length - (ctx - room - 1))];
      const sp: SamplingParams = {
        maxTokens: Math.min(params.maxTokens, Math.max(1, ctx - ids.length)),
        temperature: params.temperature,
        topP: params.topP,
        stop: [...(params.stop ?? []), ...(isChat ? [CHAT_TURN_STOP] : [])],
        seed: params.seed,
      };
      return { prompt: ids, n: params.n, params: sp };
    });
    const out = await this.sampler.sample(requests);
    return out.map((seqs) => seqs.map((s) => ({ text: s.text, finishReason: s.finishReason })));
  }
}
