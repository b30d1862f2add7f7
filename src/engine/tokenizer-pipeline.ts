/**
 * The parts of a Hugging Face `tokenizer.json` pipeline around the BPE model, compiled from their JSON:
 * normalizers, pre-tokenizers (Split with Oniguruma-style regexes, ByteLevel), added-token matching, the
 * post-processor and the decoder. src/engine/tokenizer.ts runs them; this module only parses and compiles.
 *
 * Semantics follow the Rust `tokenizers` crate (what transformers runs):
 * - added tokens whose `normalized` is false are split out of the raw text first; the rest of the text is
 *   normalized piece by piece; then added tokens whose `normalized` is true are split out of the normalized text.
 *   Matching is leftmost-longest; `lstrip`/`rstrip` absorb neighbouring whitespace; `single_word` only matches
 *   between non-word characters. With special tokens disabled (untrusted text), `special: true` tokens are
 *   not recognised (the crate's `encode_special_tokens`), non-special added tokens still are.
 * - pre-tokenizers split each piece in turn (a Sequence applies its steps to every piece of the previous step).
 * - Unsupported components fail with a UserError naming the component and what is supported.
 */
import { UserError } from "../core/errors.js";

// ---------------------------------------------------------------------------------------------
// Oniguruma (tokenizers' regex engine) -> JavaScript RegExp source (u flag)
// ---------------------------------------------------------------------------------------------

/** Unicode White_Space: what Oniguruma (and the Rust crate) mean by `\s`. JS `\s` differs at U+0085 and U+FEFF. */
export const WHITE_SPACE_CLASS = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

const SUPPORTED_REGEX =
  "literals, groups (?: (?= (?! (?<= (?<! (?i:, classes, quantifiers, \\s \\S \\p{..} \\P{..} \\r \\n \\t \\f \\v \\xHH \\x{H..} \\uHHHH";

function caseVariants(ch: string): string {
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  if (lo === up || [...lo].length !== 1 || [...up].length !== 1) return ch;
  return lo + up;
}

function propertyEscape(neg: boolean, name: string): string {
  const tryRe = (body: string): boolean => {
    try {
      new RegExp(`\\p{${body}}`, "u");
      return true;
    } catch {
      return false;
    }
  };
  const p = neg ? "P" : "p";
  if (tryRe(name)) return `\\${p}{${name}}`;
  if (tryRe(`Script=${name}`)) return `\\${p}{Script=${name}}`;
  throw new UserError(
    `tokenizer regex: unknown Unicode property \\p{${name}} (supported: general categories and scripts)`,
  );
}

/**
 * Translates a tokenizers (Oniguruma) regex into JavaScript RegExp source for the `u` flag: `\s` becomes Unicode
 * White_Space, `(?i:…)` groups become explicit case classes (Node 20 has no inline modifiers), `\p{Han}` becomes
 * `\p{Script=Han}`, identity escapes become code point escapes. Anything else it cannot translate exactly is a
 * UserError (never a silently different regex).
 */
