/**
 * Byte-level BPE tokenizer (GPT-2 style) for the embedded model.
 *
 * Vocabulary layout of a trained tokenizer:
 *   ids 0..S-1        the special tokens (src/engine/special.ts order by default), never split, never merged
 *   ids S..S+255      one token per byte value 0..255 (so every UTF-8 text is encodable)
 *   ids S+256..       one token per learned merge, in merge order (merge rank r creates id S+256+r)
 *
 * Pre-tokenization is the GPT-2 regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * which is what Hugging Face's ByteLevel pre-tokenizer (use_regex: true) applies and what llama.cpp applies for
 * `tokenizer.ggml.pre = "gpt-2"` (LLAMA_VOCAB_PRE_TYPE_GPT2). llama.cpp's GPT-2 expression omits the final `|\s+`
 * alternative, but it keeps unmatched text as its own piece, which yields the same split (a lone non-space
 * whitespace character before a non-space character becomes a piece either way).
 * `\s` means the Unicode White_Space set (as in llama.cpp's tables and the Rust tokenizers), NOT JavaScript's `\s`,
 * which differs in two code points: it lacks U+0085 (NEXT LINE) and adds U+FEFF (BOM). We spell the set out, so a
 * sweep over every code point gives llama.cpp's split; the tokenizers.js port (JS `\s`) differs on those two only.
 *
 * BPE application: within one pre-token, the adjacent pair with the lowest merge rank is merged first, the leftmost
 * one on ties; repeat until no pair has a merge. This is the order of HF tokenizers and llama.cpp.
 *
 * Special tokens: `encode(text)` RECOGNISES special-token strings such as "<|eos|>" in the text by default
 * (`allowSpecial: true`), like Hugging Face tokenizers and llama.cpp with parse_special. Pass
 * `{ allowSpecial: false }` to encode untrusted text: then "<|eos|>" is tokenized as ordinary characters.
 *
 * Decoding: `decode(ids)` never throws. Ids that are out of range decode to U+FFFD; byte sequences that are not
 * valid UTF-8 (e.g. a multi-byte character cut in the middle) decode with U+FFFD replacement characters.
 * `decodeBytes(ids)` returns the exact bytes.
 */
import fs from "node:fs";
import path from "node:path";
import { SPECIAL_TOKENS, BOS_ID, EOS_ID } from "./special.js";
import type { TokenizerLike } from "../core/policy.js";
import { writeFileAtomic } from "../core/jsonl.js";

/** The GPT-2 pre-tokenization pattern as published (`\s` meaning Unicode White_Space). */
export const GPT2_PRETOKENIZE_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
/** Unicode White_Space (what llama.cpp and Rust regex engines mean by \s; JavaScript's \s differs in U+0085, U+FEFF). */
const WS = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
/** The pattern this module runs: GPT2_PRETOKENIZE_PATTERN with `\s` spelled out as Unicode White_Space. */
export const PRETOKENIZE_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;
/** The `tokenizer.ggml.pre` value for GGUF export that makes llama.cpp use the same pre-tokenizer. */
export const GGUF_PRE_TOKENIZER = "gpt-2";

export interface EncodeOptions {
  /** Recognise special-token strings in the text (default true). */
  allowSpecial?: boolean;
}

