/**
 * The tokenizer a GGUF file carries (`tokenizer.ggml.*` metadata) as the project's one BpeTokenizer, and back.
 *
 * Read: `tokenizer.ggml.model` "gpt2" (byte-level BPE) or "llama" (SentencePiece, below). Tokens of type NORMAL (and UNUSED/UNKNOWN/BYTE
 * rows) form the BPE vocabulary; CONTROL tokens become special added tokens and USER_DEFINED tokens non-special
 * added tokens (both split out of the text before BPE, as llama.cpp does). `tokenizer.ggml.pre` names the
 * pre-tokenizer; it maps to the same pipeline the model's Hugging Face tokenizer.json uses:
 *   gpt-2        ByteLevel with GPT-2's regex (the embedded model's export)
 *   qwen2        NFC + the Qwen2 Split regex (Qwen2, Qwen2.5, Qwen2.5-Coder, Qwen3)
 *   llama-bpe    the Llama-3 Split regex, ignore_merges (Llama-3.x)
 *   deepseek-v3  DeepSeek-V3's three Splits
 * `add_bos_token` becomes a post-processor template that puts BOS first (encode with addSpecialTokens).
 *
 * "llama" is llama.cpp's SentencePiece tokenizer (LLAMA_VOCAB_TYPE_SPM), rebuilt as the legacy Llama-2
 * tokenizer.json layout it equals: normalizer Prepend("▁") (when `add_space_prefix`, default true) +
 * Replace(" ", "▁") on each text segment between split-out tokens (llama.cpp prefixes a space to the first
 * fragment and to each one after a special token), no pre-tokenizer, byte fallback to the BYTE tokens `<0xNN>`,
 * and the decoder Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0). llama.cpp merges by score, not by
 * merge rank: any two adjacent symbols whose concatenation is a token (of any type) merge, the highest
 * `tokenizer.ggml.scores` first, the leftmost on equal scores. That is a merge table of every split of every
 * token into two tokens, with the token's score as priority (ties leftmost), which the one BPE runs as it is.
 * CONTROL and UNKNOWN tokens are special added tokens, USER_DEFINED ones non-special added tokens (split out
 * of the text first, as llama.cpp's partition does; with parse_special off only USER_DEFINED ones are).
 * One difference is left: a character that is not a token is turned into byte tokens before merging, where
 * llama.cpp would still merge it with a neighbour whose concatenation is a token (SentencePiece vocabularies
 * hold no token with a character that is not itself a token, so real files never meet it).
 *
 * Write: `ggufTokenizerMetadata` gives tokens, token types, merges (gpt2) or scores (llama), the pre-tokenizer name
 * (gpt2) and the llama flags for export.
 */
import { UserError } from "../core/errors.js";
import type { GgufValue } from "./gguf.js";
import type { AddedToken, Json, JsonObject } from "./tokenizer-pipeline.js";
import { BpeTokenizer, EMBEDDED_PIPELINE, byteLevelToBytes, type PipelineSpec } from "./tokenizer.js";

/** llama.cpp token types (tokenizer.ggml.token_type). */
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;
const BYTE = 6;
const SPACE_MARK = "\u2581";

