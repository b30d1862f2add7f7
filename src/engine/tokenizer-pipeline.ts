/**
 * The parts of a Hugging Face `tokenizer.json` pipeline around the BPE model, compiled from their JSON:
 * normalizers, pre-tokenizers (Split with Oniguruma-style regexes, ByteLevel, Metaspace), added-token matching, the
 * post-processor and the decoder (ByteLevel, or a chain of Replace / ByteFallback / Fuse / Strip / Metaspace for
 * SentencePiece-style BPE). src/engine/tokenizer.ts runs them; this module only parses and compiles.
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

const NORMALIZERS = "NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace (String or Regex pattern), Sequence";

/** A Replace pattern ({String} or {Regex}): a literal, or a global regex (Oniguruma syntax translated). */
function replacePattern(pat: Json | undefined, where: string): { re: RegExp | null; literal: string | null } {
  if (isObject(pat) && typeof pat.String === "string") {
    if (pat.String === "") throw new UserError(`tokenizer.json: ${where} with an empty String pattern`);
    return { re: null, literal: pat.String };
  }
  if (isObject(pat) && typeof pat.Regex === "string")
    return { re: new RegExp(translateOnigRegex(pat.Regex), "gu"), literal: null };
  throw new UserError(`tokenizer.json: ${where} needs pattern {String} or {Regex}, got ${JSON.stringify(pat)}`);
}

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
      const { re, literal } = replacePattern(o.pattern, "Replace normalizer");
      const to = String(o.content ?? "");
      if (literal !== null) return (s) => (s.includes(literal) ? s.split(literal).join(to) : s);
      return (s) => s.replace(re!, () => to);
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

export type PrependScheme = "always" | "first" | "never";

export type PreStep =
  | { kind: "split"; re: RegExp; behavior: SplitBehavior; invert: boolean }
  | { kind: "prefix-space" }
  /** SentencePiece's whitespace handling: spaces become `replacement`, which may be prepended, and may split. */
  | { kind: "metaspace"; replacement: string; prepend: PrependScheme; split: RegExp | null };

export interface CompiledPreTokenizer {
  steps: PreStep[];
  /**
   * When the whole pre-tokenizer is one Isolated regex split (GPT-2 ByteLevel, Qwen2, Llama-3), its regex:
   * the encoder then runs the regex over the text directly (the fast path).
   */
  single: RegExp | null;
  /** Whether a ByteLevel pre-tokenizer is part of it: the BPE then works on bytes (byte-level BPE). */
  byteLevel: boolean;
}

const PRE_TOKENIZERS =
  "ByteLevel, Split (Regex or String pattern; Isolated, Removed, MergedWithPrevious, MergedWithNext), Metaspace, Sequence, or none";

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

/**
 * Metaspace's settings as the Rust crate reads them (pre-tokenizer and decoder alike): `replacement` (one
 * character), `prepend_scheme` always/first/never — absent: "always", or "never" when the legacy
 * `add_prefix_space` is false —, `split` (default true).
 */
export function metaspaceSettings(
  o: JsonObject,
  where: string,
): { replacement: string; prepend: PrependScheme; split: boolean } {
  const replacement = o.replacement;
  if (typeof replacement !== "string" || [...replacement].length !== 1)
    throw new UserError(
      `tokenizer.json: ${where} Metaspace needs a one-character replacement, got ${JSON.stringify(replacement)}`,
    );
  let prepend = o.prepend_scheme;
  if (o.add_prefix_space === false) {
    if (prepend !== undefined && prepend !== null && prepend !== "never")
      throw new UserError(
        `tokenizer.json: ${where} Metaspace add_prefix_space false contradicts prepend_scheme ${JSON.stringify(prepend)}`,
      );
    prepend = "never";
  }
  if (prepend === undefined || prepend === null) prepend = "always";
  if (prepend !== "always" && prepend !== "first" && prepend !== "never")
    throw new UserError(
      `tokenizer.json: ${where} Metaspace prepend_scheme ${JSON.stringify(prepend)} is not supported (supported: always, first, never)`,
    );
  return { replacement, prepend, split: o.split !== false };
}

/** Whether a ByteLevel pre-tokenizer/decoder is part of the spec (byte-level BPE needs it). */
export function hasByteLevel(spec: unknown): boolean {
  if (!isObject(spec)) return false;
  if (spec.type === "ByteLevel") return true;
  const list = spec.type === "Sequence" ? (spec.pretokenizers ?? spec.decoders ?? spec.processors) : null;
  return Array.isArray(list) && list.some(hasByteLevel);
}

