/**
 * The two task templates of the method, built from token ids so that special tokens can never be forged by
 * (or confused with) text inside code or documentation:
 *
 *   code→doc : <|bos|><|code2doc|><|lang:X|>{code}<|doc|>   → the model writes the documentation, then <|eos|>
 *   doc→code : <|bos|><|doc2code|><|lang:X|>{doc}<|code|>   → the model writes the code, then <|eos|>
 *
 * The doc→code prompt is built from the documentation ALONE. The only optional extra is a signature hint
 * (`signature_hint` in the config), placed after <|code|> as the start of the answer; it is then part of the
 * reconstruction and the run's config says so.
 *
 * Chat path (a pretrained instruct model with a chat template, `opts.chat`): the same two tasks as conversations
 * (`code2docMessages`, `doc2codeMessages`) rendered by the model's own template with the generation prompt. For
 * doc→code the assistant answer is opened with a code fence (and the signature hint, when configured), so the
 * model writes the code and closes the fence: generation stops at CHAT_CODE_STOP. Qwen3's thinking is switched off
 * (`enable_thinking: false`; other templates ignore the variable).
 */
import type { TokenizerLike } from "../core/policy.js";
import type { ChatMessage, ChatTemplate } from "../engine/chat-template.js";
import { SPECIAL_TOKENS, type SpecialToken } from "../engine/special.js";

export type Direction = "code2doc" | "doc2code";
export const DIRECTIONS: readonly Direction[] = ["code2doc", "doc2code"];

const LANG_TOKENS = new Set<string>(SPECIAL_TOKENS.filter((t) => t.startsWith("<|lang:")));

/** The language token for a language id (`<|lang:other|>` for languages without their own token). */
export function langToken(lang: string): SpecialToken {
  const t = `<|lang:${lang}|>`;
  return (LANG_TOKENS.has(t) ? t : "<|lang:other|>") as SpecialToken;
}

/**
 * Encodes plain text with special-token recognition OFF where the tokenizer supports it (BpeTokenizer's
 * `allowSpecial`), so code or documentation that contains e.g. "<|eos|>" stays text.
 */
export function encodePlain(tok: TokenizerLike, text: string): number[] {
  return (tok.encode as (t: string, o?: { allowSpecial?: boolean }) => number[]).call(tok, text, {
    allowSpecial: false,
  });
}

function sid(tok: TokenizerLike, s: SpecialToken): number {
  const id = tok.tokenId(s);
  if (id === undefined)
    throw new Error(
      `tokenizer has no special token ${s}; train it with the project's SPECIAL_TOKENS (src/engine/special.ts)`,
    );
  return id;
}

export { specialStopIds } from "../engine/special.js";

/** Human names of the languages for the chat instructions. */
const LANG_NAMES: Record<string, string> = {
  python: "Python",
  ruby: "Ruby",
  go: "Go",
  javascript: "JavaScript",
  typescript: "TypeScript",
  lua: "Lua",
};
const langName = (lang: string): string => LANG_NAMES[lang] ?? lang;
/** Template variables for every chat prompt: no hidden reasoning turn (Qwen3); ignored by other templates. */
const CHAT_VARIABLES = { enable_thinking: false } as const;
/** In the chat path, a doc→code answer ends where the model closes the opening code fence. */
export const CHAT_CODE_STOP = "```";

/** code→doc as a conversation: the code, and the request to document it in prose without repeating it. */
export function code2docMessages(code: string, lang: string): ChatMessage[] {
  return [
    {
      role: "user",
      content:
        `Write the documentation for this ${langName(lang)} function: what it does, its parameters, what it returns ` +
        `and the errors it raises. Write prose only; do not include code.\n\n` +
        "```" +
        `${lang}\n${code}\n` +
        "```",
    },
  ];
}

/** doc→code as a conversation: the documentation alone. */
export function doc2codeMessages(doc: string, lang: string): ChatMessage[] {
  return [
    {
      role: "user",
      content: `Implement the ${langName(lang)} function this documentation describes. Answer with the code only.\n\n${doc}`,
    },
  ];
}

