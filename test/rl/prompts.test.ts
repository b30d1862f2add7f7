import { test } from "node:test";
import assert from "node:assert/strict";
import { code2docPrompt, doc2codePrompt, langToken, sftPair, specialStopIds } from "../../src/rl/prompts.js";
import { TestByteTokenizer } from "./helpers.js";

const tok = new TestByteTokenizer();
const code = "def add(a, b):\n    return a + b\n";
const doc = "Add two numbers.\n\nReturns:\n  The sum.";

test("code→doc template: <|bos|><|code2doc|><|lang|>code<|doc|>", () => {
  const ids = code2docPrompt(tok, code, "python");
  assert.equal(tok.decode(ids), `<|bos|><|code2doc|><|lang:python|>${code}<|doc|>`);
  assert.equal(ids[0], tok.bosId);
});

test("doc→code template contains the documentation and NOTHING of the code", () => {
  const ids = doc2codePrompt(tok, doc, "python");
  const text = tok.decode(ids);
  assert.equal(text, `<|bos|><|doc2code|><|lang:python|>${doc}<|code|>`);
  assert.ok(!text.includes("return a + b"));
  assert.ok(!text.includes("def add"));
  // the prompt's non-special tokens are exactly the documentation's tokens
  assert.deepEqual(ids.slice(3, -1), tok.encode(doc));
});

test("signature hint only when asked, placed after <|code|>", () => {
  const text = tok.decode(doc2codePrompt(tok, doc, "python", { signature: "def add(a, b):" }));
  assert.ok(text.endsWith("<|code|>def add(a, b):"));
  const pair = sftPair(tok, "doc2code", "python", code, doc, { signature: "def add(a, b):" });
  assert.equal(tok.decode(pair.completion), "\n    return a + b\n<|eos|>");
});

test("languages without their own token map to <|lang:other|>", () => {
  assert.equal(langToken("go"), "<|lang:go|>");
  assert.equal(langToken("haskell"), "<|lang:other|>");
  assert.equal(tok.decode(code2docPrompt(tok, "x", "lua")).includes("<|lang:other|>"), true);
});

test("SFT pairs end with <|eos|>; generation stops on every special token but pad", () => {
  const p = sftPair(tok, "code2doc", "ruby", code, doc);
  assert.equal(p.completion.at(-1), tok.eosId);
  assert.equal(tok.decode(p.completion), `${doc}<|eos|>`);
  const stops = specialStopIds(tok);
  assert.ok(stops.includes(tok.eosId));
  assert.ok(!stops.includes(0));
  assert.ok(stops.includes(tok.tokenId("<|code|>")!));
});

test("a tokenizer without the special tokens is a clear error", () => {
  const bare = Object.assign(Object.create(TestByteTokenizer.prototype), new TestByteTokenizer(), {
    tokenId: () => undefined,
  });
  assert.throws(() => code2docPrompt(bare, code, "python"), /no special token <\|bos\|>/);
});

test("special-token strings inside code stay text with the real BPE tokenizer", async () => {
  const { ByteTokenizer } = await import("../../src/engine/tokenizer.js");
  const bt = new ByteTokenizer();
  const ids = code2docPrompt(bt, 's = "<|eos|>"', "python");
  assert.equal(ids.filter((i) => i === bt.eosId).length, 0);
  assert.equal(bt.decode(ids), '<|bos|><|code2doc|><|lang:python|>s = "<|eos|>"<|doc|>');
});
