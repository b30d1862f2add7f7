/**
 * The one BPE tokenizer: the embedded model's (trained here, GPT-2 style byte-level BPE), Hugging Face
 * `tokenizer.json` files of byte-level models (Qwen2/Qwen3, Llama-3, DeepSeek, GPT-2) and of SentencePiece-style
 * models (Llama-2, Mistral, CodeLlama: character-level BPE with byte fallback), and GGUF tokenizers (gpt2 and
 * llama/SPM, src/engine/gguf-tokenizer.ts). The pipeline parts around the BPE model (normalizers,
 * Split/ByteLevel/Metaspace pre-tokenizers, added tokens, post-processor, decoder) are compiled by
 * ./tokenizer-pipeline.ts; what follows describes the embedded layout and the shared contracts.
 *
 * Byte-level vs character-level: with a ByteLevel pre-tokenizer the BPE symbols are bytes (vocabulary strings are
 * GPT-2's byte mapping). Without one, symbols are characters as the Rust crate makes them: a character's own
 * token; else, with byte_fallback, its `<0xNN>` tokens; else the unk token (fuse_unk: one per run); merges apply
 * to those symbols. Decoding then runs the decoder chain over token strings (Replace("▁", " "), ByteFallback,
 * Fuse, Strip, Metaspace). Merge order is by rank, or by an explicit priority (llama.cpp's SPM scores; equal
 * priorities merge leftmost first).
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
import { UserError } from "../core/errors.js";
import {
  AddedTokenMatcher,
  addedTokenJSON,
  applyStep,
  byteTokenValue,
  compileDecoder,
  compileNormalizer,
  compilePostProcessor,
  compilePreTokenizer,
  parseAddedToken,
  type AddedToken,
  type CompiledDecoder,
  type CompiledPostProcessor,
  type CompiledPreTokenizer,
  type Json,
  type JsonObject,
  type NormalizeFn,
  hasByteLevel,
  runDecoderChain,
} from "./tokenizer-pipeline.js";

export type { AddedToken } from "./tokenizer-pipeline.js";

/** The GPT-2 pre-tokenization pattern as published (`\s` meaning Unicode White_Space). */
export const GPT2_PRETOKENIZE_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
/** Unicode White_Space (what llama.cpp and Rust regex engines mean by \s; JavaScript's \s differs in U+0085, U+FEFF). */
const WS = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
/** The pattern this module runs: GPT2_PRETOKENIZE_PATTERN with `\s` spelled out as Unicode White_Space. */
export const PRETOKENIZE_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

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

// ---------------------------------------------------------------------------------------------
// BpeTokenizer
// ---------------------------------------------------------------------------------------------

/** The tokenizer.json components around the BPE model (kept as JSON so save() writes them back unchanged). */
export interface PipelineSpec {
  normalizer: Json;
  pre_tokenizer: Json;
  post_processor: Json;
  decoder: Json;
}

/** What the embedded model's tokenizers use: GPT-2 byte-level pre-tokenization, no normalizer, no template. */
export const EMBEDDED_PIPELINE: PipelineSpec = {
  normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
};

interface BpeParts {
  /** Bytes of every model-vocabulary token, indexed by id (null for ids that exist only as added tokens). */
  tokenBytes: (Uint8Array | null)[];
  /** merges in rank order: [leftId, rightId, resultId]. */
  merges: Array<[number, number, number]>;
  /** Added tokens (specials and others), split out of the text before BPE. */
  added: AddedToken[];
  pipeline: PipelineSpec;
  /** model.ignore_merges: a pre-token that is itself in the vocabulary is emitted whole. */
  ignoreMerges: boolean;
  /** Vocabulary strings that are not GPT-2 byte-level text (kept verbatim for save()). */
  rawVocab?: Map<number, string>;
  /** Token strings for bos/eos (e.g. from tokenizer_config.json); default "<|bos|>"/"<|eos|>". */
  bosToken?: string | null;
  eosToken?: string | null;
  /**
   * model.byte_fallback (SentencePiece-style BPE): a character with no token becomes its `<0xNN>` byte tokens
   * (when the vocabulary has all of them; else the unk token).
   */
  byteFallback?: boolean;
  /** model.unk_token: the vocabulary token an unknown character becomes (none: it is dropped, as in the crate). */
  unkToken?: string | null;
  /** model.fuse_unk: a run of unknown characters gives one unk token. */
  fuseUnk?: boolean;
  /**
   * Per merge (rank order) its priority: lower merges first, equal priorities leftmost first (llama.cpp's SPM
   * tokenizer merges by token score). Default: the rank itself (Hugging Face BPE).
   */
  mergePriority?: Int32Array;
  /** Per token its SentencePiece score (GGUF `tokenizer.ggml.scores`), kept for export. */
  scores?: Float32Array;
}

