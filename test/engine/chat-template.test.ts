/**
 * Chat templates of the real tokenizer_config.json files (Qwen3, Llama-3, DeepSeek-V3) rendered with
 * @huggingface/jinja: byte-identical to transformers' apply_chat_template(add_generation_prompt=True) in the Python
 * reference venv, and the same token ids.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { UserError } from "../../src/core/errors.js";
import { requireChatTemplate, type ChatMessage } from "../../src/engine/chat-template.js";
import { loadHfTokenizer } from "../../src/engine/hf-tokenizer.js";
import { pythonSkip, runPython } from "../helpers/python.js";
import { lenmlModels, repoRoot } from "./tokenizer-docs.js";

const NAMES = ["qwen3", "llama3", "deepseek_v3"] as const;
const CONVERSATIONS: ChatMessage[][] = [
  [{ role: "user", content: "Write a Python function that returns the n-th Fibonacci number." }],
  [
    { role: "system", content: "You are a careful programmer. Answer with code only." },
    { role: "user", content: 'def add(a, b):\n    """Add two numbers."""\n' },
  ],
  [
    { role: "system", content: "Document code." },
    { role: "user", content: "Explain:\n```go\nfunc Max(a, b int) int { if a > b { return a }; return b }\n```" },
    { role: "assistant", content: "Returns the larger of two ints." },
    { role: "user", content: "  Now in Ruby, with trailing spaces and unicode: naïve — ✓  " },
  ],
];

test("Llama-3's template renders the documented header format with bos and a generation prompt", () => {
  const { tokenizer, chatTemplate } = loadHfTokenizer(lenmlModels("llama3"));
  const t = requireChatTemplate(chatTemplate, "llama3");
  const text = t.render([{ role: "user", content: " hi " }]);
  assert.equal(
    text,
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  );
  const ids = t.encode(tokenizer, [{ role: "user", content: "hi" }]);
  assert.equal(ids[0], tokenizer.tokenId("<|begin_of_text|>"));
  assert.equal(ids.filter((x) => x === tokenizer.tokenId("<|start_header_id|>")).length, 2);
  assert.equal(tokenizer.bosId, tokenizer.tokenId("<|begin_of_text|>"));
  assert.equal(tokenizer.eosId, tokenizer.tokenId("<|end_of_text|>"));
  // (this template appends the assistant header unconditionally; Qwen3's honours add_generation_prompt)
  const q = requireChatTemplate(loadHfTokenizer(lenmlModels("qwen3")).chatTemplate, "qwen3");
  assert.ok(q.render([{ role: "user", content: "hi" }]).endsWith("<|im_start|>assistant\n"));
  assert.ok(q.render([{ role: "user", content: "hi" }], { addGenerationPrompt: false }).endsWith("hi<|im_end|>\n"));
});

test("a tokenizer with no chat template in instruct mode is a clear UserError", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-notemplate-"));
  fs.copyFileSync(path.join(lenmlModels("llama3"), "tokenizer.json"), path.join(dir, "tokenizer.json"));
  fs.writeFileSync(
    path.join(dir, "tokenizer_config.json"),
    JSON.stringify({ bos_token: "<|begin_of_text|>", eos_token: "<|end_of_text|>" }),
  );
  const b = loadHfTokenizer(dir);
  assert.equal(b.chatTemplate, null);
  assert.throws(
    () => requireChatTemplate(b.chatTemplate, "my-base-model"),
    (e: unknown) => e instanceof UserError && /my-base-model.*no chat template/.test((e as Error).message),
  );
  // a template that raises reports the template's message
  fs.writeFileSync(
    path.join(dir, "tokenizer_config.json"),
    JSON.stringify({ chat_template: "{{ raise_exception('roles must alternate') }}" }),
  );
  assert.throws(
    () => loadHfTokenizer(dir).chatTemplate!.render([{ role: "user", content: "x" }]),
    /roles must alternate/,
  );
  // a bos/eos token the tokenizer does not know
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: "<nope>" }));
  assert.throws(
    () => loadHfTokenizer(dir),
    (e: unknown) => e instanceof UserError && /"<nope>".*not an added token/.test((e as Error).message),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test("chat templates are byte-identical to transformers' apply_chat_template, and tokenize to the same ids", {
  skip: pythonSkip(),
}, () => {
  const dirs = NAMES.map(lenmlModels);
  const out = runPython({ script: path.join(repoRoot, "test/engine/chat_template_reference.py") }, [], {
    input: JSON.stringify({ dirs, conversations: CONVERSATIONS }),
    timeoutMs: 300_000,
  });
  const ref = JSON.parse(out.stdout) as Array<{ text: string; ids: number[] }>;
  assert.equal(ref.length, NAMES.length * CONVERSATIONS.length);
  let k = 0;
  for (const [i, dir] of dirs.entries()) {
    const { tokenizer, chatTemplate } = loadHfTokenizer(dir);
    const t = requireChatTemplate(chatTemplate, NAMES[i]!);
    for (const conv of CONVERSATIONS) {
      const r = ref[k++]!;
      assert.equal(t.render(conv), r.text, `${NAMES[i]}: rendered text differs`);
      assert.deepEqual(t.encode(tokenizer, conv), r.ids, `${NAMES[i]}: ids differ`);
    }
  }
});