/** Compiles a pre-tokenizer (null: none, the whole normalized text is one piece). */
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
    else if (type === "Metaspace") {
      const m = metaspaceSettings(o, "pre_tokenizer");
      steps.push({
        kind: "metaspace",
        replacement: m.replacement,
        prepend: m.prepend,
        split: m.split ? new RegExp(escapeRegExp(m.replacement), "gu") : null,
      });
    } else
      throw new UserError(
        `tokenizer.json: pre_tokenizer ${JSON.stringify(type)} is not supported (supported: ${PRE_TOKENIZERS})`,
      );
  };
  if (spec !== null && spec !== undefined) add(spec);
  const byteLevel = hasByteLevel(spec);
  if (byteLevel && steps.some((s) => s.kind === "metaspace"))
    throw new UserError("tokenizer.json: a pre_tokenizer with both ByteLevel and Metaspace is not supported");
  const only = steps.length === 1 ? steps[0]! : null;
  const single = only && only.kind === "split" && only.behavior === "Isolated" && !only.invert ? only.re : null;
  return { steps, single, byteLevel };
}

/**
 * Applies one step to a piece, calling emit for each resulting non-empty piece. `origin`: the piece starts at
 * offset 0 of the original text (Metaspace's prepend_scheme "first" prepends only there); a piece split off at a
 * later position is not at the origin.
 */
export function applyStep(
  step: PreStep,
  piece: string,
  origin: boolean,
  emit: (p: string, origin: boolean) => void,
): void {
  if (step.kind === "prefix-space") {
    emit(piece.startsWith(" ") ? piece : ` ${piece}`, origin);
    return;
  }
  if (step.kind === "metaspace") {
    const r = step.replacement;
    let s = piece.includes(" ") ? piece.split(" ").join(r) : piece;
    if ((step.prepend === "always" || (step.prepend === "first" && origin)) && !s.startsWith(r)) s = r + s;
    if (step.split) splitPiece(step.split, "MergedWithNext", false, s, origin, emit);
    else emit(s, origin);
    return;
  }
  splitPiece(step.re, step.behavior, step.invert, piece, origin, emit);
}

