/** The chat-template path of the BatCoder prompts and of the instruct benchmark format (a real Qwen3 tokenizer). */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PolicyInfo, SampleRequest, SampledSequence, Sampler } from "../../src/core/policy.js";
import { requireChatTemplate } from "../../src/engine/chat-template.js";
import { loadHfTokenizer } from "../../src/engine/hf-tokenizer.js";
import { SamplerGenerator } from "../../src/core/generator.js";
import {
  chatCodeAnswer,
  CHAT_CODE_STOP,
  code2docMessages,
  code2docPrompt,
  doc2codePrompt,
  promptText,
  sftPair,
  specialStopIds,
} from "../../src/rl/prompts.js";
import { lenmlModels } from "../engine/tokenizer-docs.js";

const qwen = loadHfTokenizer(lenmlModels("qwen3"));
const tok = qwen.tokenizer;
const chat = requireChatTemplate(qwen.chatTemplate, "qwen3");
const code = 'def add(a, b):\n    """<|im_end|> is text here"""\n    return a + b';

test("code→doc and doc→code prompts go through the model's chat template", () => {
  const p = code2docPrompt(tok, code, "python", { chat });
  const text = tok.decode(p);
  assert.ok(text.startsWith("<|im_start|>user\nWrite the documentation for this Python function"));
  assert.ok(text.includes("```python\n" + code + "\n```"));
  // thinking switched off: Qwen3's template closes an empty think block after the generation prompt
  assert.ok(text.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"), JSON.stringify(text.slice(-80)));
  assert.equal(text, promptText("code2doc", code, "python", null, { chat }));
  assert.equal(text, chat.render(code2docMessages(code, "python"), { variables: { enable_thinking: false } }));
  const d = doc2codePrompt(tok, "Adds two numbers.", "python", { chat, signature: "def add(a, b):" });
  const dt = tok.decode(d);
  assert.ok(
    dt.includes("Implement the Python function this documentation describes") && dt.includes("Adds two numbers."),
  );
  assert.ok(dt.endsWith("</think>\n\n```python\ndef add(a, b):"));
  // the embedded path is unchanged when no template is given
  assert.throws(() => code2docPrompt(tok, code, "python"), /no special token <\|bos\|>/);
});

test("SFT pairs in the chat path end the answer by closing the fence, then the end-of-turn token", () => {
  const { prompt, completion } = sftPair(tok, "doc2code", "python", code, "Adds.", {
    chat,
    signature: "def add(a, b):",
  });
  assert.ok(tok.decode(prompt).endsWith("```python\ndef add(a, b):"));
  assert.equal(tok.decode(completion), code.slice("def add(a, b):".length) + "\n" + CHAT_CODE_STOP + "<|im_end|>");
  assert.equal(completion[completion.length - 1], tok.tokenId("<|im_end|>"));
  // code containing a special-token string stays text in the completion
  assert.ok(!completion.slice(0, -1).includes(tok.tokenId("<|im_end|>")!));
});

test("stop ids of a pretrained tokenizer: its end-of-turn specials, never padding", () => {
  const stops = specialStopIds(tok);
  for (const s of ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]) assert.ok(stops.includes(tok.tokenId(s)!), s);
  for (const s of ["<|fim_pad|>", "<|vision_pad|>"]) assert.ok(!stops.includes(tok.tokenId(s)!), s);
});

test("the instruct benchmark format uses the chat template when the model has one", async () => {
  const seen: SampleRequest[] = [];
  // a sampler that answers every request with one fixed completion and records the requests it got
  const sampler: Sampler = {
    info: { modelName: "qwen3-test", contextLength: 4096 } as PolicyInfo,
    tokenizer: tok,
    async sample(reqs: SampleRequest[]): Promise<SampledSequence[][]> {
      seen.push(...reqs);
      return reqs.map((r) =>
        Array.from({ length: r.n }, () => ({ tokens: [1], logprobs: [0], text: "ok", finishReason: "stop" as const })),
      );
    },
  };
  const messages = [{ role: "user" as const, content: "Write a function." }];
  await new SamplerGenerator(sampler, "q", { template: chat, stopTokenIds: specialStopIds(tok) }).generate(
    [{ messages }],
    { n: 1, maxTokens: 8, temperature: 0 },
  );
  await new SamplerGenerator(sampler, "q").generate([{ messages }], { n: 1, maxTokens: 8, temperature: 0 });
  const [templated, plain] = seen;
  assert.equal(tok.decode(templated!.prompt), chat.render(messages, { variables: { enable_thinking: false } }));
  assert.ok(templated!.params.stopTokenIds!.includes(tok.tokenId("<|im_end|>")!));
  assert.ok(!(templated!.params.stop ?? []).includes("\n### "));
  assert.ok(tok.decode(plain!.prompt).includes("### User:\nWrite a function."));
});

test("chatCodeAnswer: a chat doc→code answer is the code before the fence that closes it", () => {
  assert.equal(chatCodeAnswer("def f(x):\n    return x\n```\nExplanation: ..."), "def f(x):\n    return x");
  assert.equal(chatCodeAnswer("def f(x):\n    return x"), "def f(x):\n    return x", "no closing fence: all of it");
  assert.equal(chatCodeAnswer("```"), "");
});
