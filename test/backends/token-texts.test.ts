// The text each token adds in context (OpenAI logprobs `tokens`, prompt_logprobs `decoded_token`): a SentencePiece
// tokenizer's decoder strips a sequence's leading space, so a word-start token decoded alone loses its space.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { tokenTexts, visibleTokens } from "../../src/backends/openai-wire.js";
import type { SampledSequence } from "../../src/core/policy.js";
import { LLAMA_SPM_DECODER } from "../engine/spm-reference.js";

/** A tiny tokenizer.json in the Llama-2 / Mistral v0.1 layout: Prepend + Replace, byte fallback, Strip decoder. */
function spmTokenizer(): BpeTokenizer {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  const pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "▁he", "ll", "▁hell", "▁hello", "▁w", "▁wo"];
  for (const p of [...pieces, "▁wor", "▁worl", "▁world"]) vocab[p] = Object.keys(vocab).length;
  const merges = ["▁ h", "▁h e", "l l", "▁he ll", "▁hell o", "▁ w", "▁w o", "▁wo r", "▁wor l", "▁worl d"];
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return BpeTokenizer.fromJSON({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: LLAMA_SPM_DECODER,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  });
}

test("tokenTexts: a SentencePiece word-start token keeps its space in context; bytes of one character fall back", () => {
  const tok = spmTokenizer();
  const ids = tok.encode("hello world hello", { addSpecialTokens: false });
  assert.deepEqual(
    ids.map((i) => tok.decode([i])),
    ["hello", "world", "hello"],
    "decoded alone, every word-start token loses its space (the decoder's Strip)",
  );
  const texts = tokenTexts(tok, ids);
  assert.deepEqual(texts, ["hello", " world", " hello"]);
  assert.equal(texts.join(""), tok.decode(ids));
  // é is not in the vocabulary: two byte tokens; the first ends inside the character
  const withBytes = tok.encode("hello é", { addSpecialTokens: false });
  const t2 = tokenTexts(tok, withBytes);
  assert.equal(t2.length, withBytes.length);
  assert.deepEqual(t2.slice(0, 2), ["hello", " "]);
  assert.equal(tok.decode(withBytes), "hello é");
  // visibleTokens (completion logprobs) gives the same in-context texts and their offsets
  const seq: SampledSequence = {
    tokens: ids,
    logprobs: ids.map(() => -1),
    text: "hello world hello",
    finishReason: "length",
  };
  const vis = visibleTokens(tok, seq);
  assert.deepEqual(
    vis.map((v) => [v.tokenText, v.offset]),
    [
      ["hello", 0],
      [" world", 5],
      [" hello", 11],
    ],
  );
});