const QWEN2_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const DEEPSEEK_V3_REGEXES = [
  "\\p{N}{1,3}",
  "[一-龥぀-ゟ゠-ヿ]+",
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

const split = (regex: string): JsonObject => ({
  type: "Split",
  pattern: { Regex: regex },
  behavior: "Isolated",
  invert: false,
});
const byteLevelNoRegex: JsonObject = {
  type: "ByteLevel",
  add_prefix_space: false,
  trim_offsets: false,
  use_regex: false,
};
const sequence = (regexes: string[]): JsonObject => ({
  type: "Sequence",
  pretokenizers: [...regexes.map(split), byteLevelNoRegex],
});

interface PreSpec {
  normalizer: Json;
  pre_tokenizer: JsonObject;
  /** Split regexes in order (empty for GPT-2's ByteLevel regex); how an exported tokenizer is recognised. */
  regexes: string[];
  ignoreMerges: boolean;
}

const PRE: Record<string, PreSpec> = {
  "gpt-2": {
    normalizer: null,
    pre_tokenizer: EMBEDDED_PIPELINE.pre_tokenizer as JsonObject,
    regexes: [],
    ignoreMerges: false,
  },
  qwen2: {
    normalizer: { type: "NFC" },
    pre_tokenizer: sequence([QWEN2_REGEX]),
    regexes: [QWEN2_REGEX],
    ignoreMerges: false,
  },
  "llama-bpe": {
    normalizer: null,
    pre_tokenizer: sequence([LLAMA3_REGEX]),
    regexes: [LLAMA3_REGEX],
    ignoreMerges: true,
  },
  "deepseek-v3": {
    normalizer: null,
    pre_tokenizer: sequence(DEEPSEEK_V3_REGEXES),
    regexes: DEEPSEEK_V3_REGEXES,
    ignoreMerges: false,
  },
};
const PRE_ALIASES: Record<string, string> = { llama3: "llama-bpe", qwen3: "qwen2" };
export const GGUF_PRE_TOKENIZERS: readonly string[] = Object.keys(PRE);

function arr(md: Map<string, GgufValue>, key: string, required: boolean): unknown[] | null {
  const v = md.get(key);
  if (!v) {
    if (required) throw new UserError(`gguf: no ${key} in the metadata (a GGUF needs its tokenizer to be used here)`);
    return null;
  }
  if (v.type !== "array") throw new UserError(`gguf: ${key} must be an array`);
  return v.value;
}

function scalar(md: Map<string, GgufValue>, key: string): unknown {
  const v = md.get(key);
  return v && v.type !== "array" ? v.value : undefined;
}

/** A TemplateProcessing post-processor putting BOS first and/or EOS last, or null when neither is added. */
function bosEosTemplate(
  added: readonly AddedToken[],
  bos: string | null,
  eos: string | null,
  addBos: boolean,
  addEos: boolean,
): Json {
  const b = addBos && bos !== null ? bos : null;
  const e = addEos && eos !== null ? eos : null;
  if (b === null && e === null) return null;
  const special = (t: string): JsonObject => ({ SpecialToken: { id: t, type_id: 0 } });
  const seq = (id: string, typeId: number): JsonObject => ({ Sequence: { id, type_id: typeId } });
  const specials: JsonObject = {};
  for (const t of [b, e])
    if (t !== null) specials[t] = { id: t, ids: [added.find((x) => x.content === t)!.id], tokens: [t] };
  const wrap = (inner: JsonObject[]): JsonObject[] => [
    ...(b !== null ? [special(b)] : []),
    ...inner,
    ...(e !== null ? [special(e)] : []),
  ];
  return {
    type: "TemplateProcessing",
    single: wrap([seq("A", 0)]),
    pair: wrap([seq("A", 0), seq("B", 1)]),
    special_tokens: specials,
  };
}

/** Builds the GGUF's own tokenizer from its metadata. */
export function tokenizerFromGguf(md: Map<string, GgufValue>): BpeTokenizer {
  const model = scalar(md, "tokenizer.ggml.model");
  if (model === "llama") return spmFromGguf(md);
  if (model !== "gpt2") {
    throw new UserError(
      `gguf: tokenizer.ggml.model ${JSON.stringify(model)} is not supported (supported: "gpt2" (byte-level BPE), "llama" (SentencePiece))`,
    );
  }
  const preRaw = String(scalar(md, "tokenizer.ggml.pre") ?? "gpt-2");
  const preName = PRE_ALIASES[preRaw] ?? preRaw;
  const pre = PRE[preName];
  if (!pre)
    throw new UserError(
      `gguf: tokenizer.ggml.pre ${JSON.stringify(preRaw)} is not supported (supported: ${GGUF_PRE_TOKENIZERS.join(", ")})`,
    );
  const tokens = arr(md, "tokenizer.ggml.tokens", true)!;
  const types = arr(md, "tokenizer.ggml.token_type", false);
  const merges = arr(md, "tokenizer.ggml.merges", false) ?? [];
  if (types && types.length !== tokens.length)
    throw new UserError(`gguf: ${types.length} token types for ${tokens.length} tokens`);
  const tokenBytes: (Uint8Array | null)[] = new Array(tokens.length).fill(null);
  const rawVocab = new Map<number, string>();
  const added: AddedToken[] = [];
  const idOf = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (typeof t !== "string") throw new UserError(`gguf: token ${id} is not a string`);
    const type = types ? Number(types[id]) : NORMAL;
    if (type === CONTROL || type === USER_DEFINED) {
      added.push({
        id,
        content: t,
        special: type === CONTROL,
        normalized: false,
        lstrip: false,
        rstrip: false,
        singleWord: false,
      });
      return;
    }
    if (type !== NORMAL && type !== UNUSED && type !== UNKNOWN && type !== BYTE)
      throw new UserError(`gguf: token ${id} has unknown type ${type}`);
    if (!idOf.has(t)) idOf.set(t, id);
    const b = byteLevelToBytes(t);
    if (b && b.length > 0) tokenBytes[id] = b;
    else {
      tokenBytes[id] = new TextEncoder().encode(t);
      rawVocab.set(id, t);
    }
  });
  const mergeIds: Array<[number, number, number]> = merges.map((m, r) => {
    const s = String(m);
    const sp = s.indexOf(" ");
    const a = idOf.get(s.slice(0, sp));
    const b = idOf.get(s.slice(sp + 1));
    const c = idOf.get(s.slice(0, sp) + s.slice(sp + 1));
    if (sp <= 0 || a === undefined || b === undefined || c === undefined)
      throw new UserError(`gguf: merge ${r} ${JSON.stringify(s)} refers to unknown tokens`);
    return [a, b, c];
  });
  const tokenAt = (key: string): string | null => {
    const id = scalar(md, key);
    if (id === undefined) return null;
    const n = Number(id);
    const t = added.find((x) => x.id === n);
    if (!t) throw new UserError(`gguf: ${key} = ${n} is not a control token`);
    return t.content;
  };
  const bos = tokenAt("tokenizer.ggml.bos_token_id");
  const eos = tokenAt("tokenizer.ggml.eos_token_id");
  const addBos = scalar(md, "tokenizer.ggml.add_bos_token") === true && bos !== null;
  const pipeline: PipelineSpec = {
    normalizer: pre.normalizer,
    pre_tokenizer: pre.pre_tokenizer,
    post_processor: bosEosTemplate(added, bos, eos, addBos, false),
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  };
  return BpeTokenizer.fromParts({
    tokenBytes,
    merges: mergeIds,
    added,
    pipeline,
    ignoreMerges: pre.ignoreMerges,
    rawVocab,
    bosToken: bos,
    eosToken: eos,
  });
}