/** The code of a chat-path doc→code answer: everything before the code fence that closes it. */
export function chatCodeAnswer(text: string): string {
  const end = text.indexOf(CHAT_CODE_STOP);
  return end < 0 ? text : text.slice(0, end).replace(/\n$/, "");
}

/** The opening of the chat-path doc→code answer: a code fence, then the signature hint when configured. */
function chatCodeOpening(lang: string, signature?: string | null): string {
  return "```" + `${lang}\n${signature ?? ""}`;
}

export interface PromptOptions {
  /** The model's chat template: build the prompt as a conversation rendered by it (pretrained instruct models). */
  chat?: ChatTemplate | null;
}

export function code2docPrompt(tok: TokenizerLike, code: string, lang: string, opts: PromptOptions = {}): number[] {
  if (opts.chat) return tok.encode(opts.chat.render(code2docMessages(code, lang), { variables: CHAT_VARIABLES }));
  return [
    sid(tok, "<|bos|>"),
    sid(tok, "<|code2doc|>"),
    sid(tok, langToken(lang)),
    ...encodePlain(tok, code),
    sid(tok, "<|doc|>"),
  ];
}

export interface Doc2CodeOptions extends PromptOptions {
  /** Signature hint: appended after <|code|> as the beginning of the answer. Only when configured. */
  signature?: string | null;
}

export function doc2codePrompt(tok: TokenizerLike, doc: string, lang: string, opts: Doc2CodeOptions = {}): number[] {
  if (opts.chat) {
    // the template's text (its special tokens recognised), then the answer's opening as plain text
    const head = tok.encode(opts.chat.render(doc2codeMessages(doc, lang), { variables: CHAT_VARIABLES }));
    return [...head, ...encodePlain(tok, chatCodeOpening(lang, opts.signature))];
  }
  const ids = [
    sid(tok, "<|bos|>"),
    sid(tok, "<|doc2code|>"),
    sid(tok, langToken(lang)),
    ...encodePlain(tok, doc),
    sid(tok, "<|code|>"),
  ];
  if (opts.signature) ids.push(...encodePlain(tok, opts.signature));
  return ids;
}

/** Human-readable rendering of a prompt (for samples.jsonl and the report). */
export function promptText(
  direction: Direction,
  input: string,
  lang: string,
  signature?: string | null,
  opts: PromptOptions = {},
): string {
  if (opts.chat) {
    return direction === "code2doc"
      ? opts.chat.render(code2docMessages(input, lang), { variables: CHAT_VARIABLES })
      : opts.chat.render(doc2codeMessages(input, lang), { variables: CHAT_VARIABLES }) +
          chatCodeOpening(lang, signature);
  }
  return direction === "code2doc"
    ? `<|bos|><|code2doc|>${langToken(lang)}${input}<|doc|>`
    : `<|bos|><|doc2code|>${langToken(lang)}${input}<|code|>${signature ?? ""}`;
}

/**
 * A supervised (prompt, completion) pair for SFT: completion = target text + <|eos|>. For doc→code with a
 * signature hint the signature is in the prompt, so the completion is only the rest of the code.
 */
export function sftPair(
  tok: TokenizerLike,
  direction: Direction,
  lang: string,
  code: string,
  doc: string,
  opts: Doc2CodeOptions = {},
): { prompt: number[]; completion: number[] } {
  if (direction === "code2doc")
    return { prompt: code2docPrompt(tok, code, lang, opts), completion: [...encodePlain(tok, doc), tok.eosId] };
  const sig = opts.signature && code.startsWith(opts.signature) ? opts.signature : null;
  const rest = sig ? code.slice(sig.length) : code;
  // chat path: the answer closes the code fence its prompt opened, then ends the turn
  const tail = opts.chat ? `\n${CHAT_CODE_STOP}` : "";
  return {
    prompt: doc2codePrompt(tok, doc, lang, { ...opts, signature: sig }),
    completion: [...encodePlain(tok, rest + tail), tok.eosId],
  };
}