export interface FromJSONOptions {
  /** BOS / EOS token strings (tokenizer_config.json's bos_token / eos_token); they must be added tokens. */
  bosToken?: string | null;
  eosToken?: string | null;
}

/** Options of encode beyond EncodeOptions. */
export interface EncodeFullOptions extends EncodeOptions {
  /** Apply the post-processor's template (e.g. Llama-3's leading <|begin_of_text|>); default false. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out added tokens flagged `special` (transformers' skip_special_tokens). */
  skipSpecialTokens?: boolean;
}

/**
 * One byte-level BPE tokenizer for every model: the embedded model's trained vocabularies and Hugging Face
 * `tokenizer.json` files (Qwen2/Qwen3, Llama-3, DeepSeek, GPT-2 style) go through the same code; a GGUF file's
 * tokenizer metadata is turned into the same parts (src/engine/gguf-tokenizer.ts).
 *
 * encode: added tokens are split out (leftmost-longest), the rest is normalized, pre-tokenized into pieces, and
 * each piece's UTF-8 bytes are merged by rank (ignore_merges: a piece that is a token is emitted whole).
 */
export class BpeTokenizer implements TokenizerLike {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly bosId: number;
  /** Special token strings (added tokens flagged special), in id order. */
  readonly specials: readonly string[];
  private readonly added: readonly AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  /** Bytes an added token decodes to (its content through the ByteLevel decoder). */
  private readonly addedBytes = new Map<number, Uint8Array>();
  private readonly tokenBytes: (Uint8Array | null)[];
  private readonly rawVocab: Map<number, string>;
  private readonly merges: Array<[number, number, number]>;
  private readonly pipeline: PipelineSpec;
  private readonly ignoreMerges: boolean;
  /** pairKey(left,right) -> rank */
  private readonly mergeRank = new Map<number, number>();
  /** rank -> priority (lower first; ties leftmost first) */
  private readonly mergePrio: Int32Array;
  /**
   * byte value -> token id: the byte's token (byte-level BPE), or its `<0xNN>` token (SentencePiece-style; -1 when
   * the vocabulary lacks it).
   */
  private readonly byteIds = new Int32Array(256);
  /** ignore_merges: text of a token whose bytes are valid UTF-8 -> id. */
  private readonly textToId: Map<string, number> | null;
  /** Byte-level BPE (a ByteLevel pre-tokenizer): symbols are bytes. Otherwise symbols are characters. */
  private readonly byteLevel: boolean;
  /** Character-level BPE: every vocabulary string -> id (the crate's `vocab`). */
  private readonly vocabIds: Map<string, number> | null;
  private readonly byteFallback: boolean;
  /**
   * Character-level BPE whose vocabulary has "▁" and no token with "▁" after another character: no merge can cross
   * the start of a "▁" run, so a long piece (a whole SentencePiece text) is encoded word by word through the cache.
   */
  private readonly splitAtSpaceMark: boolean;
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private readonly unkToken: string | null;
  private readonly scores: Float32Array | null;
  private readonly decoder: CompiledDecoder;
  private readonly normalize: NormalizeFn | null;
  private readonly pre: CompiledPreTokenizer;
  private readonly post: CompiledPostProcessor;
  /** [all added tokens, added tokens without the special ones] for raw (normalized: false) matching. */
  private readonly rawMatchers: [AddedTokenMatcher, AddedTokenMatcher];
  private readonly normMatchers: [AddedTokenMatcher, AddedTokenMatcher];
  private cache = new Map<string, readonly number[]>();
  private static readonly CACHE_LIMIT = 200_000;
  private static readonly CACHE_WORD_CHARS = 256;
  private static readonly SPLIT_WORD_CHARS = 32;

