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
 */
import type { TokenizerLike } from "../core/policy.js";
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
  return (tok.encode as (t: string, o?: { allowSpecial?: boolean }) => number[]).call(tok, text, { allowSpecial: false });
}

function sid(tok: TokenizerLike, s: SpecialToken): number {
  const id = tok.tokenId(s);
  if (id === undefined) throw new Error(`tokenizer has no special token ${s}; train it with the project's SPECIAL_TOKENS (src/engine/special.ts)`);
  return id;
}

/** Token ids of every special token the tokenizer knows: generation stops on any of them. */
export function specialStopIds(tok: TokenizerLike): number[] {
  const ids = new Set<number>([tok.eosId]);
  for (const s of SPECIAL_TOKENS) {
    if (s === "<|pad|>") continue;
    const id = tok.tokenId(s);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

export function code2docPrompt(tok: TokenizerLike, code: string, lang: string): number[] {
  return [sid(tok, "<|bos|>"), sid(tok, "<|code2doc|>"), sid(tok, langToken(lang)), ...encodePlain(tok, code), sid(tok, "<|doc|>")];
}

export interface Doc2CodeOptions {
  /** Signature hint: appended after <|code|> as the beginning of the answer. Only when configured. */
  signature?: string | null;
}

export function doc2codePrompt(tok: TokenizerLike, doc: string, lang: string, opts: Doc2CodeOptions = {}): number[] {
  const ids = [sid(tok, "<|bos|>"), sid(tok, "<|doc2code|>"), sid(tok, langToken(lang)), ...encodePlain(tok, doc), sid(tok, "<|code|>")];
  if (opts.signature) ids.push(...encodePlain(tok, opts.signature));
  return ids;
}

/** Human-readable rendering of a prompt (for samples.jsonl and the report). */
export function promptText(direction: Direction, input: string, lang: string, signature?: string | null): string {
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
  if (direction === "code2doc") return { prompt: code2docPrompt(tok, code, lang), completion: [...encodePlain(tok, doc), tok.eosId] };
  const sig = opts.signature && code.startsWith(opts.signature) ? opts.signature : null;
  const rest = sig ? code.slice(sig.length) : code;
  return { prompt: doc2codePrompt(tok, doc, lang, { signature: sig }), completion: [...encodePlain(tok, rest), tok.eosId] };
}
