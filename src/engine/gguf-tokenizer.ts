/**
 * The tokenizer a GGUF file carries (`tokenizer.ggml.*` metadata) as the project's one BpeTokenizer, and back.
 *
 * Read: `tokenizer.ggml.model` must be "gpt2" (byte-level BPE). Tokens of type NORMAL (and UNUSED/UNKNOWN/BYTE
 * rows) form the BPE vocabulary; CONTROL tokens become special added tokens and USER_DEFINED tokens non-special
 * added tokens (both split out of the text before BPE, as llama.cpp does). `tokenizer.ggml.pre` names the
 * pre-tokenizer; it maps to the same pipeline the model's Hugging Face tokenizer.json uses:
 *   gpt-2        ByteLevel with GPT-2's regex (the embedded model's export)
 *   qwen2        NFC + the Qwen2 Split regex (Qwen2, Qwen2.5, Qwen2.5-Coder, Qwen3)
 *   llama-bpe    the Llama-3 Split regex, ignore_merges (Llama-3.x)
 *   deepseek-v3  DeepSeek-V3's three Splits
 * `add_bos_token` becomes a post-processor template that puts BOS first (encode with addSpecialTokens).
 * Write: `ggufTokenizerMetadata` gives tokens, token types, merges and the pre-tokenizer name for export.
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

/** Builds the GGUF's own tokenizer from its metadata. */
export function tokenizerFromGguf(md: Map<string, GgufValue>): BpeTokenizer {
  const model = scalar(md, "tokenizer.ggml.model");
  if (model !== "gpt2") {
    throw new UserError(
      `gguf: tokenizer.ggml.model ${JSON.stringify(model)} is not supported (supported: "gpt2", byte-level BPE)`,
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
    post_processor: addBos
      ? {
          type: "TemplateProcessing",
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos, type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
            { Sequence: { id: "B", type_id: 1 } },
          ],
          special_tokens: { [bos]: { id: bos, ids: [added.find((x) => x.content === bos)!.id], tokens: [bos] } },
        }
      : null,
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

/** Tokens, token types, merges and pre-tokenizer name for a GGUF's tokenizer.ggml.* metadata. */
export function ggufTokenizerMetadata(tok: BpeTokenizer): {
  pre: string;
  tokens: string[];
  types: number[];
  merges: string[];
} {
  const tokens = tok.tokenStrings();
  const types = tokens.map((_, id) => {
    const a = tok.addedToken(id);
    return a ? (a.special ? CONTROL : USER_DEFINED) : NORMAL;
  });
  return { pre: ggufPreName(tok), tokens, types, merges: tok.mergeStrings() };
}