export function translateOnigRegex(src: string): string {
  let out = "";
  let i = 0;
  let inClass = false;
  const groupStack: boolean[] = []; // per open group: does it switch case-insensitivity on?
  const ci = (): boolean => groupStack.includes(true);
  const fail = (what: string): never => {
    throw new UserError(
      `tokenizer regex: unsupported construct ${what} in ${JSON.stringify(src)} (supported: ${SUPPORTED_REGEX})`,
    );
  };
  const cp = (c: string): string => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") {
      const n = src[i + 1];
      if (n === undefined) fail("trailing backslash");
      if (n === "s" || n === "S") {
        if (inClass) {
          if (n === "S") fail("\\S inside a character class");
          out += WHITE_SPACE_CLASS;
        } else out += n === "s" ? `[${WHITE_SPACE_CLASS}]` : `[^${WHITE_SPACE_CLASS}]`;
        i += 2;
      } else if (n === "p" || n === "P") {
        const close = src.indexOf("}", i);
        if (src[i + 2] !== "{" || close < 0) fail(`\\${n} without {name}`);
        let name = src.slice(i + 3, close);
        let neg = n === "P";
        if (name.startsWith("^")) {
          neg = !neg;
          name = name.slice(1);
        }
        out += propertyEscape(neg, name);
        i = close + 1;
      } else if ("rntfv".includes(n!)) {
        out += `\\${n}`;
        i += 2;
      } else if (n === "x") {
        if (src[i + 2] === "{") {
          const close = src.indexOf("}", i);
          if (close < 0) fail("\\x{ without }");
          out += `\\u{${src.slice(i + 3, close)}}`;
          i = close + 1;
        } else {
          const hex = src.slice(i + 2, i + 4);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail(`\\x${hex}`);
          out += `\\x${hex}`;
          i += 4;
        }
      } else if (n === "u") {
        const hex = src.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail(`\\u${hex}`);
        out += `\\u${hex}`;
        i += 6;
      } else if (/[A-Za-z0-9]/.test(n!)) {
        fail(`\\${n}`);
      } else {
        // identity escape of a punctuation character: a code point escape is valid in u-mode everywhere
        const ch = String.fromCodePoint(src.codePointAt(i + 1)!);
        out += cp(ch);
        i += 1 + ch.length;
      }
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      else if (c === "[") fail("nested character class");
      else if (c === "&" && src[i + 1] === "&") fail("class intersection &&");
      if (c !== "]" && ci() && /[A-Za-z]/.test(c)) {
        // a case-insensitive range a-z: add the other case's range too
        if (src[i + 1] === "-" && src[i + 2] && /[A-Za-z]/.test(src[i + 2]!) && src[i + 2] !== "]") {
          const a = c;
          const b = src[i + 2]!;
          out += `${a}-${b}${a.toLowerCase() === a ? a.toUpperCase() : a.toLowerCase()}-${b.toLowerCase() === b ? b.toUpperCase() : b.toLowerCase()}`;
          i += 3;
          continue;
        }
        out += caseVariants(c);
        i++;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (src.startsWith("[:", i)) fail("POSIX bracket [:name:]");
      out += c;
      i++;
      if (src[i] === "^") {
        out += "^";
        i++;
      }
      if (src[i] === "]") {
        out += "\\]"; // a leading ] is literal in Oniguruma
        i++;
      }
      continue;
    }
    if (c === "(") {
      if (src.startsWith("(?i:", i)) {
        groupStack.push(true);
        out += "(?:";
        i += 4;
        continue;
      }
      if (src.startsWith("(?>", i)) fail("atomic group (?>");
      const m = /^\((\?(:|=|!|<=|<!|<[A-Za-z_][A-Za-z0-9_]*>))?/.exec(src.slice(i));
      if (src[i + 1] === "?" && !m![1]) fail(`group ${src.slice(i, i + 4)}`);
      groupStack.push(false);
      out += m![0];
      i += m![0].length;
      continue;
    }
    if (c === ")") {
      if (groupStack.length === 0) fail("unbalanced )");
      groupStack.pop();
      out += c;
      i++;
      continue;
    }
    if ((c === "+" || c === "*" || c === "?" || c === "}") && src[i + 1] === "+") fail(`possessive quantifier ${c}+`);
    if (c === "{" && !/^\{\d+(,\d*)?\}/.test(src.slice(i))) {
      out += "\\{"; // a literal brace (Oniguruma allows it unescaped; u-mode does not)
      i++;
      continue;
    }
    if (c === "}" && !/\{\d+(,\d*)?$/.test(src.slice(0, i))) {
      out += "\\}";
      i++;
      continue;
    }
    if (ci() && /[A-Za-z]/.test(c)) {
      out += `[${caseVariants(c)}]`;
      i++;
      continue;
    }
    if (c === "/" || c === "]") {
      out += cp(c);
      i++;
      continue;
    }
    const ch = String.fromCodePoint(src.codePointAt(i)!);
    out += ch;
    i += ch.length;
  }
  if (inClass) fail("unterminated character class");
  if (groupStack.length) fail("unbalanced (");
  try {
    new RegExp(out, "gu");
  } catch (e) {
    throw new UserError(`tokenizer regex: ${JSON.stringify(src)} could not be compiled (${(e as Error).message})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeOf(v: unknown, where: string): string {
  if (!isObject(v) || typeof v.type !== "string")
    throw new UserError(`tokenizer.json: ${where} must be an object with a "type"`);
  return v.type;
}

// ---------------------------------------------------------------------------------------------
// normalizers
// ---------------------------------------------------------------------------------------------

export type NormalizeFn = (s: string) => string;

const NORMALIZERS = "NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace (String pattern), Sequence";

/** Compiles a normalizer; null for none (or an empty Sequence). */
export function compileNormalizer(spec: unknown): NormalizeFn | null {
  if (spec === null || spec === undefined) return null;
  const type = typeOf(spec, "normalizer");
  const o = spec as JsonObject;
  switch (type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      // ASCII is invariant under every normal form: skip the ICU call for it (the common case for code).
      const form = type;
      return (s) => (/^[\x00-\x7f]*$/.test(s) ? s : s.normalize(form));
    }
    case "Lowercase":
      return (s) => s.toLowerCase();
    case "Prepend": {
      const p = String(o.prepend ?? "");
      return (s) => (s.length ? p + s : s);
    }
    case "Replace": {
      const pat = o.pattern;
      if (!isObject(pat) || typeof pat.String !== "string") {
        throw new UserError(
          `tokenizer.json: Replace normalizer supports a String pattern only (got ${JSON.stringify(pat)})`,
        );
      }
      const from = pat.String;
      const to = String(o.content ?? "");
      return (s) => s.split(from).join(to);
    }
    case "Sequence": {
      const parts = (Array.isArray(o.normalizers) ? o.normalizers : [])
        .map(compileNormalizer)
        .filter((f): f is NormalizeFn => f !== null);
      if (parts.length === 0) return null;
      if (parts.length === 1) return parts[0]!;
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    default:
      throw new UserError(
        `tokenizer.json: normalizer ${JSON.stringify(type)} is not supported (supported: ${NORMALIZERS})`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// pre-tokenizers
// ---------------------------------------------------------------------------------------------

/** GPT-2's pattern (`\s` = Unicode White_Space), what ByteLevel with use_regex applies. */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

type SplitBehavior = "Isolated" | "Removed" | "MergedWithPrevious" | "MergedWithNext";

export type PreStep =
  | { kind: "split"; re: RegExp; behavior: SplitBehavior; invert: boolean }
  | { kind: "prefix-space" };

export interface CompiledPreTokenizer {
  steps: PreStep[];
  /**
   * When the whole pre-tokenizer is one Isolated regex split (GPT-2 ByteLevel, Qwen2, Llama-3), its regex:
   * the encoder then runs the regex over the text directly (the fast path).
   */
  single: RegExp | null;
}

const PRE_TOKENIZERS =
  "ByteLevel, Split (Regex or String pattern; Isolated, Removed, MergedWithPrevious, MergedWithNext), Sequence";

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function splitStep(o: JsonObject): PreStep {
  const pat = o.pattern;
  let source: string;
  if (isObject(pat) && typeof pat.Regex === "string") source = translateOnigRegex(pat.Regex);
  else if (isObject(pat) && typeof pat.String === "string") source = escapeRegExp(pat.String);
  else throw new UserError(`tokenizer.json: Split needs pattern {Regex} or {String}, got ${JSON.stringify(pat)}`);
  const behavior = o.behavior;
  if (
    behavior !== "Isolated" &&
    behavior !== "Removed" &&
    behavior !== "MergedWithPrevious" &&
    behavior !== "MergedWithNext"
  ) {
    throw new UserError(
      `tokenizer.json: Split behavior ${JSON.stringify(behavior)} is not supported (supported: ${PRE_TOKENIZERS})`,
    );
  }
  return { kind: "split", re: new RegExp(source, "gu"), behavior, invert: o.invert === true };
}

/** Whether a ByteLevel pre-tokenizer/decoder is part of the spec (byte-level BPE needs it). */
export function hasByteLevel(spec: unknown): boolean {
  if (!isObject(spec)) return false;
  if (spec.type === "ByteLevel") return true;
  const list = spec.type === "Sequence" ? (spec.pretokenizers ?? spec.decoders ?? spec.processors) : null;
  return Array.isArray(list) && list.some(hasByteLevel);
}

export function compilePreTokenizer(spec: unknown): CompiledPreTokenizer {
  const steps: PreStep[] = [];
  const add = (s: unknown): void => {
    const type = typeOf(s, "pre_tokenizer");
    const o = s as JsonObject;
    if (type === "Sequence") {
      if (!Array.isArray(o.pretokenizers))
        throw new UserError("tokenizer.json: Sequence pre_tokenizer needs 'pretokenizers'");
      for (const p of o.pretokenizers) add(p);
    } else if (type === "ByteLevel") {
      if (o.add_prefix_space === true) steps.push({ kind: "prefix-space" });
      if (o.use_regex !== false)
        steps.push({
          kind: "split",
          re: new RegExp(translateOnigRegex(GPT2_PATTERN), "gu"),
          behavior: "Isolated",
          invert: false,
        });
    } else if (type === "Split") steps.push(splitStep(o));
    else
      throw new UserError(
        `tokenizer.json: pre_tokenizer ${JSON.stringify(type)} is not supported (supported: ${PRE_TOKENIZERS})`,
      );
  };
  if (spec === null || spec === undefined)
    throw new UserError("tokenizer.json: a byte-level BPE needs a pre_tokenizer (ByteLevel)");
  add(spec);
  if (!hasByteLevel(spec))
    throw new UserError("tokenizer.json: only byte-level BPE is supported: the pre_tokenizer must include ByteLevel");
  const only = steps.length === 1 ? steps[0]! : null;
  const single = only && only.kind === "split" && only.behavior === "Isolated" && !only.invert ? only.re : null;
  return { steps, single };
}

/** Applies one split step to a piece, calling emit for each resulting non-empty piece. */
export function applyStep(step: PreStep, piece: string, emit: (p: string) => void): void {
  if (step.kind === "prefix-space") {
    emit(piece.startsWith(" ") ? piece : ` ${piece}`);
    return;
  }
  const re = step.re;
  // Collect [start, end, isMatch] spans covering the piece (matches of the regex, or their complement if inverted).
  let last = 0;
  const spans: Array<[number, number, boolean]> = [];
  re.lastIndex = 0;
  for (let m = re.exec(piece); m !== null; m = re.exec(piece)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) spans.push([last, m.index, false]);
    spans.push([m.index, m.index + m[0].length, true]);
    last = m.index + m[0].length;
  }
  if (last < piece.length) spans.push([last, piece.length, false]);
  if (step.invert) for (const s of spans) s[2] = !s[2];
  switch (step.behavior) {
    case "Isolated":
      for (const [a, b] of spans) emit(piece.slice(a, b));
      return;
    case "Removed":
      for (const [a, b, isM] of spans) if (!isM) emit(piece.slice(a, b));
      return;
    case "MergedWithPrevious": {
      // a match joins the piece before it (unless that piece is itself a match), as the Rust crate does
      const merged: Array<[number, number]> = [];
      let prevMatch = false;
      for (const [a, b, isM] of spans) {
        if (isM && !prevMatch && merged.length) merged[merged.length - 1]![1] = b;
        else merged.push([a, b]);
        prevMatch = isM;
      }
      for (const [a, b] of merged) emit(piece.slice(a, b));
      return;
    }
    case "MergedWithNext": {
      // a match joins the piece after it (unless that piece is itself a match)
      const merged: Array<[number, number]> = [];
      let nextMatch = false;
      for (let k = spans.length - 1; k >= 0; k--) {
        const [a, b, isM] = spans[k]!;
        if (isM && !nextMatch && merged.length) merged[merged.length - 1]![0] = a;
        else merged.push([a, b]);
        nextMatch = isM;
      }
      for (let k = merged.length - 1; k >= 0; k--) emit(piece.slice(merged[k]![0], merged[k]![1]));
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// added tokens
// ---------------------------------------------------------------------------------------------

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

export function parseAddedToken(t: unknown): AddedToken {
  if (
    !isObject(t) ||
    typeof t.content !== "string" ||
    !Number.isInteger(t.id) ||
    (t.id as number) < 0 ||
    t.content === ""
  ) {
    throw new UserError(`tokenizer.json: malformed added_tokens entry ${JSON.stringify(t)}`);
  }
  const special = t.special === true;
  return {
    id: t.id as number,
    content: t.content,
    special,
    // the crate's default: special tokens are not normalized, others are
    normalized: typeof t.normalized === "boolean" ? t.normalized : !special,
    lstrip: t.lstrip === true,
    rstrip: t.rstrip === true,
    singleWord: t.single_word === true,
  };
}

export function addedTokenJSON(t: AddedToken): JsonObject {
  return {
    id: t.id,
    content: t.content,
    single_word: t.singleWord,
    lstrip: t.lstrip,
    rstrip: t.rstrip,
    normalized: t.normalized,
    special: t.special,
  };
}

const isWs = (c: string): boolean => /^[\s\u0085]$/u.test(c) && c !== "\ufeff";
const isWordChar = (c: string | undefined): boolean => c !== undefined && /^[\p{L}\p{N}_\p{M}]$/u.test(c);

/** Leftmost-longest matcher over a fixed set of added tokens. */
export class AddedTokenMatcher {
  private readonly byFirst = new Map<number, AddedToken[]>();
  private readonly firstRe: RegExp;

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      const k = t.content.charCodeAt(0);
      let l = this.byFirst.get(k);
      if (!l) this.byFirst.set(k, (l = []));
      l.push(t);
    }
    for (const l of this.byFirst.values()) l.sort((a, b) => b.content.length - a.content.length || a.id - b.id);
    // Candidate positions: a few tokens -> one alternation of the literals (V8 scans for it fast); many tokens
    // (hundreds of reserved specials) -> their first characters. Candidates are then checked longest first.
    if (tokens.length <= 64) {
      const lits = [...tokens].sort((a, b) => b.content.length - a.content.length).map((t) => escapeRegExp(t.content));
      this.firstRe = new RegExp(lits.join("|"), "g");
    } else {
      const firsts = [...this.byFirst.keys()].map((k) => `\\u${k.toString(16).padStart(4, "0")}`).join("");
      this.firstRe = new RegExp(`[${firsts}]`, "g");
    }
  }

  get empty(): boolean {
    return this.byFirst.size === 0;
  }

  /**
   * Splits text into plain segments (onText) and added tokens (onToken), in order. lstrip/rstrip whitespace is
   * absorbed by the token; single_word tokens only match with no word character on either side.
   */
  split(text: string, onText: (s: string) => void, onToken: (t: AddedToken) => void): void {
    if (this.byFirst.size === 0) {
      if (text) onText(text);
      return;
    }
    const re = this.firstRe;
    re.lastIndex = 0;
    let emitted = 0; // text before this index has been emitted
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const at = m.index;
      const cands = this.byFirst.get(text.charCodeAt(at))!;
      let hit: AddedToken | null = null;
      for (const t of cands) {
        if (!text.startsWith(t.content, at)) continue;
        if (t.singleWord) {
          const before = at > 0 ? String.fromCodePoint(text.codePointAt(at - 1)!) : undefined;
          const afterCp = text.codePointAt(at + t.content.length);
          const after = afterCp === undefined ? undefined : String.fromCodePoint(afterCp);
          if (isWordChar(before) || isWordChar(after)) continue;
        }
        hit = t;
        break;
      }
      if (!hit) {
        re.lastIndex = at + 1;
        continue;
      }
      let start = at;
      let end = at + hit.content.length;
      if (hit.lstrip) while (start > emitted && isWs(text[start - 1]!)) start--;
      if (hit.rstrip) while (end < text.length && isWs(text[end]!)) end++;
      if (start > emitted) onText(text.slice(emitted, start));
      onToken(hit);
      emitted = end;
      re.lastIndex = end;
    }
    if (emitted < text.length) onText(emitted === 0 ? text : text.slice(emitted));
  }
}

// ---------------------------------------------------------------------------------------------
// post-processor and decoder
// ---------------------------------------------------------------------------------------------

/** Token ids a post-processor puts around a single sequence (TemplateProcessing's `single`). */
export interface CompiledPostProcessor {
  prefix: number[];
  suffix: number[];
}

const POST_PROCESSORS = "ByteLevel, TemplateProcessing, Sequence";

export function compilePostProcessor(spec: unknown): CompiledPostProcessor {
  const out: CompiledPostProcessor = { prefix: [], suffix: [] };
  const add = (s: unknown): void => {
    if (s === null || s === undefined) return;
    const type = typeOf(s, "post_processor");
    const o = s as JsonObject;
    if (type === "ByteLevel") return; // only adjusts offsets
    if (type === "Sequence") {
      for (const p of Array.isArray(o.processors) ? o.processors : []) add(p);
      return;
    }
    if (type !== "TemplateProcessing") {
      throw new UserError(
        `tokenizer.json: post_processor ${JSON.stringify(type)} is not supported (supported: ${POST_PROCESSORS})`,
      );
    }
    const single = Array.isArray(o.single) ? o.single : [];
    const specials = isObject(o.special_tokens) ? o.special_tokens : {};
    let seenSeq = false;
    for (const piece of single) {
      if (isObject(piece) && isObject(piece.Sequence)) {
        seenSeq = true;
        continue;
      }
      if (!isObject(piece) || !isObject(piece.SpecialToken) || typeof piece.SpecialToken.id !== "string") {
        throw new UserError(`tokenizer.json: malformed TemplateProcessing piece ${JSON.stringify(piece)}`);
      }
      const name = piece.SpecialToken.id;
      const entry = specials[name];
      if (!isObject(entry) || !Array.isArray(entry.ids)) {
        throw new UserError(
          `tokenizer.json: TemplateProcessing names ${JSON.stringify(name)} but special_tokens lacks its ids`,
        );
      }
      (seenSeq ? out.suffix : out.prefix).push(...(entry.ids as number[]));
    }
  };
  add(spec);
  return out;
}

const DECODERS = "ByteLevel, Sequence of ByteLevel";

/** Byte-level BPE decodes by concatenating token bytes: the decoder must be ByteLevel (alone or in a Sequence). */
export function checkDecoder(spec: unknown): void {
  if (spec === null || spec === undefined) {
    throw new UserError(`tokenizer.json: a byte-level BPE needs a decoder (supported: ${DECODERS})`);
  }
  const type = typeOf(spec, "decoder");
  if (type === "ByteLevel") return;
  if (type === "Sequence") {
    const list = (spec as JsonObject).decoders;
    if (Array.isArray(list) && list.length > 0) {
      for (const d of list) checkDecoder(d);
      return;
    }
  }
  throw new UserError(`tokenizer.json: decoder ${JSON.stringify(type)} is not supported (supported: ${DECODERS})`);
}