/** The legacy Llama-2 pipeline llama.cpp's SPM tokenizer equals (see the header). */
function spmPipeline(addSpacePrefix: boolean, post: Json): PipelineSpec {
  const replace: JsonObject = { type: "Replace", pattern: { String: " " }, content: SPACE_MARK };
  return {
    normalizer: addSpacePrefix
      ? { type: "Sequence", normalizers: [{ type: "Prepend", prepend: SPACE_MARK }, replace] }
      : replace,
    pre_tokenizer: null,
    post_processor: post,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE_MARK }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        ...(addSpacePrefix ? [{ type: "Strip", content: " ", start: 1, stop: 0 }] : []),
      ],
    },
  };
}

/** The split points of a string at code point boundaries (1 .. length-1 in UTF-16 units). */
function splitPoints(t: string): number[] {
  const out: number[] = [];
  let i = 0;
  for (const ch of t) {
    i += ch.length;
    if (i < t.length) out.push(i);
  }
  return out;
}

/** llama.cpp's SentencePiece tokenizer (tokenizer.ggml.model "llama") as a BpeTokenizer merging by score. */
function spmFromGguf(md: Map<string, GgufValue>): BpeTokenizer {
  const tokens = arr(md, "tokenizer.ggml.tokens", true)!;
  const types = arr(md, "tokenizer.ggml.token_type", false);
  const rawScores = arr(md, "tokenizer.ggml.scores", false);
  const n = tokens.length;
  if (types && types.length !== n) throw new UserError(`gguf: ${types.length} token types for ${n} tokens`);
  if (rawScores && rawScores.length !== n) throw new UserError(`gguf: ${rawScores.length} scores for ${n} tokens`);
  // llama.cpp reads a missing score as 0
  const scores = Float32Array.from({ length: n }, (_, i) => (rawScores ? Number(rawScores[i]) : 0));
  const tokenBytes: (Uint8Array | null)[] = new Array(n).fill(null);
  const rawVocab = new Map<number, string>();
  const added: AddedToken[] = [];
  const idOf = new Map<string, number>(); // llama.cpp's text_to_token: a later duplicate wins
  const enc = new TextEncoder();
  tokens.forEach((t, id) => {
    if (typeof t !== "string") throw new UserError(`gguf: token ${id} is not a string`);
    const type = types ? Number(types[id]) : NORMAL;
    if (!(type >= NORMAL && type <= BYTE)) throw new UserError(`gguf: token ${id} has unknown type ${type}`);
    tokenBytes[id] = enc.encode(t);
    rawVocab.set(id, t);
    idOf.set(t, id);
    if ((type === CONTROL || type === UNKNOWN || type === USER_DEFINED) && t !== "") {
      added.push({
        id,
        content: t,
        special: type !== USER_DEFINED,
        normalized: false,
        lstrip: false,
        rstrip: false,
        singleWord: false,
      });
    }
  });
  // every split of a token into two tokens is a merge into it, with the token's score as priority
  const entries: Array<[number, number, number]> = [];
  for (let id = 0; id < n; id++) {
    const t = tokens[id] as string;
    if (idOf.get(t) !== id) continue;
    for (const at of splitPoints(t)) {
      const a = idOf.get(t.slice(0, at));
      const b = idOf.get(t.slice(at));
      if (a !== undefined && b !== undefined) entries.push([a, b, id]);
    }
  }
  entries.sort((x, y) => scores[y[2]]! - scores[x[2]]!); // stable: equal scores keep their order
  const priority = new Int32Array(entries.length);
  for (let r = 1; r < entries.length; r++)
    priority[r] = priority[r - 1]! + (scores[entries[r]![2]] === scores[entries[r - 1]![2]] ? 0 : 1);
  const id = (key: string, dflt: number): number | null => {
    const v = scalar(md, key);
    const k = v === undefined ? dflt : Number(v);
    return k >= 0 && k < n ? k : null;
  };
  const bosId = id("tokenizer.ggml.bos_token_id", 1);
  const eosId = id("tokenizer.ggml.eos_token_id", 2);
  const unkId = id("tokenizer.ggml.unknown_token_id", 0);
  const asAdded = (k: number | null, what: string): string | null => {
    if (k === null) return null;
    const t = added.find((x) => x.id === k);
    if (!t) throw new UserError(`gguf: the ${what} token ${k} is not a control token`);
    return t.content;
  };
  const bos = asAdded(bosId, "BOS");
  const eos = asAdded(eosId, "EOS");
  const flag = (key: string, dflt: boolean): boolean => {
    const v = scalar(md, key);
    return typeof v === "boolean" ? v : dflt;
  };
  const addSpacePrefix = flag("tokenizer.ggml.add_space_prefix", true);
  const post = bosEosTemplate(
    added,
    bos,
    eos,
    flag("tokenizer.ggml.add_bos_token", true),
    flag("tokenizer.ggml.add_eos_token", false),
  );
  return BpeTokenizer.fromParts({
    tokenBytes,
    merges: entries,
    mergePriority: priority,
    added,
    pipeline: spmPipeline(addSpacePrefix, post),
    ignoreMerges: false,
    rawVocab,
    bosToken: bos,
    eosToken: eos,
    byteFallback: true,
    unkToken: unkId === null ? null : (tokens[unkId] as string),
    fuseUnk: false,
    scores,
  });
}