export interface TrainOptions {
  /** Total vocabulary size including specials and the 256 byte tokens. */
  vocabSize: number;
  /** Stop merging once the most frequent pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Special tokens at ids 0..N-1 (default: SPECIAL_TOKENS of src/engine/special.ts). */
  specials?: readonly string[];
  /** Optional progress callback (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

// ---------------------------------------------------------------------------------------------
// GPT-2 byte <-> unicode mapping (printable stand-ins for every byte, used in tokenizer.json / GGUF)
// ---------------------------------------------------------------------------------------------

function buildByteUnicode(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const byteToChar: string[] = new Array(256);
  const charToByte = new Map<string, number>();
  for (let i = 0; i < bs.length; i++) {
    const ch = String.fromCodePoint(cs[i]!);
    byteToChar[bs[i]!] = ch;
    charToByte.set(ch, bs[i]!);
  }
  return { byteToChar, charToByte };
}

const BYTE_UNICODE = buildByteUnicode();

/** Bytes -> the GPT-2 byte-level string (as stored in tokenizer.json vocab and GGUF token lists). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_UNICODE.byteToChar[bytes[i]!];
  return s;
}

/** GPT-2 byte-level string -> bytes, or null if it contains a character outside the mapping. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out: number[] = [];
  for (const ch of s) {
    const b = BYTE_UNICODE.charToByte.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const REPLACEMENT_BYTES = Uint8Array.of(0xef, 0xbf, 0xbd);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Pair key for two token ids (ids < 2^21). */
function pairKey(a: number, b: number): number {
  return a * 2097152 + b;
}

function validateSpecials(specials: readonly string[]): void {
  const seen = new Set<string>();
  for (const s of specials) {
    if (typeof s !== "string" || s.length === 0) throw new Error("tokenizer: special tokens must be non-empty strings");
    if (seen.has(s)) throw new Error(`tokenizer: duplicate special token ${JSON.stringify(s)}`);
    seen.add(s);
  }
}

/** Splits text on exact occurrences of specials; returns alternating [text, specialIndex, text, ...] pieces. */
function makeSpecialSplitter(specials: readonly string[]): RegExp | null {
  if (specials.length === 0) return null;
  // longest first so that a special that is a prefix of another never wins
  const sorted = [...specials].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegExp).join("|"), "g");
}