  protected constructor(parts: BpeParts) {
    // the pipeline first: an unsupported component is the error a user needs to see
    this.normalize = compileNormalizer(parts.pipeline.normalizer);
    this.pre = compilePreTokenizer(parts.pipeline.pre_tokenizer);
    this.byteLevel = this.pre.byteLevel;
    this.post = compilePostProcessor(parts.pipeline.post_processor);
    this.decoder = compileDecoder(parts.pipeline.decoder, this.byteLevel);
    this.tokenBytes = parts.tokenBytes;
    this.merges = parts.merges;
    this.pipeline = parts.pipeline;
    this.ignoreMerges = parts.ignoreMerges;
    this.rawVocab = parts.rawVocab ?? new Map();
    this.added = [...parts.added].sort((a, b) => a.id - b.id);
    let size = parts.tokenBytes.length;
    for (const t of this.added) {
      if (this.addedByContent.has(t.content))
        throw new UserError(`tokenizer: added token ${JSON.stringify(t.content)} appears twice`);
      if (this.addedById.has(t.id)) throw new UserError(`tokenizer: two added tokens have id ${t.id}`);
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      this.addedBytes.set(t.id, (this.byteLevel ? byteLevelToBytes(t.content) : null) ?? utf8Encoder.encode(t.content));
      size = Math.max(size, t.id + 1);
    }
    if (size >= 2097152) throw new UserError("tokenizer: vocabulary too large (ids must be < 2097152)");
    for (let id = 0; id < size; id++) {
      if (!this.tokenBytes[id] && !this.addedById.has(id))
        throw new UserError(`tokenizer: id ${id} is neither a vocabulary token nor an added token`);
    }
    this.vocabSize = size;
    this.specials = this.added.filter((t) => t.special).map((t) => t.content);
    this.byteIds.fill(-1);
    this.byteFallback = !this.byteLevel && parts.byteFallback === true;
    this.fuseUnk = parts.fuseUnk === true;
    this.unkToken = parts.unkToken ?? null;
    this.scores = parts.scores ?? null;
    if (this.byteLevel) {
      this.vocabIds = null;
      for (let id = 0; id < parts.tokenBytes.length; id++) {
        const b = parts.tokenBytes[id];
        if (b && b.length === 1 && this.byteIds[b[0]!] === -1 && !this.rawVocab.has(id)) this.byteIds[b[0]!] = id;
      }
      for (let v = 0; v < 256; v++) {
        if (this.byteIds[v] === -1)
          throw new UserError(
            `tokenizer: vocabulary has no token for byte 0x${v.toString(16)} (byte-level BPE needs all 256)`,
          );
      }
      this.unkId = -1;
      this.splitAtSpaceMark = false;
    } else {
      // character-level BPE (SentencePiece style): symbols are the vocabulary's strings
      const vocabIds = new Map<string, number>();
      for (let id = 0; id < parts.tokenBytes.length; id++) {
        const s = this.rawVocab.get(id);
        if (s !== undefined) vocabIds.set(s, id);
      }
      this.vocabIds = vocabIds;
      for (let v = 0; v < 256; v++) {
        this.byteIds[v] = vocabIds.get(`<0x${v.toString(16).toUpperCase().padStart(2, "0")}>`) ?? -1;
      }
      const unk = this.unkToken === null ? undefined : vocabIds.get(this.unkToken);
      if (this.unkToken !== null && unk === undefined)
        throw new UserError(`tokenizer: model.unk_token ${JSON.stringify(this.unkToken)} is not in the vocabulary`);
      this.unkId = unk ?? -1;
      let inner = false;
      for (const t of vocabIds.keys()) if (/[^\u2581]\u2581/.test(t)) inner = true;
      this.splitAtSpaceMark = !inner && vocabIds.has("\u2581") && parts.ignoreMerges !== true;
    }
    for (let r = 0; r < parts.merges.length; r++) {
      const [a, b] = parts.merges[r]!;
      const k = pairKey(a, b);
      if (!this.mergeRank.has(k)) this.mergeRank.set(k, r);
    }
    if (parts.mergePriority && parts.mergePriority.length !== parts.merges.length)
      throw new UserError("tokenizer: one merge priority per merge is needed");
    this.mergePrio = parts.mergePriority ?? Int32Array.from(parts.merges, (_, r) => r);
    if (this.ignoreMerges && this.vocabIds) this.textToId = this.vocabIds;
    else if (this.ignoreMerges) {
      this.textToId = new Map();
      const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      for (let id = 0; id < parts.tokenBytes.length; id++) {
        const b = parts.tokenBytes[id];
        if (!b || this.rawVocab.has(id)) continue;
        try {
          const s = strict.decode(b);
          if (!this.textToId.has(s)) this.textToId.set(s, id);
        } catch {
          // not valid UTF-8 on its own: a pre-token (always whole UTF-8) can never equal it
        }
      }
    } else this.textToId = null;
    const raw = this.added.filter((t) => !t.normalized || !this.normalize);
    const norm = this.normalize ? this.added.filter((t) => t.normalized) : [];
    this.rawMatchers = [new AddedTokenMatcher(raw), new AddedTokenMatcher(raw.filter((t) => !t.special))];
    this.normMatchers = [new AddedTokenMatcher(norm), new AddedTokenMatcher(norm.filter((t) => !t.special))];
    const idOf = (s: string | null | undefined, fallback: string, dflt: number): number => {
      if (s === null) return -1;
      if (s !== undefined) {
        const t = this.addedByContent.get(s);
        if (!t)
          throw new UserError(
            `tokenizer: ${JSON.stringify(s)} (bos/eos token) is not an added token of this tokenizer`,
          );
        return t.id;
      }
      return this.addedByContent.get(fallback)?.id ?? dflt;
    };
    // Without a named bos/eos (tokenizer_config.json), the embedded names, else the embedded ids (as always).
    this.bosId = idOf(parts.bosToken, "<|bos|>", BOS_ID);
    this.eosId = idOf(parts.eosToken, "<|eos|>", EOS_ID);
  }