/**
 * Whether a SentencePiece-style tokenizer prepends "▁" to the text (add_space_prefix), if its pipeline is one
 * llama.cpp's SPM tokenizer runs: the legacy normalizer [Prepend("▁"),] Replace(" ", "▁") with no pre-tokenizer,
 * or no normalizer and a Metaspace("▁") pre-tokenizer (split false; split true only when no token has "▁" inside,
 * which then splits nothing a merge could cross). Otherwise a UserError naming what is found.
 */
function spmSpacePrefix(tok: BpeTokenizer): boolean {
  const { normalizer: norm, pre_tokenizer: pre } = tok.pipelineSpec;
  const isObj = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
  const isReplace = (v: Json): boolean =>
    isObj(v) && v.type === "Replace" && isObj(v.pattern) && v.pattern.String === " " && v.content === SPACE_MARK;
  const isPrepend = (v: Json): boolean => isObj(v) && v.type === "Prepend" && v.prepend === SPACE_MARK;
  if (pre === null) {
    if (isReplace(norm)) return false;
    if (isObj(norm) && norm.type === "Sequence" && Array.isArray(norm.normalizers)) {
      const l = norm.normalizers;
      if (l.length === 2 && isPrepend(l[0]!) && isReplace(l[1]!)) return true;
      if (l.length === 1 && isReplace(l[0]!)) return false;
    }
  } else if (norm === null && isObj(pre) && pre.type === "Metaspace" && pre.replacement === SPACE_MARK) {
    const inside = tok.tokenStrings().some((t) => t.indexOf(SPACE_MARK, 1) > 0);
    if (pre.split === false || !inside) {
      const scheme = pre.prepend_scheme ?? (pre.add_prefix_space === false ? "never" : "always");
      return scheme !== "never";
    }
  }
  throw new UserError(
    `gguf export: llama.cpp's SentencePiece tokenizer cannot run this pipeline (normalizer ${JSON.stringify(norm)}, ` +
      `pre_tokenizer ${JSON.stringify(pre)}); supported: normalizer [Prepend("▁"),] Replace(" ", "▁") with no ` +
      `pre_tokenizer, or a Metaspace("▁") pre_tokenizer with split false`,
  );
}

