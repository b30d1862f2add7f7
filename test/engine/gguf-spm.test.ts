/**
 * GGUF "llama" (SentencePiece) tokenizers against llama.cpp itself (node-llama-cpp 3.21.1): a tiny random-weight
 * llama model exported to GGUF with a SentencePiece tokenizer made by transformers
 * (test/engine/spm_reference.py), its tokenizer read back by the engine and by llama.cpp: identical ids on the
 * corpus sample, the benchmark prompts and SentencePiece edge cases — also with scores that do not follow the merge
 * ranks (llama.cpp merges by score) and with all scores equal (ties go leftmost) — and identical detokenization.
 * The export of a tokenizer.json gives the same ids through GGUF as from tokenizer.json.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { Llama, LlamaModel as LlamaCppModel, Token } from "node-llama-cpp";
import { UserError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { ModelConfigSchema, type ModelConfig } from "../../src/engine/config.js";
import {
  bpeTokenizerData,
  exportModelGguf,
  loadGgufModel,
  readGguf,
  type GgufTokenizerData,
  type GgufValue,
} from "../../src/engine/gguf.js";
import { ggufTokenizerMetadata, tokenizerFromGguf } from "../../src/engine/gguf-tokenizer.js";
import { hfTokenizerFromData } from "../../src/engine/hf-tokenizer.js";
import type { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { loadModel, tokenizerFor } from "../../src/backends/model-ref.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { pythonSkip } from "../helpers/python.js";
import { ARCH_CONFIGS, randomModel } from "./arch-helpers.js";
import { disposeSpmReference, readJson, spmReference, type SpmVariant } from "./spm-reference.js";

const skip = pythonSkip();
// BATCODER_TOKENIZER_SWEEP=1: every document (default every 40th)
const ref = () => spmReference(process.env.BATCODER_TOKENIZER_SWEEP === "1" ? 1 : 40);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-gguf-spm-"));
after(() => {
  disposeSpmReference();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let llamaPromise: Promise<Llama> | undefined;
async function llamaCpp(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  llamaPromise ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 1 });
  return llamaPromise;
}

function hfTokenizer(v: SpmVariant): BpeTokenizer {
  const dir = ref().variants[v].dir;
  const cfg = path.join(dir, "tokenizer_config.json");
  return hfTokenizerFromData(readJson(path.join(dir, "tokenizer.json")), fs.existsSync(cfg) ? readJson(cfg) : null)
    .tokenizer;
}

function config(tok: BpeTokenizer): ModelConfig {
  return ModelConfigSchema.parse({
    vocab_size: tok.vocabSize,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    tie_word_embeddings: true,
  });
}

/** Exports a tiny random model with this tokenizer (data) to GGUF. */
function exportWith(name: string, tok: BpeTokenizer, data?: GgufTokenizerData): string {
  const file = path.join(tmp, `${name}.gguf`);
  const cfg = config(tok);
  exportModelGguf(file, cfg, randomModel(cfg, 3).weights, data ?? tok, { name });
  return file;
}

