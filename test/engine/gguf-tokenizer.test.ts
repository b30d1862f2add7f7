/**
 * A GGUF file carries its own tokenizer: the real Qwen3 / Llama-3 / DeepSeek-V3 tokenizers written into a GGUF by
 * the test (tokenizer.ggml.* metadata), read back and built into the same BpeTokenizer: identical ids.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { UserError } from "../../src/core/errors.js";
import { GgmlType, readGguf, writeGguf, type GgufValue } from "../../src/engine/gguf.js";
import { ggufPreName, ggufTokenizerMetadata, tokenizerFromGguf } from "../../src/engine/gguf-tokenizer.js";
import { loadHfTokenizer } from "../../src/engine/hf-tokenizer.js";
import { type BpeTokenizer, ByteTokenizer } from "../../src/engine/tokenizer.js";
import { EDGE_CASES, collectDocs, lenmlModels } from "./tokenizer-docs.js";

function tokenizerMetadata(tok: BpeTokenizer, opts: { addBos?: boolean } = {}): Map<string, GgufValue> {
  const tk = ggufTokenizerMetadata(tok);
  const md = new Map<string, GgufValue>();
  md.set("general.architecture", { type: "string", value: "llama" });
  md.set("tokenizer.ggml.model", { type: "string", value: "gpt2" });
  md.set("tokenizer.ggml.pre", { type: "string", value: tk.pre! });
  md.set("tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tk.tokens });
  md.set("tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: tk.types });
  md.set("tokenizer.ggml.merges", { type: "array", itemType: "string", value: tk.merges });
  if (tok.bosId >= 0) md.set("tokenizer.ggml.bos_token_id", { type: "uint32", value: tok.bosId });
  if (tok.eosId >= 0) md.set("tokenizer.ggml.eos_token_id", { type: "uint32", value: tok.eosId });
  md.set("tokenizer.ggml.add_bos_token", { type: "bool", value: opts.addBos === true });
  return md;
}

function roundTripThroughFile(md: Map<string, GgufValue>): BpeTokenizer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-ggtok-"));
  const file = path.join(dir, "tok.gguf");
  writeGguf(file, md, [{ name: "token_embd.weight", shape: [2, 4], type: GgmlType.F32, data: new Float32Array(8) }]);
  const back = tokenizerFromGguf(readGguf(file).metadata);
  fs.rmSync(dir, { recursive: true, force: true });
  return back;
}

const sample = collectDocs(200)
  .map((d) => d.text)
  .concat(EDGE_CASES);

for (const name of ["qwen3", "llama3", "deepseek_v3"] as const) {
  test(`${name}: the tokenizer read back from a GGUF gives identical ids`, () => {
    const { tokenizer } = loadHfTokenizer(lenmlModels(name));
    const expectPre = { qwen3: "qwen2", llama3: "llama-bpe", deepseek_v3: "deepseek-v3" }[name];
    assert.equal(ggufPreName(tokenizer), expectPre);
    const back = roundTripThroughFile(tokenizerMetadata(tokenizer));
    assert.equal(back.vocabSize, tokenizer.vocabSize);
    assert.equal(back.bosId, tokenizer.bosId);
    assert.equal(back.eosId, tokenizer.eosId);
    let differing = 0;
    for (const t of sample) if (JSON.stringify(back.encode(t)) !== JSON.stringify(tokenizer.encode(t))) differing++;
    assert.equal(differing, 0, `${differing} of ${sample.length} documents differ`);
    for (const t of EDGE_CASES) assert.equal(back.decode(back.encode(t)), name === "qwen3" ? t.normalize("NFC") : t);
  });
}

test("the embedded layout round-trips through GGUF; add_bos_token becomes a BOS template", () => {
  const tok = new ByteTokenizer();
  assert.equal(ggufPreName(tok), "gpt-2");
  const back = roundTripThroughFile(tokenizerMetadata(tok, { addBos: true }));
  for (const t of EDGE_CASES) assert.deepEqual(back.encode(t), tok.encode(t));
  assert.deepEqual(back.encode("hi", { addSpecialTokens: true }), [tok.bosId, ...tok.encode("hi")]);
  assert.ok(back.isSpecial(tok.eosId));
});

test("GGUF tokenizers we cannot build are clear UserErrors", () => {
  const md = tokenizerMetadata(new ByteTokenizer());
  const bad = (mut: (m: Map<string, GgufValue>) => void, re: RegExp): void => {
    const m = new Map(md);
    mut(m);
    assert.throws(
      () => tokenizerFromGguf(m),
      (e: unknown) => e instanceof UserError && re.test((e as Error).message),
    );
  };
  bad(
    (m) => m.set("tokenizer.ggml.model", { type: "string", value: "bert" }),
    /"bert" is not supported \(supported: "gpt2" \(byte-level BPE\), "llama" \(SentencePiece\)\)/,
  );
  bad(
    (m) => m.set("tokenizer.ggml.pre", { type: "string", value: "falcon" }),
    /"falcon" is not supported \(supported: gpt-2, qwen2, llama-bpe, deepseek-v3\)/,
  );
  bad((m) => m.delete("tokenizer.ggml.tokens"), /no tokenizer\.ggml\.tokens/);
  bad(
    (m) => m.set("tokenizer.ggml.merges", { type: "array", itemType: "string", value: ["zz qq"] }),
    /merge 0 "zz qq" refers to unknown tokens/,
  );
});