  /** The embedded model's layout: specials at ids 0..S-1 as special added tokens, GPT-2 pre-tokenization. */
  protected static embedded(
    specials: readonly string[],
    tokenBytes: (Uint8Array | null)[],
    merges: Array<[number, number, number]>,
  ): BpeTokenizer {
    validateSpecials(specials);
    const added: AddedToken[] = specials.map((content, id) => ({
      id,
      content,
      special: true,
      normalized: false,
      lstrip: false,
      rstrip: false,
      singleWord: false,
    }));
    return new BpeTokenizer({ tokenBytes, merges, added, pipeline: EMBEDDED_PIPELINE, ignoreMerges: false });
  }

  // ------------------------------------------------------------------ training

  /**
   * Trains a byte-level BPE on the texts (strings; special-token strings inside them are treated as separators and
   * never merged). Pair counts are maintained incrementally: each merge only touches the words containing the pair.
   */
  static async train(texts: Iterable<string> | AsyncIterable<string>, opts: TrainOptions): Promise<BpeTokenizer> {
    const specials = [...(opts.specials ?? SPECIAL_TOKENS)];
    validateSpecials(specials);
    const minFrequency = opts.minFrequency ?? 2;
    const base = specials.length + 256;
    if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < base) {
      throw new Error(
        `tokenizer: vocabSize must be an integer >= ${base} (specials + 256 bytes), got ${opts.vocabSize}`,
      );
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

    return BpeTokenizer.embedded(specials, tokenBytes, merges);
  }

  // ------------------------------------------------------------------ encoding

  /**
   * Token ids of the text. Added tokens flagged special (e.g. "<|eos|>", "<|im_end|>") are recognised unless
   * `allowSpecial` is false (then they are tokenized as ordinary characters; non-special added tokens still are
   * recognised, as in the Rust crate). `addSpecialTokens` applies the post-processor template.
   */
  encode(text: string, opts: EncodeFullOptions = {}): number[] {
    if (typeof text !== "string") throw new TypeError("tokenizer.encode: text must be a string");
    const out: number[] = [];
    const which = (opts.allowSpecial ?? true) ? 0 : 1;
    const rawM = this.rawMatchers[which];
    const normM = this.normMatchers[which];
    const push = (t: AddedToken): void => {
      out.push(t.id);
    };
    if (!this.normalize) rawM.split(text, (s, at) => this.encodeOrdinary(s, at === 0, out), push);
    else
      rawM.split(
        text,
        (seg, at) =>
          normM.split(this.normalize!(seg), (s, at2) => this.encodeOrdinary(s, at === 0 && at2 === 0, out), push),
        push,
      );
    if (opts.addSpecialTokens && (this.post.prefix.length || this.post.suffix.length)) {
      return [...this.post.prefix, ...out, ...this.post.suffix];
    }
    return out;
  }

  /** The pre-tokens (and added tokens) that BPE runs on, after normalization; for inspection. */
  pretokenize(text: string, opts: EncodeOptions = {}): string[] {
    const out: string[] = [];
    const which = (opts.allowSpecial ?? true) ? 0 : 1;
    const push = (t: AddedToken): void => {
      out.push(t.content);
    };
    const plain = (s: string, origin: boolean): void => this.pieces(s, origin, (p) => out.push(p));
    if (!this.normalize) this.rawMatchers[which].split(text, (s, at) => plain(s, at === 0), push);
    else
      this.rawMatchers[which].split(
        text,
        (seg, at) =>
          this.normMatchers[which].split(this.normalize!(seg), (s, at2) => plain(s, at === 0 && at2 === 0), push),
        push,
      );
    return out;
  }

  /** Like encode, as an Int32Array. */
  encodeToArray(text: string, opts: EncodeFullOptions = {}): Int32Array {
    return Int32Array.from(this.encode(text, opts));
  }

  /**
   * Pre-tokenizes normalized text (no added tokens in it) into pieces; `origin`: the text starts at offset 0 of
   * what was encoded (Metaspace's prepend_scheme "first").
   */
  private pieces(text: string, origin: boolean, emit: (p: string) => void): void {
    const steps = this.pre.steps;
    const run = (k: number, piece: string, o: boolean): void => {
      if (k === steps.length) emit(piece);
      else applyStep(steps[k]!, piece, o, (p, o2) => run(k + 1, p, o2));
    };
    run(0, text, origin);
  }