/**
 * GGUF "llama" tokenizer data of a SentencePiece-style tokenizer: tokens, scores and types. Scores: the file's own
 * when it came from a GGUF; else each token's merge rank, negated (the first merge that makes it; tokens no merge
 * makes get lower scores), so llama.cpp's score order is the merge order. That is only the same tokenizer when
 * every split of a token into two tokens is a merge (as in tokenizers converted from SentencePiece by transformers):
 * llama.cpp merges any such pair. Otherwise, or without the 256 `<0xNN>` tokens llama.cpp falls back to, a
 * UserError.
 */
function spmMetadata(tok: BpeTokenizer): {
  tokens: string[];
  types: number[];
  scores: number[];
  addSpacePrefix: boolean;
} {
  const { unkId, byteFallback } = tok.unknown;
  const tokens = tok.tokenStrings();
  const idOf = new Map<string, number>();
  tokens.forEach((t, i) => idOf.set(t, i));
  const missingBytes: number[] = [];
  for (let b = 0; b < 256; b++)
    if (!idOf.has(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)) missingBytes.push(b);
  if (!byteFallback || missingBytes.length > 0)
    throw new UserError(
      "gguf export: llama.cpp's SentencePiece tokenizer falls back to the 256 byte tokens <0x00>..<0xFF>; this " +
        `tokenizer ${byteFallback ? `lacks ${missingBytes.length} of them` : "has no byte_fallback"}`,
    );
  const addSpacePrefix = spmSpacePrefix(tok);
  const merges = tok.mergeIds();
  const mergeSet = new Set(merges.map(([a, b, c]) => `${a},${b},${c}`));
  const firstRank = new Map<number, number>();
  merges.forEach(([, , c], r) => {
    if (!firstRank.has(c)) firstRank.set(c, r);
  });
  let missing = 0;
  let example = "";
  tokens.forEach((t, id) => {
    if (tok.addedToken(id) || idOf.get(t) !== id) return;
    for (const at of splitPoints(t)) {
      const a = idOf.get(t.slice(0, at));
      const b = idOf.get(t.slice(at));
      // added tokens are split out before BPE: they are never a merge's part
      if (a === undefined || b === undefined || tok.addedToken(a) || tok.addedToken(b)) continue;
      if (!mergeSet.has(`${a},${b},${id}`)) {
        missing++;
        example ||= `${JSON.stringify(t.slice(0, at))} + ${JSON.stringify(t.slice(at))}`;
      }
    }
  });
  if (missing > 0)
    throw new UserError(
      `gguf export: llama.cpp's SentencePiece tokenizer merges every pair of tokens that forms a token, but ${missing} ` +
        `such pairs are not merges of this tokenizer (e.g. ${example}); only SentencePiece-converted merge lists ` +
        "(every split of a token into two tokens) give the same ids",
    );
  const own = tok.tokenScores;
  const scores = tokens.map((_, id) => {
    if (own) return own[id]!;
    const r = firstRank.get(id);
    return r !== undefined ? -r : -(merges.length + id);
  });
  const types = tokens.map((t, id) => {
    const a = tok.addedToken(id);
    if (id === unkId) return UNKNOWN;
    if (a) return a.special ? CONTROL : USER_DEFINED;
    return /^<0x[0-9A-F]{2}>$/.test(t) ? BYTE : NORMAL;
  });
  return { tokens, types, scores, addSpacePrefix };
}