/** Minimal binary heap over numbers with a custom "a before b" predicate. */
class Heap<T> {
  private items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(x: T): void {
    const it = this.items;
    it.push(x);
    let i = it.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(it[i]!, it[p]!)) break;
      [it[i], it[p]] = [it[p]!, it[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const it = this.items;
    if (it.length === 0) return undefined;
    const top = it[0];
    const last = it.pop()!;
    if (it.length > 0) {
      it[0] = last;
      let i = 0;
      const n = it.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && this.before(it[l]!, it[m]!)) m = l;
        if (r < n && this.before(it[r]!, it[m]!)) m = r;
        if (m === i) break;
        [it[i], it[m]] = [it[m]!, it[i]!];
        i = m;
      }
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------
// BpeTokenizer
// ---------------------------------------------------------------------------------------------

interface BpeParts {
  /** Special token strings; their ids are given in specialIds (same order). */
  specials: string[];
  specialIds: number[];
  /** bytes of every non-special token, indexed by id (null for special ids). */
  tokenBytes: (Uint8Array | null)[];
  /** merges in rank order: [leftId, rightId, resultId]. */
  merges: Array<[number, number, number]>;
}

export class BpeTokenizer implements TokenizerLike {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly bosId: number;
  /** Special token strings, in the order of specialIds. */
  readonly specials: readonly string[];
  private readonly specialIds: readonly number[];
  private readonly specialToId = new Map<string, number>();
  private readonly idToSpecial = new Map<number, string>();
  private readonly tokenBytes: (Uint8Array | null)[];
  private readonly merges: Array<[number, number, number]>;
  /** pairKey(left,right) -> rank */
  private readonly mergeRank = new Map<number, number>();
  /** byte value -> token id */
  private readonly byteIds = new Int32Array(256);
  private readonly specialRe: RegExp | null;
  private readonly pretokRe = new RegExp(PRETOKENIZE_PATTERN, "gu");
  private cache = new Map<string, readonly number[]>();
  private static readonly CACHE_LIMIT = 200_000;

  protected constructor(parts: BpeParts) {
    this.specials = parts.specials;
    this.specialIds = parts.specialIds;
    this.tokenBytes = parts.tokenBytes;
    this.merges = parts.merges;
    this.vocabSize = parts.tokenBytes.length;
    for (let i = 0; i < parts.specials.length; i++) {
      this.specialToId.set(parts.specials[i]!, parts.specialIds[i]!);
      this.idToSpecial.set(parts.specialIds[i]!, parts.specials[i]!);
    }
    this.byteIds.fill(-1);
    for (let id = 0; id < parts.tokenBytes.length; id++) {
      const b = parts.tokenBytes[id];
      if (b && b.length === 1 && this.byteIds[b[0]!] === -1) this.byteIds[b[0]!] = id;
    }
    for (let v = 0; v < 256; v++) {
      if (this.byteIds[v] === -1) throw new Error(`tokenizer: vocabulary has no token for byte 0x${v.toString(16)}`);
    }
    for (let r = 0; r < parts.merges.length; r++) {
      const [a, b] = parts.merges[r]!;
      const k = pairKey(a, b);
      if (!this.mergeRank.has(k)) this.mergeRank.set(k, r);
    }
    this.specialRe = makeSpecialSplitter(parts.specials);
    this.bosId = this.specialToId.get("<|bos|>") ?? BOS_ID;
    this.eosId = this.specialToId.get("<|eos|>") ?? EOS_ID;
  }

  // ------------------------------------------------------------------ training

  /**
   * Trains a byte-level BPE on the texts (strings; special-token strings inside them are treated as separators and
   * never merged). Pair counts are maintained incrementally: each merge only touches the words containing the pair.
   */
  static async train(
    texts: Iterable<string> | AsyncIterable<string>,
    opts: TrainOptions,
  ): Promise<BpeTokenizer> {
    const specials = [...(opts.specials ?? SPECIAL_TOKENS)];
    validateSpecials(specials);
    const minFrequency = opts.minFrequency ?? 2;
    const base = specials.length + 256;
    if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < base) {
      throw new Error(`tokenizer: vocabSize must be an integer >= ${base} (specials + 256 bytes), got ${opts.vocabSize}`);
    }
    if (opts.vocabSize >= 2097152) throw new Error("tokenizer: vocabSize must be < 2097152");
    const specialRe = makeSpecialSplitter(specials);
    const pretok = new RegExp(PRETOKENIZE_PATTERN, "gu");

    // 1. word counts
    const wordCounts = new Map<string, number>();
    const addText = (text: string): void => {
      if (typeof text !== "string") throw new Error("tokenizer: training texts must be strings");
      const pieces = specialRe ? text.split(specialRe) : [text];
      for (const piece of pieces) {
        if (!piece) continue;
        pretok.lastIndex = 0;
        for (const m of piece.matchAll(pretok)) {
          const w = m[0];
          wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
        }
      }
    };
    if (Symbol.asyncIterator in (texts as object)) {
      for await (const t of texts as AsyncIterable<string>) addText(t);
    } else {
      for (const t of texts as Iterable<string>) addText(t);
    }

    // 2. words as symbol arrays (token ids; byte b has id specials.length + b)
    const words: number[][] = [];
    const counts: number[] = [];
    for (const [w, c] of wordCounts) {
      const bytes = utf8Encoder.encode(w);
      if (bytes.length < 2) continue; // single-byte words never contain a pair
      const arr = new Array<number>(bytes.length);
      for (let i = 0; i < bytes.length; i++) arr[i] = specials.length + bytes[i]!;
      words.push(arr);
      counts.push(c);
    }
    wordCounts.clear();

    // 3. initial pair counts and occurrence lists
    const pairCount = new Map<number, number>();
    const where = new Map<number, number[]>();
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi]!;
      const c = counts[wi]!;
      for (let i = 0; i + 1 < w.length; i++) {
        const k = pairKey(w[i]!, w[i + 1]!);
        pairCount.set(k, (pairCount.get(k) ?? 0) + c);
        let lst = where.get(k);
        if (!lst) where.set(k, (lst = []));
        if (lst[lst.length - 1] !== wi) lst.push(wi);
      }
    }

    // heap entries: [count, key]; larger count first, smaller key on ties (deterministic)
    const heap = new Heap<[number, number]>((x, y) => x[0] > y[0] || (x[0] === y[0] && x[1] < y[1]));
    for (const [k, c] of pairCount) heap.push([c, k]);

    const tokenBytes: (Uint8Array | null)[] = [];
    for (let i = 0; i < specials.length; i++) tokenBytes.push(null);
    for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
    const merges: Array<[number, number, number]> = [];
    const wanted = opts.vocabSize - base;
    const stamp = new Int32Array(words.length).fill(-1);
    const changed = new Set<number>();