  private encodeOrdinary(text: string, origin: boolean, out: number[]): void {
    const re = this.pre.single;
    if (!re) {
      this.pieces(text, origin, (w) => this.pushWord(w, out));
      return;
    }
    // fast path: one Isolated regex split is the whole pre-tokenizer; gaps between matches are pieces too
    const cache = this.cache;
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const w = m[0];
      if (w.length === 0) {
        re.lastIndex++;
        continue;
      }
      if (m.index > last) this.pushWord(text.slice(last, m.index), out);
      last = m.index + w.length;
      const ids = cache.get(w);
      if (ids === undefined) this.pushWord(w, out);
      else for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
    if (last < text.length) this.pushWord(last === 0 ? text : text.slice(last), out);
  }

  /** Appends the ids of one pre-token (through the word cache; a long piece, e.g. a whole SentencePiece text, is not cached). */
  private pushWord(w: string, out: number[]): void {
    if (this.splitAtSpaceMark && w.length > BpeTokenizer.SPLIT_WORD_CHARS) {
      // split before each "▁" run (no merge crosses it; see splitAtSpaceMark) and encode the words through the cache
      let start = 0;
      for (let i = w.indexOf("\u2581", 1); i > 0; i = w.indexOf("\u2581", i + 1)) {
        if (w.charCodeAt(i - 1) !== 0x2581) {
          this.pushCachedWord(w.slice(start, i), out);
          start = i;
        }
      }
      this.pushCachedWord(start === 0 ? w : w.slice(start), out);
      return;
    }
    this.pushCachedWord(w, out);
  }