const sameIds = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** Ours (from the GGUF's metadata) vs llama.cpp's tokenize/detokenize on every document, both special modes. */
async function compareWithLlamaCpp(file: string, label: string): Promise<void> {
  const ours = tokenizerFromGguf(readGguf(file).metadata);
  const llama = await llamaCpp();
  const lm: LlamaCppModel = await llama.loadModel({ modelPath: file, vocabOnly: true });
  try {
    assert.equal(lm.tokens.bos, ours.bosId);
    assert.equal(lm.tokens.eos, ours.eosId);
    const docs = ref().docs;
    const differ: string[] = [];
    const differSpecial: string[] = [];
    const differText: string[] = [];
    let tokens = 0;
    for (const d of docs) {
      const a = ours.encode(d.text, { allowSpecial: false });
      const b = lm.tokenize(d.text, false);
      if (!sameIds(a, b)) differ.push(d.source);
      if (!sameIds(ours.encode(d.text), lm.tokenize(d.text, true))) differSpecial.push(d.source);
      // llama.cpp drops control tokens when detokenizing without specials, as skipSpecialTokens does
      if (lm.detokenize(a as Token[], false) !== ours.decode(a, { skipSpecialTokens: true })) differText.push(d.source);
      tokens += a.length;
    }
    console.log(
      `${label}: ${docs.length} documents, ${tokens} tokens; differing from llama.cpp: ${differ.length} ` +
        `(special tokens parsed: ${differSpecial.length}); detokenize differing ${differText.length}`,
    );
    assert.deepEqual(differ.slice(0, 10), [], `${differ.length} documents differ from llama.cpp`);
    assert.deepEqual(differSpecial.slice(0, 10), [], `${differSpecial.length} documents differ (parse_special)`);
    assert.deepEqual(differText.slice(0, 10), [], `${differText.length} detokenizations differ`);
    // BOS as llama.cpp adds it
    assert.deepEqual(ours.encode("hi", { addSpecialTokens: true }), [lm.tokens.bos!, ...lm.tokenize("hi")]);
  } finally {
    await lm.dispose();
  }
}

test("tokenizer.json (legacy Llama layout) -> GGUF: same ids as tokenizer.json, and as llama.cpp", {
  skip,
}, async () => {
  const tok = hfTokenizer("llama_legacy");
  const meta = ggufTokenizerMetadata(tok);
  assert.equal(meta.model, "llama");
  assert.equal(meta.addSpacePrefix, true);
  assert.equal(meta.addBos, true);
  const file = exportWith("legacy", tok);
  const back = tokenizerFromGguf(readGguf(file).metadata);
  // the model loader's path (GgufTokenizerData -> tokenizerFor) gives the same tokenizer
  const loaded = loadGgufModel(file);
  assert.equal(loaded.tokenizer.model, "llama");
  const viaRef = tokenizerFor({ ref: file, tokenizer: { kind: "gguf", data: loaded.tokenizer } });
  let differing = 0;
  let notRoundTrip = 0;
  for (const d of ref().docs) {
    const want = tok.encode(d.text, { addSpecialTokens: true });
    const got = back.encode(d.text, { addSpecialTokens: true });
    if (!sameIds(want, got) || !sameIds(viaRef.encode(d.text, { addSpecialTokens: true }), got)) differing++;
    if (!/<s>|<\/s>|<unk>|▁/.test(d.text) && back.decode(got, { skipSpecialTokens: true }) !== d.text) notRoundTrip++;
  }
  assert.equal(differing, 0, `${differing} documents differ between tokenizer.json and its GGUF export`);
  assert.equal(notRoundTrip, 0, `${notRoundTrip} documents do not round-trip through the GGUF tokenizer`);
  await compareWithLlamaCpp(file, "legacy layout via GGUF");
});

test("transformers' Llama layout (Metaspace first) -> GGUF: same ids unless the text starts with a space or holds a special token", {
  skip,
}, async () => {
  const tok = hfTokenizer("llama");
  const file = exportWith("first", tok);
  const back = tokenizerFromGguf(readGguf(file).metadata);
  const differing: string[] = [];
  for (const d of ref().docs) {
    if (!sameIds(tok.encode(d.text), back.encode(d.text))) differing.push(d.text);
  }
  // Metaspace adds no "▁" before a text that starts with a space (or "▁"), nor (scheme "first") after a special
  // token inside the text; llama.cpp, like the legacy layout, always prefixes one
  for (const t of differing)
    assert.match(t, /^[ ▁]|<s>|<\/s>|<unk>/, `differs for another reason: ${JSON.stringify(t.slice(0, 60))}`);
  console.log(
    `Metaspace-first tokenizer.json vs its GGUF export: ${differing.length} of ${ref().docs.length} documents differ`,
  );
  assert.ok(differing.length < ref().docs.length / 10, `${differing.length} documents differ`);
  assert.deepEqual(back.encode(" x"), hfTokenizer("llama_legacy").encode(" x"));
  assert.deepEqual(back.encode("a<s>b"), hfTokenizer("llama_legacy").encode("a<s>b"));
  await compareWithLlamaCpp(file, "Metaspace-first layout via GGUF");
});

test("llama.cpp merges by score, not by merge rank: shuffled and equal scores give llama.cpp's ids", {
  skip,
}, async () => {
  const tok = hfTokenizer("llama_legacy");
  const base = bpeTokenizerData(tok, config(tok));
  const rng = new Rng(7);
  const shuffled = base.scores!.map(() => Math.fround(rng.normal() * 100));
  for (const [label, scores] of [
    ["random scores", shuffled],
    ["all scores -1000", base.scores!.map(() => -1000)],
  ] as const) {
    const file = exportWith(label.replace(/\W+/g, "-"), tok, { ...base, scores: [...scores] });
    await compareWithLlamaCpp(file, label);
    // and that is a different tokenizer from the rank-ordered one
    const other = tokenizerFromGguf(readGguf(file).metadata);
    const text = ref()
      .docs.map((d) => d.text)
      .join("\n")
      .slice(0, 20_000);
    assert.ok(!sameIds(other.encode(text), tok.encode(text)), `${label}: same ids as by rank`);
  }
});

test("a Mistral HF folder with transformers' Llama tokenizer: loaded, prompted with BOS, exported to GGUF, and llama.cpp tokenizes and continues identically", {
  skip,
}, async () => {
  const tokDir = ref().variants.llama.dir;
  const tok = hfTokenizer("llama");
  const cfg = ModelConfigSchema.parse({
    ...ARCH_CONFIGS.mistral,
    vocab_size: tok.vocabSize,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
  });
  const hfDir = path.join(tmp, "mistral-hf");
  saveHfFolder(hfDir, cfg, randomModel(cfg, 5).weights, {
    extraFiles: Object.fromEntries(
      ["tokenizer.json", "tokenizer_config.json"].map((f) => [f, fs.readFileSync(path.join(tokDir, f), "utf8")]),
    ),
  });
  const loaded = await loadModel(hfDir);
  const t = tokenizerFor(loaded);
  const text = "def add(a, b):\n    return a + b  # 加法 😀";
  const prompt = t.encode(text, { addSpecialTokens: true });
  assert.equal(prompt[0], t.bosId);
  const ours = loaded.model.generateGreedy(prompt, 16, []);
  const gguf = path.join(tmp, "mistral.gguf");
  exportModelGguf(gguf, loaded.config, loaded.model.weights, t);
  const lm = await (await llamaCpp()).loadModel({ modelPath: gguf });
  try {
    assert.deepEqual(lm.tokenize(text), prompt.slice(1));
    const ctx = await lm.createContext({
      contextSize: 64,
      threads: 1,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
      flashAttention: false,
    });
    try {
      const greedy: number[] = [];
      for await (const x of ctx.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
        greedy.push(x);
        if (greedy.length >= 16) break;
      }
      const gen = Array.from(ours).slice(-16);
      assert.deepEqual(greedy, gen);
      assert.equal(lm.detokenize(greedy as Token[]), t.decode(gen, { skipSpecialTokens: true }));
    } finally {
      await ctx.dispose();
    }
  } finally {
    await lm.dispose();
  }
});

test("GGUF SentencePiece: what cannot be exported or read is a clear UserError", { skip }, () => {
  // HF-trained merges (not every split of a token is a merge) and no byte fallback: llama.cpp would differ
  const sp = hfTokenizer("spbpe_unk");
  assert.throws(
    () => ggufTokenizerMetadata(sp),
    (e: unknown) =>
      e instanceof UserError &&
      /256 byte tokens <0x00>..<0xFF>; this tokenizer has no byte_fallback/.test((e as Error).message),
  );
  // a closed merge list with one merge removed
  const dir = ref().variants.llama_legacy.dir;
  const j = readJson(path.join(dir, "tokenizer.json")) as { model: { merges: string[] } };
  j.model.merges = j.model.merges.slice(1);
  const cut = hfTokenizerFromData(j, null).tokenizer;
  assert.throws(
    () => ggufTokenizerMetadata(cut),
    (e: unknown) =>
      e instanceof UserError && /1 such pairs are not merges of this tokenizer/.test((e as Error).message),
  );
  // a pipeline llama.cpp has no equivalent for
  const k = readJson(path.join(dir, "tokenizer.json"));
  k.normalizer = { type: "NFKC" };
  assert.throws(
    () => ggufTokenizerMetadata(hfTokenizerFromData(k, null).tokenizer),
    (e: unknown) => e instanceof UserError && /cannot run this pipeline/.test((e as Error).message),
  );
  const md = readGguf(exportWith("md", hfTokenizer("llama_legacy"))).metadata;
  const bad = new Map<string, GgufValue>(md);
  bad.set("tokenizer.ggml.model", { type: "string", value: "bert" });
  assert.throws(
    () => tokenizerFromGguf(bad),
    /"bert" is not supported \(supported: "gpt2" \(byte-level BPE\), "llama" \(SentencePiece\)\)/,
  );
  bad.set("tokenizer.ggml.model", { type: "string", value: "llama" });
  bad.set("tokenizer.ggml.scores", { type: "array", itemType: "float32", value: [0, 1] });
  assert.throws(() => tokenizerFromGguf(bad), /2 scores for \d+ tokens/);
});