/** The `tokenizer.ggml.pre` name of a tokenizer's pre-tokenizer (and normalizer), or a UserError if GGUF has none. */
export function ggufPreName(tok: BpeTokenizer): string {
  const spec = tok.preTokenizerSpec as JsonObject | null;
  const regexes: string[] = [];
  let byteLevelRegex = false;
  const walk = (s: Json): void => {
    if (!s || typeof s !== "object" || Array.isArray(s)) return;
    if (s.type === "Sequence" && Array.isArray(s.pretokenizers)) s.pretokenizers.forEach(walk);
    else if (s.type === "Split") regexes.push(JSON.stringify(s.pattern));
    else if (s.type === "ByteLevel" && s.use_regex !== false) byteLevelRegex = true;
  };
  walk(spec);
  for (const [name, p] of Object.entries(PRE)) {
    const want = p.regexes.map((r) => JSON.stringify({ Regex: r }));
    const gpt2 = name === "gpt-2";
    if (
      gpt2
        ? byteLevelRegex && regexes.length === 0
        : !byteLevelRegex && want.length === regexes.length && want.every((w, i) => w === regexes[i])
    ) {
      return name;
    }
  }
  throw new UserError(
    `gguf export: this tokenizer's pre-tokenizer has no llama.cpp name (supported: ${GGUF_PRE_TOKENIZERS.join(", ")})`,
  );
}

/** What a GGUF's tokenizer.ggml.* metadata says about a tokenizer (see gguf.ts's GgufTokenizerData). */
export interface GgufTokenizerMeta {
  /** "gpt2" (byte-level BPE) or "llama" (SentencePiece). */
  model: "gpt2" | "llama";
  /** llama.cpp's pre-tokenizer name (gpt2 only). */
  pre?: string;
  tokens: string[];
  types: number[];
  /** BPE merges (gpt2; empty for llama). */
  merges: string[];
  /** SentencePiece scores (llama). */
  scores?: number[];
  /** tokenizer.ggml.add_space_prefix (llama). */
  addSpacePrefix?: boolean;
  /** The unk token id (llama), -1 for none. */
  unkId?: number;
  /** Whether the post-processor puts BOS first / EOS last. */
  addBos: boolean;
  addEos: boolean;
}

/** Tokens, token types and merges (gpt2) or scores (llama), and the pre-tokenizer name for export. */
export function ggufTokenizerMetadata(tok: BpeTokenizer): GgufTokenizerMeta {
  const { prefix, suffix } = tok.template;
  const addBos = prefix.length === 1 && prefix[0] === tok.bosId;
  const addEos = suffix.length === 1 && suffix[0] === tok.eosId;
  if (!tok.isByteLevel) {
    const m = spmMetadata(tok);
    return { model: "llama", ...m, merges: [], unkId: tok.unknown.unkId, addBos, addEos };
  }
  const tokens = tok.tokenStrings();
  const types = tokens.map((_, id) => {
    const a = tok.addedToken(id);
    return a ? (a.special ? CONTROL : USER_DEFINED) : NORMAL;
  });
  return { model: "gpt2", pre: ggufPreName(tok), tokens, types, merges: tok.mergeStrings(), addBos, addEos };
}