  private pushCachedWord(w: string, out: number[]): void {
    let ids = this.cache.get(w);
    if (ids === undefined) {
      ids = this.bpeWord(w);
      if (w.length <= BpeTokenizer.CACHE_WORD_CHARS) {
        if (this.cache.size >= BpeTokenizer.CACHE_LIMIT) this.cache.clear();
        this.cache.set(w, ids);
      }
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  /**
   * The initial symbols of a character-level pre-token, as the crate's BPE makes them: each character's token;
   * else (byte_fallback) its `<0xNN>` tokens if the vocabulary has them all; else the unk token (a run of them
   * fused with fuse_unk; an unk is emitted once the next known character or the end is reached, so it follows
   * byte-fallback tokens that came after it, as in the crate); without an unk token the character is dropped.
   */
  private charSymbols(word: string): number[] {
    const vocab = this.vocabIds!;
    const sym: number[] = [];
    let pendingUnk = false;
    for (const ch of word) {
      const id = vocab.get(ch);
      if (id !== undefined) {
        if (pendingUnk) {
          sym.push(this.unkId);
          pendingUnk = false;
        }
        sym.push(id);
        continue;
      }
      if (this.byteFallback) {
        const cp = ch.codePointAt(0)!;
        const bytes = cp < 0x80 ? [cp] : utf8Encoder.encode(ch);
        let ok = true;
        for (const b of bytes) if (this.byteIds[b]! < 0) ok = false;
        if (ok) {
          for (const b of bytes) sym.push(this.byteIds[b]!);
          continue;
        }
      }
      if (this.unkId >= 0) {
        if (pendingUnk && !this.fuseUnk) sym.push(this.unkId);
        pendingUnk = true;
      }
    }
    if (pendingUnk) sym.push(this.unkId);
    return sym;
  }

  /** BPE of one pre-token. */
  private bpeWord(word: string): number[] {
    if (this.textToId) {
      const whole = this.textToId.get(word);
      if (whole !== undefined) return [whole];
    }
    if (!this.byteLevel) {
      const sym = this.charSymbols(word);
      if (sym.length < 2 || this.merges.length === 0) return sym;
      return sym.length <= 48 ? this.bpeSmall(sym) : this.bpeLarge(sym);
    }
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
    const prio = this.mergePrio;
    const merges = this.merges;
    for (;;) {
      let best = Infinity;
      let at = -1;
      let bestRank = -1;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = ranks.get(pairKey(sym[i]!, sym[i + 1]!));
        if (r !== undefined && prio[r]! < best) {
          best = prio[r]!;
          at = i;
          bestRank = r;
        }
      }
      if (at < 0) return sym;
      sym.splice(at, 2, merges[bestRank]![2]);
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
    const prio = this.mergePrio;
    const merges = this.merges;
    // entries: [priority, pos, leftSym, rightSym, rank]
    const heap = new Heap<[number, number, number, number, number]>(
      (x, y) => x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]),
    );
    const consider = (i: number): void => {
      const j = next[i]!;
      if (i < 0 || j < 0) return;
      const r = ranks.get(pairKey(sym[i]!, sym[j]!));
      if (r !== undefined) heap.push([prio[r]!, i, sym[i]!, sym[j]!, r]);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const [, i, ls, rs, r] = heap.pop()!;
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

  /** Bytes one id decodes to (unknown ids: U+FFFD's bytes). */
  private idBytes(id: number): Uint8Array {
    const ab = this.addedBytes.get(id);
    if (ab) return ab;
    const tb = Number.isInteger(id) && id >= 0 && id < this.tokenBytes.length ? this.tokenBytes[id] : undefined;
    return tb ?? REPLACEMENT_BYTES;
  }

  /**
   * Exact bytes of the ids (added tokens contribute their text; unknown ids contribute U+FFFD's bytes). A tokenizer
   * with a decoder chain (SentencePiece style) gives the UTF-8 of decode(ids), which is what its decoder defines.
   */
  decodeBytes(ids: readonly number[] | Int32Array, opts: DecodeOptions = {}): Uint8Array {
    if (this.decoder.kind === "chain") return utf8Encoder.encode(this.decode(ids, opts));
    let total = 0;
    const parts: Uint8Array[] = [];
    const skip = opts.skipSpecialTokens === true;
    for (const id of ids) {
      if (skip && this.addedById.get(id)?.special) continue;
      const b = this.idBytes(id);
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

  /**
   * Text of the ids; never throws (invalid UTF-8 and unknown ids become U+FFFD). Byte-level BPE concatenates the
   * tokens' bytes; otherwise the token strings go through the decoder chain (e.g. Llama-2's Replace("▁", " "),
   * ByteFallback, Fuse, Strip: one leading space removed), exactly as the Rust crate decodes them.
   */
  decode(ids: readonly number[] | Int32Array, opts: DecodeOptions = {}): string {
    if (this.decoder.kind === "bytes") return utf8Decoder.decode(this.decodeBytes(ids, opts));
    const skip = opts.skipSpecialTokens === true;
    const toks: string[] = [];
    for (const id of ids) {
      const a = this.addedById.get(id);
      if (a) {
        if (!(skip && a.special)) toks.push(a.content);
        continue;
      }
      toks.push(this.rawVocab.get(id) ?? "\ufffd");
    }
    return runDecoderChain(this.decoder.steps, this.decoder.joiner, toks);
  }

  /**
   * Incremental decoder for streaming generation: push(ids) returns the text completed so far, holding back the
   * bytes of a UTF-8 character that is not finished yet; end() flushes (an unfinished character becomes U+FFFD).
   * The concatenation of all returned pieces equals decode(allIds). With a decoder chain, trailing `<0xNN>` tokens
   * are held back (the run they belong to may still grow) and the text is re-decoded from the first id, so the
   * first-token rules (Strip, Metaspace) stay exact.
   */
  streamDecoder(opts: DecodeOptions = {}): { push(ids: readonly number[] | Int32Array): string; end(): string } {
    if (this.decoder.kind === "chain") {
      const all: number[] = [];
      let emitted = "";
      const flushTo = (n: number): string => {
        const text = this.decode(all.slice(0, n), opts);
        if (!text.startsWith(emitted)) return ""; // a trailing Strip may still change: wait for more ids
        const piece = text.slice(emitted.length);
        emitted = text;
        return piece;
      };
      return {
        push: (ids) => {
          for (const id of ids) all.push(id);
          let n = all.length;
          while (n > 0 && !this.addedById.has(all[n - 1]!) && byteTokenValue(this.rawVocab.get(all[n - 1]!) ?? "") >= 0)
            n--;
          return flushTo(n);
        },
        end: () => {
          const text = this.decode(all, opts);
          return text.startsWith(emitted) ? text.slice(emitted.length) : "";
        },
      };
    }
    const dec = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
    return {
      push: (ids) => dec.decode(this.decodeBytes(ids, opts), { stream: true }),
      end: () => dec.decode(),
    };
  }

  /** Id of an added token such as "<|eos|>" or "<|im_end|>", undefined if the tokenizer lacks it. */
  tokenId(special: string): number | undefined {
    return this.addedByContent.get(special)?.id;
  }

  /** Whether the id is an added token flagged special. */
  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special === true;
  }

  /** The added token with this id (a copy), if any. */
  addedToken(id: number): AddedToken | undefined {
    const t = this.addedById.get(id);
    return t ? { ...t } : undefined;
  }

  /** All added tokens (copies), in id order. */
  addedTokens(): AddedToken[] {
    return this.added.map((t) => ({ ...t }));
  }

  /** Bytes of a vocabulary token (a copy), or null for added-only / out-of-range ids. */
  tokenBytesOf(id: number): Uint8Array | null {
    if (this.addedById.has(id)) return null;
    const b = this.tokenBytes[id];
    return b ? b.slice() : null;
  }

  /** The token strings in id order, in GPT-2 byte-level form (added tokens as their literal text). */
  tokenStrings(): string[] {
    const out: string[] = new Array(this.vocabSize);
    for (let id = 0; id < this.vocabSize; id++) out[id] = this.tokenString(id);
    return out;
  }

  private tokenString(id: number): string {
    const t = this.addedById.get(id);
    if (t) return t.content;
    return this.rawVocab.get(id) ?? bytesToByteLevel(this.tokenBytes[id]!);
  }

  private vocabString(id: number): string {
    return this.rawVocab.get(id) ?? bytesToByteLevel(this.tokenBytes[id]!);
  }

  /** The merges in rank order as "left right" byte-level strings (tokenizer.json / GGUF form). */
  mergeStrings(): string[] {
    return this.merges.map(([a, b]) => `${this.vocabString(a)} ${this.vocabString(b)}`);
  }

  get numMerges(): number {
    return this.merges.length;
  }

  /** The pre-tokenizer JSON (what GGUF export maps to tokenizer.ggml.pre). */
  get preTokenizerSpec(): Json {
    return this.pipeline.pre_tokenizer;
  }

  /** The tokenizer.json pipeline components (a copy of their JSON). */
  get pipelineSpec(): PipelineSpec {
    return JSON.parse(JSON.stringify(this.pipeline)) as PipelineSpec;
  }

  /** Byte-level BPE (ByteLevel pre-tokenizer) rather than SentencePiece-style character-level BPE. */
  get isByteLevel(): boolean {
    return this.byteLevel;
  }

  /** The model's unk token id (-1: none), and whether unknown characters fall back to `<0xNN>` tokens. */
  get unknown(): { unkId: number; byteFallback: boolean; fuseUnk: boolean } {
    return { unkId: this.unkId, byteFallback: this.byteFallback, fuseUnk: this.fuseUnk };
  }

  /** The ids the post-processor puts before and after a sequence (encode with addSpecialTokens). */
  get template(): { prefix: number[]; suffix: number[] } {
    return { prefix: [...this.post.prefix], suffix: [...this.post.suffix] };
  }

  /** SentencePiece scores per token, when the tokenizer came with them (a GGUF "llama" tokenizer). */
  get tokenScores(): Float32Array | null {
    return this.scores ? this.scores.slice() : null;
  }

  /** The merges in rank order as [left id, right id, result id]. */
  mergeIds(): Array<[number, number, number]> {
    return this.merges.map((m) => [m[0], m[1], m[2]]);
  }

  // ------------------------------------------------------------------ serialization

  /** A Hugging Face `tokenizer.json` object: the BPE model, the added tokens and the pipeline components. */
  toHuggingFaceJSON(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    for (let id = 0; id < this.tokenBytes.length; id++) if (this.tokenBytes[id]) vocab[this.vocabString(id)] = id;
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.added.map(addedTokenJSON),
      normalizer: this.pipeline.normalizer,
      pre_tokenizer: this.pipeline.pre_tokenizer,
      post_processor: this.pipeline.post_processor,
      decoder: this.pipeline.decoder,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: this.unkToken,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: this.fuseUnk,
        byte_fallback: this.byteFallback,
        ignore_merges: this.ignoreMerges,
        vocab,
        // character-level tokens may contain spaces: the crate's [left, right] form says where a merge splits
        merges: this.byteLevel
          ? this.mergeStrings()
          : this.merges.map(([a, b]) => [this.vocabString(a), this.vocabString(b)]),
      },
    };
  }

  /** Writes a Hugging Face `tokenizer.json` (atomically: temp file + rename). */
  save(file: string): void {
    writeFileAtomic(file, JSON.stringify(this.toHuggingFaceJSON()));
  }

  /** Loads a `tokenizer.json` (one written by save() or a Hugging Face model's). */
  static load(file: string, opts: FromJSONOptions = {}): BpeTokenizer {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new UserError(`tokenizer: cannot read ${file}: ${(e as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new UserError(`tokenizer: ${file} is not valid JSON: ${(e as Error).message}`);
    }
    try {
      return BpeTokenizer.fromJSON(obj, opts);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${e.message} (in ${file})`);
      throw e;
    }
  }