    while (merges.length < wanted && heap.size > 0) {
      const top = heap.pop()!;
      const [cnt, key] = top;
      const cur = pairCount.get(key) ?? 0;
      if (cur !== cnt) {
        if (cur > 0) heap.push([cur, key]);
        continue;
      }
      if (cur < minFrequency || cur <= 0) break;
      const a = Math.floor(key / 2097152);
      const b = key - a * 2097152;
      const newId = tokenBytes.length;
      const ab = new Uint8Array(tokenBytes[a]!.length + tokenBytes[b]!.length);
      ab.set(tokenBytes[a]!, 0);
      ab.set(tokenBytes[b]!, tokenBytes[a]!.length);
      tokenBytes.push(ab);
      merges.push([a, b, newId]);
      const mergeNo = merges.length;
      changed.clear();

      const occ = where.get(key) ?? [];
      where.delete(key);
      for (const wi of occ) {
        if (stamp[wi] === mergeNo) continue;
        stamp[wi] = mergeNo;
        const w = words[wi]!;
        const c = counts[wi]!;
        // does the word still contain the pair?
        let has = false;
        for (let i = 0; i + 1 < w.length; i++) {
          if (w[i] === a && w[i + 1] === b) {
            has = true;
            break;
          }
        }
        if (!has) continue;
        // remove old pair counts of this word
        for (let i = 0; i + 1 < w.length; i++) {
          const k = pairKey(w[i]!, w[i + 1]!);
          pairCount.set(k, pairCount.get(k)! - c);
          changed.add(k);
        }
        // merge in place
        let j = 0;
        for (let i = 0; i < w.length; ) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
            w[j++] = newId;
            i += 2;
          } else {
            w[j++] = w[i]!;
            i += 1;
          }
        }
        w.length = j;
        // add new pair counts
        for (let i = 0; i + 1 < w.length; i++) {
          const k = pairKey(w[i]!, w[i + 1]!);
          pairCount.set(k, (pairCount.get(k) ?? 0) + c);
          changed.add(k);
          if (w[i] === newId || w[i + 1] === newId) {
            let lst = where.get(k);
            if (!lst) where.set(k, (lst = []));
            if (lst[lst.length - 1] !== wi) lst.push(wi);
          }
        }
      }
      pairCount.delete(key);
      for (const k of changed) {
        if (k === key) continue;
        const c = pairCount.get(k)!;
        if (c <= 0) {
          pairCount.delete(k);
          where.delete(k);
        } else heap.push([c, k]);
      }
      if (opts.onProgress && mergeNo % 256 === 0) opts.onProgress(mergeNo, wanted);
    }
    opts.onProgress?.(merges.length, wanted);

    return new BpeTokenizer({
      specials,
      specialIds: specials.map((_, i) => i),
      tokenBytes,
      merges,
    });
  }

  // ------------------------------------------------------------------ encoding

  /** Token ids of the text. Special-token strings are recognised unless `allowSpecial` is false. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TypeError("tokenizer.encode: text must be a string");
    const out: number[] = [];
    const allowSpecial = opts.allowSpecial ?? true;
    if (!allowSpecial || !this.specialRe) {
      this.encodeOrdinary(text, out);
      return out;
    }
    const re = this.specialRe;
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index > last) this.encodeOrdinary(text.slice(last, m.index), out);
      out.push(this.specialToId.get(m[0])!);
      last = m.index + m[0].length;
    }
    if (last < text.length) this.encodeOrdinary(last === 0 ? text : text.slice(last), out);
    return out;
  }

  /** The pre-tokens (regex pieces, and specials unless allowSpecial is false) that BPE runs on; for inspection. */
  pretokenize(text: string, opts: EncodeOptions = {}): string[] {
    const out: string[] = [];
    const split = (s: string): void => {
      const re = new RegExp(PRETOKENIZE_PATTERN, "gu");
      for (const m of s.matchAll(re)) out.push(m[0]);
    };
    if ((opts.allowSpecial ?? true) && this.specialRe) {
      let last = 0;
      for (const m of text.matchAll(new RegExp(this.specialRe.source, "g"))) {
        if (m.index! > last) split(text.slice(last, m.index));
        out.push(m[0]);
        last = m.index! + m[0].length;
      }
      if (last < text.length) split(text.slice(last));
    } else split(text);
    return out;
  }

  /** Like encode, as an Int32Array. */
  encodeToArray(text: string, opts: EncodeOptions = {}): Int32Array {
    return Int32Array.from(this.encode(text, opts));
  }

  private encodeOrdinary(text: string, out: number[]): void {
    const re = this.pretokRe;
    re.lastIndex = 0;
    const cache = this.cache;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const w = m[0];
      let ids = cache.get(w);
      if (ids === undefined) {
        ids = this.bpeWord(w);
        if (cache.size >= BpeTokenizer.CACHE_LIMIT) cache.clear();
        cache.set(w, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  /** BPE of one pre-token. */
  private bpeWord(word: string): number[] {
    // bytes of the word
    let bytes: Uint8Array;
    let ascii = true;
    for (let i = 0; i < word.length; i++) {
      if (word.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      bytes = new Uint8Array(word.length);
      for (let i = 0; i < word.length; i++) bytes[i] = word.charCodeAt(i);
    } else bytes = utf8Encoder.encode(word);
    const n = bytes.length;
    const sym = new Array<number>(n);
    for (let i = 0; i < n; i++) sym[i] = this.byteIds[bytes[i]!]!;
    if (n < 2 || this.merges.length === 0) return sym;
    return n <= 48 ? this.bpeSmall(sym) : this.bpeLarge(sym);
  }

  /** Quadratic scan: fastest for short words. */
  private bpeSmall(sym: number[]): number[] {
    const ranks = this.mergeRank;
    const merges = this.merges;
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = ranks.get(pairKey(sym[i]!, sym[i + 1]!));
        if (r !== undefined && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) return sym;
      sym.splice(at, 2, merges[best]![2]);
      if (sym.length < 2) return sym;
    }
  }

  /** Linked list + heap (rank, position): O(n log n) for long words. Same merge order as bpeSmall. */
  private bpeLarge(init: number[]): number[] {
    const n = init.length;
    const sym = Int32Array.from(init);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const ranks = this.mergeRank;
    const merges = this.merges;
    // entries: [rank, pos, leftSym, rightSym]
    const heap = new Heap<[number, number, number, number]>((x, y) => x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]));
    const consider = (i: number): void => {
      const j = next[i]!;
      if (i < 0 || j < 0) return;
      const r = ranks.get(pairKey(sym[i]!, sym[j]!));
      if (r !== undefined) heap.push([r, i, sym[i]!, sym[j]!]);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const [r, i, ls, rs] = heap.pop()!;
      if (!alive[i]) continue;
      const j = next[i]!;
      if (j < 0 || sym[i] !== ls || sym[j] !== rs) continue;
      sym[i] = merges[r]![2];
      alive[j] = 0;
      const k = next[j]!;
      next[i] = k;
      if (k >= 0) prev[k] = i;
      if (prev[i]! >= 0) consider(prev[i]!);
      consider(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
    return out;
  }

  // ------------------------------------------------------------------ decoding

  /** Exact bytes of the ids (specials contribute their UTF-8 text; unknown ids contribute U+FFFD's bytes). */
  decodeBytes(ids: readonly number[] | Int32Array): Uint8Array {
    let total = 0;
    const parts: Uint8Array[] = [];
    for (const id of ids) {
      let b: Uint8Array;
      const tb = Number.isInteger(id) && id >= 0 && id < this.tokenBytes.length ? this.tokenBytes[id] : undefined;
      if (tb) b = tb;
      else {
        const sp = this.idToSpecial.get(id);
        b = sp !== undefined ? utf8Encoder.encode(sp) : REPLACEMENT_BYTES;
      }
      parts.push(b);
      total += b.length;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Text of the ids; never throws (invalid UTF-8 and unknown ids become U+FFFD). */
  decode(ids: readonly number[] | Int32Array): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  /**
   * Incremental decoder for streaming generation: push(ids) returns the text completed so far, holding back the
   * bytes of a UTF-8 character that is not finished yet; end() flushes (an unfinished character becomes U+FFFD).
   * The concatenation of all returned pieces equals decode(allIds).
   */
  streamDecoder(): { push(ids: readonly number[] | Int32Array): string; end(): string } {
    const dec = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
    return {
      push: (ids) => dec.decode(this.decodeBytes(ids), { stream: true }),
      end: () => dec.decode(),
    };
  }

  /** Id of a special token such as "<|eos|>", undefined if the vocabulary lacks it. */
  tokenId(special: string): number | undefined {
    return this.specialToId.get(special);
  }

  /** Whether the id is a special token. */
  isSpecial(id: number): boolean {
    return this.idToSpecial.has(id);
  }

  /** Bytes of a non-special token (a copy), or null for specials / out-of-range ids. */
  tokenBytesOf(id: number): Uint8Array | null {
    const b = this.tokenBytes[id];
    return b ? b.slice() : null;
  }

  /** The token strings in id order, in GPT-2 byte-level form (specials as their literal text). */
  tokenStrings(): string[] {
    const out: string[] = new Array(this.vocabSize);
    for (let id = 0; id < this.vocabSize; id++) {
      const sp = this.idToSpecial.get(id);
      out[id] = sp !== undefined ? sp : bytesToByteLevel(this.tokenBytes[id]!);
    }
    return out;
  }

  /** The merges in rank order as "left right" byte-level strings (tokenizer.json / GGUF form). */
  mergeStrings(): string[] {
    return this.merges.map(([a, b]) => `${bytesToByteLevel(this.tokenBytes[a]!)} ${bytesToByteLevel(this.tokenBytes[b]!)}`);
  }

  get numMerges(): number {
    return this.merges.length;
  }

  // ------------------------------------------------------------------ serialization

  /** A Hugging Face `tokenizer.json` object (BPE model, ByteLevel pre-tokenizer and decoder, specials as added tokens). */
  toHuggingFaceJSON(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    const strings = this.tokenStrings();
    for (let id = 0; id < strings.length; id++) vocab[strings[id]!] = id;
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.specials.map((content, i) => ({
        id: this.specialIds[i],
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: this.mergeStrings(),
      },
    };
  }

  /** Writes a Hugging Face `tokenizer.json` (atomically: temp file + rename). */
  save(file: string): void {
    writeFileAtomic(file, JSON.stringify(this.toHuggingFaceJSON()));
  }

  /** Loads a `tokenizer.json` written by save() (or any byte-level BPE tokenizer.json of the same shape). */
  static load(file: string): BpeTokenizer {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new Error(`tokenizer: cannot read ${file}: ${(e as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new Error(`tokenizer: ${file} is not valid JSON: ${(e as Error).message}`);
    }
    try {
      return BpeTokenizer.fromJSON(obj);
    } catch (e) {
      throw new Error(`${(e as Error).message} (in ${file})`);
    }
  }

  /** Builds a tokenizer from a Hugging Face tokenizer.json object; validates it with clear errors. */
  static fromJSON(obj: unknown): BpeTokenizer {
    const fail = (msg: string): never => {
      throw new Error(`tokenizer.json: ${msg}`);
    };
    if (!obj || typeof obj !== "object") fail("expected an object");
    const o = obj as Record<string, unknown>;
    const model = o.model as Record<string, unknown> | undefined;
    if (!model || typeof model !== "object") fail("missing 'model'");
    if (model!.type !== "BPE") fail(`model.type must be "BPE", got ${JSON.stringify(model!.type)}`);
    const pre = o.pre_tokenizer as Record<string, unknown> | null | undefined;
    if (!pre || pre.type !== "ByteLevel" || pre.use_regex === false || pre.add_prefix_space === true) {
      fail("only a ByteLevel pre-tokenizer with use_regex and without add_prefix_space is supported");
    }
    if (o.normalizer != null) fail("normalizers are not supported");
    if (model!.ignore_merges === true) fail("ignore_merges is not supported");
    const vocab = model!.vocab as Record<string, unknown> | undefined;
    if (!vocab || typeof vocab !== "object") fail("missing model.vocab");
    const added = Array.isArray(o.added_tokens) ? (o.added_tokens as Array<Record<string, unknown>>) : [];
    const specials: string[] = [];
    const specialIds: number[] = [];
    for (const t of added) {
      if (typeof t.content !== "string" || !Number.isInteger(t.id)) fail("malformed added_tokens entry");
      specials.push(t.content as string);
      specialIds.push(t.id as number);
    }
    validateSpecials(specials);
    const specialSet = new Map(specials.map((s, i) => [s, specialIds[i]!]));
    let maxId = -1;
    for (const v of Object.values(vocab!)) {
      if (!Number.isInteger(v) || (v as number) < 0) fail("vocab ids must be non-negative integers");
      maxId = Math.max(maxId, v as number);
    }
    for (const id of specialIds) maxId = Math.max(maxId, id);
    const size = maxId + 1;
    if (size >= 2097152) fail("vocabulary too large");
    const tokenBytes: (Uint8Array | null)[] = new Array(size).fill(null);
    const filled = new Uint8Array(size);
    for (const id of specialIds) filled[id] = 1;
    const strToId = new Map<string, number>();
    for (const [s, v] of Object.entries(vocab!)) {
      const id = v as number;
      strToId.set(s, id);
      if (specialSet.get(s) === id) continue;
      if (filled[id]) fail(`id ${id} is used twice`);
      const bytes = byteLevelToBytes(s);
      if (!bytes || bytes.length === 0) fail(`vocab entry ${JSON.stringify(s)} is not a byte-level token`);
      tokenBytes[id] = bytes;
      filled[id] = 1;
    }
    for (let id = 0; id < size; id++) if (!filled[id]) fail(`id ${id} is missing from the vocabulary`);
    const rawMerges = model!.merges;
    if (!Array.isArray(rawMerges)) fail("model.merges must be an array");
    const merges: Array<[number, number, number]> = [];
    for (const m of rawMerges as unknown[]) {
      let l: string | undefined;
      let r: string | undefined;
      if (typeof m === "string") {
        const sp = m.indexOf(" ");
        if (sp <= 0 || m.indexOf(" ", sp + 1) >= 0) fail(`malformed merge ${JSON.stringify(m)}`);
        l = m.slice(0, sp);
        r = m.slice(sp + 1);
      } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") {
        [l, r] = m as [string, string];
      } else fail(`malformed merge ${JSON.stringify(m)}`);
      const a = strToId.get(l!);
      const b = strToId.get(r!);
      const c = strToId.get(l! + r!);
      if (a === undefined || b === undefined || c === undefined) fail(`merge ${JSON.stringify(m)} refers to unknown tokens`);
      merges.push([a!, b!, c!]);
    }
    return new BpeTokenizer({ specials, specialIds, tokenBytes, merges });
  }
}

// ---------------------------------------------------------------------------------------------
// ByteTokenizer: specials + 256 bytes, no merges (tests and tiny models)
// ---------------------------------------------------------------------------------------------

/**
 * Byte-level fallback tokenizer: specials at ids 0..S-1, byte b at id S+b. Same encode/decode contract as
 * BpeTokenizer (it IS a BpeTokenizer with zero merges, so it also saves to / loads from tokenizer.json).
 */
export class ByteTokenizer extends BpeTokenizer {
  constructor(specials: readonly string[] = SPECIAL_TOKENS) {
    validateSpecials(specials);
    const tokenBytes: (Uint8Array | null)[] = specials.map(() => null);
    for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
    super({ specials: [...specials], specialIds: specials.map((_, i) => i), tokenBytes, merges: [] });
  }
}

/** Loads a tokenizer from a checkpoint directory (its tokenizer.json) or a tokenizer.json file. */
export function loadTokenizer(p: string): BpeTokenizer {
  const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, "tokenizer.json") : p;
  return BpeTokenizer.load(file);
}