function splitPiece(
  re: RegExp,
  behavior: SplitBehavior,
  invert: boolean,
  piece: string,
  origin: boolean,
  emit: (p: string, origin: boolean) => void,
): void {
  const out = (a: number, b: number): void => emit(piece.slice(a, b), origin && a === 0);
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
  if (invert) for (const s of spans) s[2] = !s[2];
  switch (behavior) {
    case "Isolated":
      for (const [a, b] of spans) out(a, b);
      return;
    case "Removed":
      for (const [a, b, isM] of spans) if (!isM) out(a, b);
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
      for (const [a, b] of merged) out(a, b);
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
      for (let k = merged.length - 1; k >= 0; k--) out(merged[k]![0], merged[k]![1]);
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
   * Splits text into plain segments (onText, with their offset in text) and added tokens (onToken), in order. lstrip/rstrip whitespace is
   * absorbed by the token; single_word tokens only match with no word character on either side.
   */
  split(text: string, onText: (s: string, offset: number) => void, onToken: (t: AddedToken) => void): void {
    if (this.byFirst.size === 0) {
      if (text) onText(text, 0);
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
      if (start > emitted) onText(text.slice(emitted, start), emitted);
      onToken(hit);
      emitted = end;
      re.lastIndex = end;
    }
    if (emitted < text.length) onText(emitted === 0 ? text : text.slice(emitted), emitted);
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

/** One step of a string decoder chain (the Rust crate's `decode_chain` over the list of token strings). */
export type DecodeStep =
  | { kind: "replace"; re: RegExp | null; literal: string | null; content: string }
  | { kind: "byte-fallback" }
  | { kind: "fuse" }
  | { kind: "strip"; content: string; start: number; stop: number }
  | { kind: "metaspace"; replacement: string; prepend: PrependScheme };

/**
 * How ids become text. "bytes": byte-level BPE, the tokens' bytes are concatenated (ByteLevel decoder).
 * "chain": the token strings go through the decoder steps in order and are joined (SentencePiece-style BPE:
 * Replace("▁", " "), ByteFallback, Fuse, Strip, Metaspace); `joiner` " " when there is no decoder at all.
 */
export type CompiledDecoder = { kind: "bytes" } | { kind: "chain"; steps: DecodeStep[]; joiner: string };

const BYTE_LEVEL_DECODERS = "ByteLevel, Sequence of ByteLevel";
const CHAIN_DECODERS = "Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence of these";

/**
 * Compiles the decoder. A byte-level BPE (ByteLevel pre-tokenizer) decodes by concatenating token bytes: its
 * decoder must be ByteLevel (alone or in a Sequence). Any other BPE decodes token strings through a chain.
 */
export function compileDecoder(spec: unknown, byteLevel: boolean): CompiledDecoder {
  if (byteLevel) {
    checkByteLevelDecoder(spec);
    return { kind: "bytes" };
  }
  if (spec === null || spec === undefined) return { kind: "chain", steps: [], joiner: " " };
  const steps: DecodeStep[] = [];
  const add = (d: unknown): void => {
    const type = typeOf(d, "decoder");
    const o = d as JsonObject;
    switch (type) {
      case "Sequence":
        if (!Array.isArray(o.decoders)) throw new UserError("tokenizer.json: Sequence decoder needs 'decoders'");
        for (const x of o.decoders) add(x);
        return;
      case "Replace": {
        const { re, literal } = replacePattern(o.pattern, "Replace decoder");
        steps.push({ kind: "replace", re, literal, content: String(o.content ?? "") });
        return;
      }
      case "ByteFallback":
        steps.push({ kind: "byte-fallback" });
        return;
      case "Fuse":
        steps.push({ kind: "fuse" });
        return;
      case "Strip": {
        const content = o.content;
        const n = (v: Json | undefined): number => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : 0);
        if (typeof content !== "string" || [...content].length !== 1)
          throw new UserError(
            `tokenizer.json: Strip decoder needs a one-character content, got ${JSON.stringify(content)}`,
          );
        steps.push({ kind: "strip", content, start: n(o.start), stop: n(o.stop) });
        return;
      }
      case "Metaspace": {
        const m = metaspaceSettings(o, "decoder");
        steps.push({ kind: "metaspace", replacement: m.replacement, prepend: m.prepend });
        return;
      }
      case "ByteLevel":
        throw new UserError(
          "tokenizer.json: a ByteLevel decoder needs a ByteLevel pre_tokenizer (byte-level BPE); this tokenizer has none",
        );
      default:
        throw new UserError(
          `tokenizer.json: decoder ${JSON.stringify(type)} is not supported (supported: ${BYTE_LEVEL_DECODERS} for byte-level BPE; ${CHAIN_DECODERS} otherwise)`,
        );
    }
  };
  add(spec);
  return { kind: "chain", steps, joiner: "" };
}

/** Byte-level BPE decodes by concatenating token bytes: the decoder must be ByteLevel (alone or in a Sequence). */
function checkByteLevelDecoder(spec: unknown): void {
  if (spec === null || spec === undefined) {
    throw new UserError(`tokenizer.json: a byte-level BPE needs a decoder (supported: ${BYTE_LEVEL_DECODERS})`);
  }
  const type = typeOf(spec, "decoder");
  if (type === "ByteLevel") return;
  if (type === "Sequence") {
    const list = (spec as JsonObject).decoders;
    if (Array.isArray(list) && list.length > 0) {
      for (const d of list) checkByteLevelDecoder(d);
      return;
    }
  }
  throw new UserError(
    `tokenizer.json: decoder ${JSON.stringify(type)} is not supported with a ByteLevel pre_tokenizer (supported: ${BYTE_LEVEL_DECODERS})`,
  );
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The byte a `<0xNN>` token stands for, or -1. */
export function byteTokenValue(token: string): number {
  const m = token.length === 6 ? BYTE_TOKEN.exec(token) : null;
  return m ? Number.parseInt(m[1]!, 16) : -1;
}

/**
 * Runs a decoder chain over token strings, as the Rust crate does: Replace per token; ByteFallback turns each run
 * of `<0xNN>` tokens into its UTF-8 text, or one U+FFFD per byte when the run is not valid UTF-8; Fuse joins all
 * tokens into one; Strip removes up to `start` leading and `stop` trailing `content` characters of each token;
 * Metaspace turns the replacement into spaces, and drops it from the first token unless the prepend scheme is
 * "never".
 */
export function runDecoderChain(steps: readonly DecodeStep[], joiner: string, tokens: string[]): string {
  let toks = tokens;
  for (const st of steps) {
    switch (st.kind) {
      case "replace":
        toks = toks.map((t) =>
          st.literal !== null
            ? t.includes(st.literal)
              ? t.split(st.literal).join(st.content)
              : t
            : t.replace(st.re!, () => st.content),
        );
        break;
      case "byte-fallback": {
        const out: string[] = [];
        let run: number[] = [];
        const flush = (): void => {
          if (run.length === 0) return;
          try {
            out.push(strictUtf8.decode(Uint8Array.from(run)));
          } catch {
            for (let i = 0; i < run.length; i++) out.push("\ufffd");
          }
          run = [];
        };
        for (const t of toks) {
          const b = byteTokenValue(t);
          if (b >= 0) run.push(b);
          else {
            flush();
            out.push(t);
          }
        }
        flush();
        toks = out;
        break;
      }
      case "fuse":
        toks = [toks.join("")];
        break;
      case "strip":
        toks = toks.map((t) => {
          const cs = [...t];
          let a = 0;
          while (a < st.start && a < cs.length && cs[a] === st.content) a++;
          let b = cs.length;
          while (cs.length - b < st.stop && b > a && cs[b - 1] === st.content) b--;
          return cs.slice(a, b).join("");
        });
        break;
      case "metaspace":
        // the crate drops every replacement character of the first token (not only a leading one)
        toks = toks.map((t, i) =>
          t.includes(st.replacement) ? t.split(st.replacement).join(i === 0 && st.prepend !== "never" ? "" : " ") : t,
        );
        break;
    }
  }
  return toks.join(joiner);
}