  /** Builds a tokenizer from a Hugging Face tokenizer.json object; validates it with clear errors. */
  static fromJSON(obj: unknown, opts: FromJSONOptions = {}): BpeTokenizer {
    const fail = (msg: string): never => {
      throw new UserError(`tokenizer.json: ${msg}`);
    };
    if (!obj || typeof obj !== "object") fail("expected an object");
    const o = obj as Record<string, Json>;
    const model = o.model as JsonObject | undefined;
    if (!model || typeof model !== "object") fail("missing 'model'");
    if (model!.type !== undefined && model!.type !== "BPE")
      fail(
        `model.type ${JSON.stringify(model!.type)} is not supported (supported: "BPE" — byte-level, or SentencePiece-style with byte_fallback; Unigram, WordPiece and WordLevel models are not)`,
      );
    if (model!.dropout != null && model!.dropout !== 0) fail("model.dropout is not supported");
    for (const k of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
      if (model![k] != null && model![k] !== "")
        fail(`model.${k} is not supported (supported: byte-level and SentencePiece-style BPE, which have none)`);
    }
    // a ByteLevel pre-tokenizer makes the BPE byte-level (vocabulary strings are GPT-2's byte mapping); without
    // one the vocabulary strings are the characters themselves (SentencePiece style: "▁" for a space, <0xNN>)
    const byteLevel = hasByteLevel(o.pre_tokenizer);
    const unk = model!.unk_token;
    if (unk != null && typeof unk !== "string") fail("model.unk_token must be a string or null");
    const vocab = model!.vocab as JsonObject | undefined;
    if (!vocab || typeof vocab !== "object" || Array.isArray(vocab)) fail("missing model.vocab");
    const added = (Array.isArray(o.added_tokens) ? o.added_tokens : []).map(parseAddedToken);
    const addedById = new Map(added.map((t) => [t.id, t]));
    let maxId = -1;
    for (const v of Object.values(vocab!)) {
      if (!Number.isInteger(v) || (v as number) < 0) fail("vocab ids must be non-negative integers");
      maxId = Math.max(maxId, v as number);
    }
    if (maxId + 1 >= 2097152) fail("vocabulary too large");
    const tokenBytes: (Uint8Array | null)[] = new Array(maxId + 1).fill(null);
    const rawVocab = new Map<number, string>();
    const strToId = new Map<string, number>();
    for (const [s, v] of Object.entries(vocab!)) {
      const id = v as number;
      if (tokenBytes[id]) fail(`id ${id} is used twice in model.vocab`);
      strToId.set(s, id);
      if (!byteLevel) {
        if (s === "") fail(`vocab entry "" (id ${id}) is empty`);
        tokenBytes[id] = utf8Encoder.encode(s);
        rawVocab.set(id, s);
        continue;
      }
      const bytes = byteLevelToBytes(s);
      if (bytes && bytes.length > 0) tokenBytes[id] = bytes;
      else {
        // not byte-level text (e.g. an added token's content also listed in the vocabulary): the ByteLevel
        // decoder emits such a token's UTF-8 text, and BPE can only produce it through merges of its parts
        if (s === "" && !addedById.has(id)) fail(`vocab entry "" (id ${id}) is empty`);
        tokenBytes[id] = utf8Encoder.encode(s);
        rawVocab.set(id, s);
      }
    }
    const rawMerges = model!.merges ?? [];
    if (!Array.isArray(rawMerges)) fail("model.merges must be an array");
    const merges: Array<[number, number, number]> = [];
    for (const m of rawMerges as Json[]) {
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
      if (a === undefined || b === undefined || c === undefined)
        fail(`merge ${JSON.stringify(m)} refers to unknown tokens`);
      merges.push([a!, b!, c!]);
    }
    const pipeline: PipelineSpec = {
      normalizer: o.normalizer ?? null,
      pre_tokenizer: o.pre_tokenizer ?? null,
      post_processor: o.post_processor ?? null,
      decoder: o.decoder ?? null,
    };
    return new BpeTokenizer({
      tokenBytes,
      merges,
      added,
      pipeline,
      ignoreMerges: model!.ignore_merges === true,
      rawVocab,
      bosToken: opts.bosToken,
      eosToken: opts.eosToken,
      byteFallback: model!.byte_fallback === true,
      unkToken: (unk as string | null | undefined) ?? null,
      fuseUnk: model!.fuse_unk === true,
    });
  }

  /** Builds a tokenizer from parts (used by the GGUF reader); same validation as fromJSON. */
  static fromParts(parts: BpeParts): BpeTokenizer {
    return new BpeTokenizer(parts);
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
    super({
      tokenBytes,
      merges: [],
      added: specials.map((content, id) => ({
        id,
        content,
        special: true,
        normalized: false,
        lstrip: false,
        rstrip: false,
        singleWord: false,
      })),
      pipeline: EMBEDDED_PIPELINE,
      ignoreMerges: false,
    });
  }
}

/** Loads a tokenizer from a checkpoint directory (its tokenizer.json) or a tokenizer.json file. */
export function loadTokenizer(p: string, opts: FromJSONOptions = {}): BpeTokenizer {
  const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, "tokenizer.json") : p;
  return BpeTokenizer.load(file, opts);
}
