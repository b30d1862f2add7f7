// Hugging Face folders: random-weight models of every supported architecture written by saveHfFolder (F32, F16,
// BF16, single file and sharded), loaded back by loadHfFolder, and every malformed folder rejected with a clear
// error before anything is returned.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { configFromHf, loadHfFolder, saveHfFolder, hfConfigJson, readHfWeights } from "../../src/engine/hf.js";
import type { ModelConfig } from "../../src/engine/config.js";
import { ARCH_CONFIGS, BASE, randomModel } from "./arch-helpers.js";
import { LlamaModel } from "../../src/engine/model.js";
import { bf16BitsToF32, f16BitsToF32, toBf16, toF16, writeSafetensors } from "../../src/engine/safetensors.js";
import { UserError } from "../../src/core/errors.js";

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "hf-"));
}

for (const [arch, cfg] of Object.entries(ARCH_CONFIGS)) {
  test(`HF folder round trip (${arch}): F32/F16/BF16, single file and sharded, same logits`, () => {
    const dir = tmp();
    try {
      const model = randomModel(cfg, 11);
      const tokens = [1, 5, 7, 30, 2, 9, 11];
      const want = model.forwardLogits(tokens);
      for (const [dtype, shards] of [
        ["F32", 1],
        ["BF16", 3],
        ["F16", 2],
      ] as const) {
        const d = path.join(dir, `${dtype}-${shards}`);
        saveHfFolder(d, model.config, model.weights, {
          dtype,
          shards,
          generationConfig: { eos_token_id: [2, 3], temperature: 0.7, top_p: 0.8, do_sample: true },
          extraFiles: { "tokenizer_config.json": JSON.stringify({ chat_template: "{{ messages[0].content }}" }) },
        });
        assert.equal(fs.existsSync(path.join(d, "model.safetensors.index.json")), shards > 1);
        const hf = loadHfFolder(d);
        assert.deepEqual({ ...hf.config, torch_dtype: "x" }, { ...model.config, torch_dtype: "x" });
        assert.deepEqual(hf.generationConfig?.eosTokenIds, [2, 3]);
        assert.equal(hf.generationConfig?.temperature, 0.7);
        assert.equal(hf.chatTemplate, "{{ messages[0].content }}");
        assert.equal(hf.weights.size, model.weights.size);
        const round =
          dtype === "F32"
            ? (x: Float32Array) => x
            : dtype === "F16"
              ? (x: Float32Array) => Float32Array.from(toF16(x), f16BitsToF32)
              : (x: Float32Array) => Float32Array.from(toBf16(x), bf16BitsToF32);
        for (const [name, t] of model.f32Weights())
          assert.deepEqual(hf.weights.get(name)!.data, round(t.data), `${dtype} ${name}`);
        const got = new LlamaModel(hf.config, hf.weights).forwardLogits(tokens);
        if (dtype === "F32") assert.deepEqual(got, want);
        else {
          let maxd = 0;
          for (let i = 0; i < want.length; i++) maxd = Math.max(maxd, Math.abs(got[i]! - want[i]!));
          assert.ok(maxd > 0 && maxd < 0.05, `${dtype} logits differ by ${maxd}`);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("config.json: real Qwen2.5 / Qwen3 / Llama-3.2 / Mistral fields map onto the engine config", () => {
  // fields as they appear in the published config.json files of these models
  const qwen25 = configFromHf({
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    max_position_embeddings: 32768,
    max_window_layers: 21,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    use_sliding_window: false,
    tie_word_embeddings: true,
    torch_dtype: "bfloat16",
    vocab_size: 151936,
    bos_token_id: 151643,
    eos_token_id: 151645,
    hidden_act: "silu",
    rope_scaling: null,
    attention_dropout: 0.0,
  });
  assert.equal(qwen25.model_type, "qwen2");
  assert.equal(qwen25.head_dim, undefined);
  assert.equal(qwen25.sliding_window, undefined, "Qwen's sliding_window is unused when use_sliding_window is false");
  const llama32 = configFromHf({
    architectures: ["LlamaForCausalLM"],
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-5,
    rope_theta: 500000.0,
    rope_scaling: {
      factor: 32.0,
      high_freq_factor: 4.0,
      low_freq_factor: 1.0,
      original_max_position_embeddings: 8192,
      rope_type: "llama3",
    },
    tie_word_embeddings: true,
    vocab_size: 128256,
    bos_token_id: 128000,
    eos_token_id: [128001, 128008, 128009],
    mlp_bias: false,
    attention_bias: false,
    pretraining_tp: 1,
  });
  assert.equal(llama32.eos_token_id, 128001);
  assert.equal(llama32.rope_scaling?.factor, 32);
  const qwen3 = configFromHf({
    architectures: ["Qwen3ForCausalLM"],
    hidden_size: 1024,
    head_dim: 128,
    intermediate_size: 3072,
    num_hidden_layers: 28,
    num_attention_heads: 16,
    num_key_value_heads: 8,
    max_position_embeddings: 40960,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    vocab_size: 151936,
    bos_token_id: 151643,
    eos_token_id: 151645,
    attention_bias: false,
    use_sliding_window: false,
  });
  assert.equal(qwen3.head_dim, 128);
  const mistral = configFromHf({
    architectures: ["MistralForCausalLM"],
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    max_position_embeddings: 32768,
    sliding_window: 4096,
    rope_theta: 10000.0,
    vocab_size: 32000,
    bos_token_id: 1,
    eos_token_id: 2,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
  });
  assert.equal(mistral.sliding_window, 4096);
  // round trip through the writer's config.json
  for (const c of [qwen25, llama32, qwen3, mistral]) assert.deepEqual(configFromHf(hfConfigJson(c)), c);
});

test("config.json: unsupported architecture, rope scaling, activation and sliding window are clear errors", () => {
  const base = { ...BASE, architectures: ["LlamaForCausalLM"] };
  assert.throws(
    () => configFromHf({ ...base, architectures: ["GPT2LMHeadModel"], model_type: "gpt2" }),
    (e: Error) =>
      e instanceof UserError &&
      /unsupported architecture "GPT2LMHeadModel".*LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM/.test(
        e.message,
      ),
  );
  assert.throws(() => configFromHf({ ...BASE }), /no 'architectures' field/);
  assert.throws(
    () => configFromHf({ ...base, rope_scaling: { rope_type: "yarn", factor: 4 } }),
    /rope_scaling type "yarn" is not supported/,
  );
  assert.throws(() => configFromHf({ ...base, hidden_act: "gelu" }), /hidden_act "gelu"/);
  assert.throws(
    () => configFromHf({ ...base, architectures: ["Qwen2ForCausalLM"], use_sliding_window: true }),
    /use_sliding_window/,
  );
  assert.throws(() => configFromHf({ ...base, num_attention_heads: 5 }), /not a valid LlamaForCausalLM config/);
});

test("HF folder: missing shard, missing tensor, shape or dtype mismatch, unexpected tensor are rejected whole", () => {
  const dir = tmp();
  try {
    const model = randomModel(ARCH_CONFIGS.qwen2!, 3);
    const c: ModelConfig = model.config;
    const fresh = (name: string, shards = 1): string => {
      const d = path.join(dir, name);
      saveHfFolder(d, c, model.weights, { shards });
      return d;
    };
    const d1 = fresh("missing-shard", 3);
    fs.rmSync(path.join(d1, "model-00002-of-00003.safetensors"));
    assert.throws(
      () => loadHfFolder(d1),
      (e: Error) => e instanceof UserError && /shard model-00002-of-00003.safetensors .* is missing/.test(e.message),
    );
    // a single file with one tensor replaced: wrong shape, wrong dtype, missing, extra
    const rewrite = (
      name: string,
      edit: (m: Map<string, { dtype: "F32" | "I32"; shape: number[]; data: Float32Array | Int32Array }>) => void,
    ): string => {
      const d = fresh(name);
      const m = new Map<string, { dtype: "F32" | "I32"; shape: number[]; data: Float32Array | Int32Array }>();
      for (const [k, t] of model.f32Weights()) m.set(k, { dtype: "F32", shape: t.shape, data: t.data });
      edit(m);
      writeSafetensors(path.join(d, "model.safetensors"), m);
      return d;
    };
    const bias = "model.layers.1.self_attn.k_proj.bias";
    assert.throws(
      () => loadHfFolder(rewrite("shape", (m) => m.set(bias, { dtype: "F32", shape: [3], data: new Float32Array(3) }))),
      /model.layers.1.self_attn.k_proj.bias in model.safetensors has shape \[3\], the config needs \[16\]/,
    );
    assert.throws(
      () => loadHfFolder(rewrite("dtype", (m) => m.set(bias, { dtype: "I32", shape: [16], data: new Int32Array(16) }))),
      /has dtype I32 \(supported: F32, F16, BF16\)/,
    );
    assert.throws(
      () => loadHfFolder(rewrite("missing", (m) => m.delete(bias))),
      /missing tensor model.layers.1.self_attn.k_proj.bias/,
    );
    assert.throws(
      () =>
        loadHfFolder(
          rewrite("extra", (m) => m.set("model.layers.9.foo", { dtype: "F32", shape: [1], data: new Float32Array(1) })),
        ),
      /unexpected tensor model.layers.9.foo/,
    );
    // older checkpoints' rotary buffers and an unused lm_head in a tied folder are ignored
    const ok = rewrite("ignored", (m) => {
      m.set("model.layers.0.self_attn.rotary_emb.inv_freq", { dtype: "F32", shape: [4], data: new Float32Array(4) });
      m.set("lm_head.weight", { dtype: "F32", shape: [40, 32], data: new Float32Array(40 * 32) });
    });
    assert.equal(readHfWeights(ok, c).size, model.weights.size);
    fs.rmSync(path.join(ok, "model.safetensors"));
    assert.throws(() => loadHfFolder(ok), /no model.safetensors or model.safetensors.index.json/);
    assert.throws(() => loadHfFolder(path.join(dir, "nope")), /not a directory/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
