// loadModel(ref): one entry for every kind of model reference — embedded checkpoint (or a folder of step-*
// checkpoints), Hugging Face folder, hub id from the cache, .gguf file — each giving the same logits for the same
// weights, with the tokenizer source, chat template and generation config the reference carries.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadModel, resolveModelRef } from "../../src/backends/model-ref.js";
import { saveCheckpoint } from "../../src/engine/checkpoint.js";
import { stepDirName } from "../../src/core/runs.js";
import { exportModelGguf } from "../../src/engine/gguf.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { UserError } from "../../src/core/errors.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";

test("loadModel: checkpoint dir, run dir, HF folder, hub id (cache), .gguf give the same model; bad refs are clear errors", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ref-"));
  try {
    const tok = await BpeTokenizer.train(["def f(x):\n    return x + 1\n", "hello world"], { vocabSize: 300 });
    const config = ModelConfigSchema.parse({
      ...ARCH_CONFIGS.llama!,
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
    });
    const model = randomModel(config, 2);
    const tokens = [tok.bosId, 40, 41, 99, 120];
    const want = model.forwardLogits(tokens);
    // embedded checkpoint, and a run folder holding it as step-*
    const run = path.join(root, "run");
    const ck = path.join(run, stepDirName(7));
    saveCheckpoint(ck, { config, weights: model.weights, tokenizer: tok, step: 7 });
    // HF folder with tokenizer files and a chat template
    const hfDir = path.join(root, "hf");
    saveHfFolder(hfDir, config, model.weights, {
      dtype: "F32",
      generationConfig: { eos_token_id: [tok.eosId], temperature: 0.6 },
      extraFiles: {
        "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()),
        "tokenizer_config.json": JSON.stringify({ chat_template: "T" }),
      },
    });
    // the same folder as a hub snapshot in an HF cache
    const cache = path.join(root, "cache");
    const sha = "a".repeat(40);
    const snap = path.join(cache, "models--org--tiny", "snapshots", sha);
    fs.mkdirSync(path.dirname(snap), { recursive: true });
    fs.cpSync(hfDir, snap, { recursive: true });
    fs.mkdirSync(path.join(cache, "models--org--tiny", "refs"));
    fs.writeFileSync(path.join(cache, "models--org--tiny", "refs", "main"), sha);
    // GGUF
    const gguf = path.join(root, "m.gguf");
    exportModelGguf(gguf, config, model.weights, {
      ...(await import("../../src/engine/gguf.js")).bpeTokenizerData(tok, config),
      chatTemplate: "G",
    });

    const cases: Array<[string, string, string]> = [
      [ck, "checkpoint", ck],
      [run, "checkpoint", ck],
      [hfDir, "hf-folder", hfDir],
      ["org/tiny", "hub", snap],
      [gguf, "gguf", gguf],
    ];
    for (const [ref, kind, p] of cases) {
      const m = await loadModel(ref, { cacheDir: cache });
      assert.equal(m.kind, kind, ref);
      assert.equal(m.path, path.resolve(p), ref);
      assert.deepEqual(m.model.forwardLogits(tokens), want, `${ref}: same logits`);
      assert.ok(m.description.length > 0);
      if (kind === "checkpoint") assert.equal(m.tokenizer?.kind, "bpe");
      if (kind === "hf-folder" || kind === "hub") {
        assert.equal(m.tokenizer?.kind, "tokenizer.json");
        assert.equal(m.chatTemplate, "T");
        assert.equal(m.generationConfig?.temperature, 0.6);
      }
      if (kind === "gguf") {
        assert.equal(m.tokenizer?.kind, "gguf");
        assert.equal(m.chatTemplate, "G");
        assert.deepEqual(m.generationConfig?.eosTokenIds, [tok.eosId]);
      }
    }
    fs.writeFileSync(path.join(root, "notes.txt"), "x");
    fs.mkdirSync(path.join(root, "empty"));
    await assert.rejects(
      resolveModelRef(path.join(root, "notes.txt")),
      (e: Error) => e instanceof UserError && /not .gguf/.test(e.message),
    );
    await assert.rejects(
      resolveModelRef(path.join(root, "empty")),
      /not a Hugging Face model folder \(no config.json\), and .* holds no checkpoint/,
    );
    await assert.rejects(resolveModelRef("./does/not/exist.gguf"), /no such file or directory, and not a hub id/);
    await assert.rejects(loadModel("org/absent", { cacheDir: cache }), /not in the Hugging Face cache/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("openModel (eval --model / serve) takes an HF folder; and a GGUF file with its own tokenizer; an unsupported tokenizer.json and an uncached hub id are clear errors", async () => {
  const { openModel } = await import("../../src/orchestration/models.js");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "open-"));
  try {
    const tok = await BpeTokenizer.train(["def add(a, b):\n    return a + b\n", "the sum of two numbers"], {
      vocabSize: 300,
    });
    const config = ModelConfigSchema.parse({
      ...ARCH_CONFIGS.qwen3!,
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
    });
    const model = randomModel(config, 9);
    const ck = path.join(root, "ck");
    saveCheckpoint(ck, { config, weights: model.weights, tokenizer: tok, step: 1 });
    const hfDir = path.join(root, "hf");
    saveHfFolder(hfDir, config, model.weights, {
      extraFiles: { "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()) },
    });
    const params = { n: 1, maxTokens: 12, temperature: 0 };
    const inputs = ["def add(a, b):"];
    const logs: string[] = [];
    const want = await (await openModel(ck, { log: (l) => logs.push(l) })).generate(inputs, params);
    const got = await (await openModel(hfDir, { log: (l) => logs.push(l) })).generate(inputs, params);
    assert.deepEqual(got, want, "the HF folder generates what the checkpoint with the same weights generates");
    assert.ok(
      logs.some((l) => l.includes(`HF folder ${hfDir} (Qwen3ForCausalLM)`)),
      logs.join("\n"),
    );
    // a GGUF file carries its own tokenizer: same generations as the checkpoint
    const gguf = path.join(root, "m.gguf");
    exportModelGguf(gguf, config, model.weights, tok);
    const fromGguf = await (await openModel(gguf, { log: () => {} })).generate(inputs, params);
    assert.deepEqual(fromGguf, want, "the GGUF file (its own tokenizer) generates what the checkpoint generates");
    // a tokenizer.json of a kind the pipeline does not implement is a clear error naming it
    fs.writeFileSync(path.join(hfDir, "tokenizer.json"), JSON.stringify({ model: { type: "Unigram" } }));
    await assert.rejects(
      openModel(hfDir, { log: () => {} }),
      (e: Error) => e instanceof UserError && /Unigram/.test(e.message),
    );
    await assert.rejects(openModel("nobody/nothing", { log: () => {} }), /not in the Hugging Face cache/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("tokenizerFor: a real Hugging Face tokenizer.json and a GGUF's tokenizer.ggml.* keys give the HF pipeline's ids", async () => {
  const { tokenizerFor } = await import("../../src/backends/model-ref.js");
  const { loadHfTokenizer } = await import("../../src/engine/hf-tokenizer.js");
  const { bpeTokenizerData } = await import("../../src/engine/gguf.js");
  const { lenmlModels } = await import("../engine/tokenizer-docs.js");
  const dir = lenmlModels("qwen3");
  const ref = loadHfTokenizer(dir).tokenizer;
  const text = "def área(xs: list[int]) -> int:\n    return sum(x * x for x in xs)  # 平方和\n<|im_end|>";
  const want = ref.encode(text);
  const json = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")) as Record<string, unknown>;
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  const fromJson = tokenizerFor({ ref: "qwen3", tokenizer: { kind: "tokenizer.json", json, config: cfg } });
  assert.deepEqual(fromJson.encode(text), want);
  const config = ModelConfigSchema.parse({
    ...ARCH_CONFIGS.qwen2!,
    vocab_size: ref.vocabSize,
    bos_token_id: ref.tokenId("<|endoftext|>")!,
    eos_token_id: ref.tokenId("<|im_end|>")!,
  });
  const fromGguf = tokenizerFor({
    ref: "qwen3.gguf",
    tokenizer: { kind: "gguf", data: bpeTokenizerData(ref, config) },
  });
  assert.deepEqual(fromGguf.encode(text), want);
  assert.equal(fromGguf.decode(want), text);
});

test("a reference with a chat template: eval --model and the directions render conversations with the model's own template", async () => {
  const { openModel } = await import("../../src/orchestration/models.js");
  const { samplerChatFor } = await import("../../src/backends/model-ref.js");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "chat-"));
  try {
    const tok = await BpeTokenizer.train(["def add(a, b):\n    return a + b\n", "user: add two numbers"], {
      vocabSize: 300,
    });
    const config = ModelConfigSchema.parse({
      ...ARCH_CONFIGS.qwen2!,
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
    });
    const model = randomModel(config, 5);
    const hfDir = path.join(root, "hf");
    const template =
      "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
    saveHfFolder(hfDir, config, model.weights, {
      extraFiles: {
        "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()),
        "tokenizer_config.json": JSON.stringify({
          chat_template: template,
          bos_token: "<|bos|>",
          eos_token: "<|eos|>",
        }),
      },
    });
    const loaded = await loadModel(hfDir);
    const chat = samplerChatFor(loaded, tok);
    assert.ok(chat, "an HF folder with a chat template gives a chat path");
    assert.equal(
      chat.template.render([{ role: "user", content: "add two numbers" }], { addGenerationPrompt: true }),
      "<|bos|>user: add two numbers\nassistant:",
    );
    assert.ok(chat.stopTokenIds.includes(tok.eosId), "generation ends at the end-of-turn/eos token");
    // an embedded checkpoint carries no template: no chat path (plain-text turns)
    const ck = path.join(root, "ck");
    saveCheckpoint(ck, { config, weights: model.weights, tokenizer: tok, step: 1 });
    assert.equal(samplerChatFor(await loadModel(ck), tok), null);
    const logs: string[] = [];
    const gen = await openModel(hfDir, { log: (l) => logs.push(l) });
    assert.ok(
      logs.some((l) => l.includes("model's own chat template")),
      logs.join("\n"),
    );
    const out = await gen.generate([{ messages: [{ role: "user", content: "add two numbers" }] }], {
      n: 2,
      maxTokens: 6,
      temperature: 0,
    });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.length, 2);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
