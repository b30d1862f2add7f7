/**
 * Chat templates: a model's `tokenizer_config.json` `chat_template` (Jinja) rendered with @huggingface/jinja the way
 * transformers' `apply_chat_template(messages, add_generation_prompt=True, tokenize=False)` renders it: the
 * special-token strings of the config (bos_token, eos_token, pad_token, unk_token, additional_special_tokens) and
 * `add_generation_prompt` are template variables; @huggingface/jinja itself provides `raise_exception` and
 * `strftime_now` and trims blocks (trim_blocks / lstrip_blocks) as transformers does. The rendered text is then tokenized with special tokens recognised and
 * nothing added (transformers passes add_special_tokens=False).
 */
import { Template } from "@huggingface/jinja";
import { UserError } from "../core/errors.js";
import type { BpeTokenizer } from "./tokenizer.js";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RenderOptions {
  /** Append the assistant turn's header (default true: the model is asked to answer). */
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. Qwen3's `enable_thinking: false`). */
  variables?: Record<string, unknown>;
}

type TokenField = string | { content?: unknown } | null | undefined;

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object with `content`. */
function tokenString(v: TokenField): string | null {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof v.content === "string") return v.content;
  return null;
}

/** The config fields a chat template reads, from a parsed tokenizer_config.json. */
export interface TokenizerConfig {
  chatTemplate: string | null;
  bosToken: string | null;
  eosToken: string | null;
  padToken: string | null;
  unkToken: string | null;
  additionalSpecialTokens: string[];
}

/** Reads tokenizer_config.json's object (already parsed). `chat_template` may be a string or a list of named ones. */
export function parseTokenizerConfig(obj: unknown): TokenizerConfig {
  if (!obj || typeof obj !== "object" || Array.isArray(obj))
    throw new UserError("tokenizer_config.json: expected a JSON object");
  const o = obj as Record<string, unknown>;
  let chatTemplate: string | null = null;
  const ct = o.chat_template;
  if (typeof ct === "string") chatTemplate = ct;
  else if (Array.isArray(ct)) {
    const named = ct as Array<{ name?: unknown; template?: unknown }>;
    const def = named.find((t) => t && t.name === "default") ?? named[0];
    if (def && typeof def.template === "string") chatTemplate = def.template;
  } else if (ct !== undefined && ct !== null) {
    throw new UserError("tokenizer_config.json: chat_template must be a string or a list of {name, template}");
  }
  const extra = Array.isArray(o.additional_special_tokens)
    ? (o.additional_special_tokens as TokenField[]).map(tokenString).filter((s): s is string => s !== null)
    : [];
  return {
    chatTemplate,
    bosToken: tokenString(o.bos_token as TokenField),
    eosToken: tokenString(o.eos_token as TokenField),
    padToken: tokenString(o.pad_token as TokenField),
    unkToken: tokenString(o.unk_token as TokenField),
    additionalSpecialTokens: extra,
  };
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly config: TokenizerConfig,
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new UserError(`chat template does not parse: ${(e as Error).message}`);
    }
  }

  /** The config's chat template, or null when it has none. */
  static fromConfig(config: TokenizerConfig): ChatTemplate | null {
    return config.chatTemplate === null ? null : new ChatTemplate(config.chatTemplate, config);
  }

  /** The rendered prompt text. */
  render(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    if (messages.length === 0) throw new UserError("chat template: no messages to render");
    const c = this.config;
    const vars: Record<string, unknown> = {
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: c.bosToken ?? "",
      eos_token: c.eosToken ?? "",
      pad_token: c.padToken ?? "",
      unk_token: c.unkToken ?? "",
      additional_special_tokens: c.additionalSpecialTokens,
      ...opts.variables,
    };
    // transformers leaves a special token variable undefined when the config has none; mirror that
    for (const [k, v] of [
      ["bos_token", c.bosToken],
      ["eos_token", c.eosToken],
      ["pad_token", c.padToken],
      ["unk_token", c.unkToken],
    ] as const) {
      if (v === null && !(opts.variables && k in opts.variables)) delete vars[k];
    }
    try {
      return this.template.render(vars);
    } catch (e) {
      throw new UserError(`chat template failed to render: ${(e as Error).message}`);
    }
  }

  /** Rendered and tokenized as transformers does (special tokens recognised, none added). */
  encode(tokenizer: BpeTokenizer, messages: readonly ChatMessage[], opts: RenderOptions = {}): number[] {
    return tokenizer.encode(this.render(messages, opts), { allowSpecial: true, addSpecialTokens: false });
  }
}

/**
 * The chat template for instruct mode, or a UserError saying the model has none (base models ship no template;
 * use the completion format for them, or a model with a tokenizer_config.json chat_template).
 */
export function requireChatTemplate(t: ChatTemplate | null, model: string): ChatTemplate {
  if (!t) {
    throw new UserError(
      `${model}: the tokenizer has no chat template (tokenizer_config.json "chat_template"), so instruct mode cannot build ` +
        "prompts. Use an instruct/chat model's folder, or the completion prompt format.",
    );
  }
  return t;
}
