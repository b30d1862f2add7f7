// Every supported architecture against llama.cpp (node-llama-cpp 3.21.1, CPU, offline): a random-weight model
// written by the test as a Hugging Face folder, loaded by the engine, exported to GGUF and run by llama.cpp.
// Log-probabilities agree within 1e-3 (f32) at every position of a 128-token prompt, and 64 greedy tokens are
// identical. The GGUF reader gets the exact weights back (inverse Q/K permutation), and quantized files (Q8_0,
// Q4_K, Q6_K blocks) dequantise to what llama.cpp computes with.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ControlledEvaluateInputItem, Llama, Token } from "node-llama-cpp";
import { ModelConfigSchema, type ModelConfig } from "../../src/engine/config.js";
import {
  exportModelGguf,
  GgmlType,
  GGML_TYPE_NAMES,
  bpeTokenizerData,
  buildGgufMetadata,
  loadGgufModel,
  quantizeQ8_0,
  readGguf,
  writeGguf,
  type GgufTensor,
  ggufTensorName,
} from "../../src/engine/gguf.js";
import { loadHfFolder, saveHfFolder } from "../../src/engine/hf.js";
import { LlamaModel } from "../../src/engine/model.js";
import { Rng } from "../../src/core/rng.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { toF16 } from "../../src/engine/safetensors.js";
import { UserError } from "../../src/core/errors.js";
import { randomModel } from "./arch-helpers.js";

let tokPromise: Promise<BpeTokenizer> | undefined;
function tokenizer(): Promise<BpeTokenizer> {
  tokPromise ??= BpeTokenizer.train([fs.readFileSync("src/engine/gguf.ts", "utf8")], { vocabSize: 320 });
  return tokPromise;
}

let llamaPromise: Promise<Llama> | undefined;
async function llamaCpp(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  llamaPromise ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 1 });
  return llamaPromise;
}

function logSoftmax(z: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  let s = 0;
  for (const v of z) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(z, (v) => v - lse);
}

/**
 * Runs `prompt` through llama.cpp and returns, per position, the largest |log p_llama - log p_engine| over the
 * tokens llama.cpp gives probability >= 1e-6, plus llama.cpp's greedy continuation of `nGreedy` tokens.
 */
async function compareWithLlamaCpp(
  file: string,
  model: LlamaModel,
  prompt: number[],
  nGreedy: number,
): Promise<{ maxDiff: number; compared: number; greedy: number[] }> {
  const llama = await llamaCpp();
  const lm = await llama.loadModel({ modelPath: file });
  try {
    const ctx = await lm.createContext({
      contextSize: 256,
      threads: 1,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
      flashAttention: false,
    });
    try {
      const seq = ctx.getSequence();
      const res = await seq.controlledEvaluate(
        prompt.map((t): ControlledEvaluateInputItem => [t as Token, { generateNext: { probabilities: true } }]),
      );
      const V = model.V;
      const logits = model.forwardLogits(prompt);
      let maxDiff = 0,
        compared = 0;
      for (let i = 0; i < prompt.length; i++) {
        const ours = logSoftmax(logits.subarray(i * V, (i + 1) * V));
        for (const [id, pr] of res[i]!.next!.probabilities!) {
          if (pr < 1e-6) continue;
          maxDiff = Math.max(maxDiff, Math.abs(Math.log(pr) - ours[id]!));
          compared++;
        }
      }
      await seq.clearHistory();
      const greedy: number[] = [];
      if (nGreedy > 0) {
        for await (const t of seq.evaluate(prompt as Token[], { temperature: 0 })) {
          greedy.push(t);
          if (greedy.length >= nGreedy) break;
        }
      }
      return { maxDiff, compared, greedy };
    } finally {
      await ctx.dispose();
    }
  } finally {
    await lm.dispose();
  }
}

const SHAPES = {
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 256,
};
const ARCHS: Record<string, Record<string, unknown>> = {
  llama: {
    ...SHAPES,
    rope_theta: 500000,
    tie_word_embeddings: false,
    attention_bias: true,
    rope_scaling: {
      rope_type: "llama3",
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
  },
  mistral: {
    ...SHAPES,
    architectures: ["MistralForCausalLM"],
    model_type: "mistral",
    sliding_window: 256,
    tie_word_embeddings: false,
  },
  qwen2: {
    ...SHAPES,
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    rope_theta: 1e6,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
  },
  qwen3: {
    ...SHAPES,
    architectures: ["Qwen3ForCausalLM"],
    model_type: "qwen3",
    head_dim: 24,
    rms_norm_eps: 1e-6,
    rope_theta: 1e6,
    tie_word_embeddings: false,
  },
};

function promptIds(tok: BpeTokenizer, n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const ids = [tok.bosId];
  const lo = 20; // past the special tokens
  while (ids.length < n) ids.push(lo + rng.int(tok.vocabSize - lo));
  return ids;
}

for (const [arch, cfg] of Object.entries(ARCHS)) {
  test(`${arch}: HF folder -> engine -> GGUF -> llama.cpp: log-probs within 1e-3 over 128 tokens, 64 identical greedy tokens`, async (t) => {
    const tok = await tokenizer();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gguf-${arch}-`));
    try {
      const config = ModelConfigSchema.parse({
        ...cfg,
        vocab_size: tok.vocabSize + 3,
        bos_token_id: tok.bosId,
        eos_token_id: tok.eosId,
      });
      // weights at std 0.1 (not the 0.02 init) so the next-token distribution is peaked and greedy choices are stable
      const original = randomModel(config, 21);
      saveHfFolder(path.join(dir, "hf"), config, original.weights, { dtype: "F32", shards: 2 });
      const hf = loadHfFolder(path.join(dir, "hf"));
      const model = new LlamaModel(hf.config, hf.weights);
      const file = path.join(dir, "m.gguf");
      exportModelGguf(file, hf.config, hf.weights, tok, { name: arch });
      const g = readGguf(file);
      assert.equal(g.metadata.get("general.architecture")?.value, arch === "mistral" ? "llama" : arch);
      // the reader recovers the exact weights and config (Q/K rows un-permuted, llama3 scaling from rope_freqs)
      const back = loadGgufModel(file);
      // (Mistral comes back as llama without its window; the tokenizer's <|pad|> id is added)
      assert.deepEqual(
        { ...back.config, architectures: [], model_type: "llama", sliding_window: 0, pad_token_id: 0 },
        {
          ...hf.config,
          architectures: [],
          model_type: "llama",
          sliding_window: 0,
          pad_token_id: 0,
          torch_dtype: "float32",
        },
      );
      for (const [name, t] of hf.weights) assert.deepEqual(back.weights.get(name)!.data, t.data, name);
      assert.equal(back.tokenizer.tokens.length, config.vocab_size);
      assert.deepEqual(back.tokenizer.merges, tok.mergeStrings());
      assert.equal(back.tokenizer.eosId, tok.eosId);

      const prompt = promptIds(tok, 128, 5);
      const { maxDiff, compared, greedy } = await compareWithLlamaCpp(file, model, prompt, 64);
      assert.ok(compared >= 128 * 3, `compared ${compared} log-probs`);
      assert.ok(maxDiff < 1e-3, `${arch}: max |log p| difference ${maxDiff}`);
      const mine = model.generateGreedy(prompt, 64, []);
      assert.equal(greedy.length, 64, "llama.cpp produced 64 tokens");
      assert.deepEqual(greedy, mine, `${arch}: greedy continuation`);
      assert.ok(new Set(mine).size >= 2, `the continuation is not one repeated token: ${mine}`);
      t.diagnostic(`${arch}: max |log p| difference ${maxDiff.toExponential(2)} over ${compared} log-probs`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Random but well-formed k-quant blocks: random quants and scale bytes, f16 super-scales set to `d`/`dmin`. */
function randomBlocks(type: GgmlType.Q4_K | GgmlType.Q6_K, n: number, rng: Rng): Uint8Array {
  const bytes = type === GgmlType.Q4_K ? 144 : 210;
  const out = new Uint8Array((n / 256) * bytes);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
  const half = (x: number): [number, number] => {
    const b = toF16(Float32Array.of(x))[0]!;
    return [b & 0xff, b >> 8];
  };
  for (let o = 0; o < out.length; o += bytes) {
    if (type === GgmlType.Q4_K) {
      [out[o], out[o + 1]] = half(0.0003 * (0.5 + rng.next()));
      [out[o + 2], out[o + 3]] = half(0.0003 * (0.5 + rng.next()));
    } else [out[o + 208], out[o + 209]] = half(0.00003 * (0.5 + rng.next()));
  }
  return out;
}

// llama.cpp looks embedding rows up by dequantising them exactly (get_rows), while its quantized matmuls also
// quantize the activations. So each quantized type is checked as the embedding table of an otherwise-f32 model:
// our dequantisation must then give llama.cpp's log-probs to f32 precision (a wrong block layout is off by ~1).
for (const qtype of [GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K] as const) {
  test(`${GGML_TYPE_NAMES[qtype]} GGUF tensors dequantise exactly as llama.cpp's (embedding table, log-probs within 1e-3)`, async () => {
    const tok = await tokenizer();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gguf-q-"));
    try {
      const config: ModelConfig = ModelConfigSchema.parse({
        architectures: ["Qwen2ForCausalLM"],
        model_type: "qwen2",
        hidden_size: 256,
        intermediate_size: 256,
        num_hidden_layers: 1,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        max_position_embeddings: 256,
        rope_theta: 1e6,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: false,
        vocab_size: tok.vocabSize,
        bos_token_id: tok.bosId,
        eos_token_id: tok.eosId,
      });
      const base = randomModel(config, 3);
      const rng = new Rng(4);
      const tensors: GgufTensor[] = [];
      for (const [hf, t] of base.f32Weights()) {
        const name = ggufTensorName(hf)!;
        if (hf !== "model.embed_tokens.weight")
          tensors.push({ name, shape: t.shape, type: GgmlType.F32, data: t.data });
        else {
          const data = qtype === GgmlType.Q8_0 ? quantizeQ8_0(t.data) : randomBlocks(qtype, t.data.length, rng);
          tensors.push({ name, shape: t.shape, type: qtype, data });
        }
      }
      const file = path.join(dir, "q.gguf");
      writeGguf(file, buildGgufMetadata(config, bpeTokenizerData(tok, config), { dtype: "q8_0", name: "q" }), tensors);
      const loaded = loadGgufModel(file);
      assert.equal(loaded.sourceTypes.get("model.embed_tokens.weight"), GGML_TYPE_NAMES[qtype]);
      assert.equal(loaded.sourceTypes.get("lm_head.weight"), "F32");
      const emb = loaded.weights.get("model.embed_tokens.weight")!.data;
      if (qtype === GgmlType.Q8_0) {
        // within half a quantisation step of the original (plus the f16 rounding of the block scale)
        const e = base.weights.get("model.embed_tokens.weight")!.data;
        for (let b = 0; b < e.length; b += 32) {
          let amax = 0;
          for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(e[i]!));
          for (let i = b; i < b + 32; i++)
            assert.ok(Math.abs(e[i]! - emb[i]!) <= (amax / 127) * 0.6 + 1e-7, `Q8_0 element ${i}`);
        }
      } else {
        let lo = Infinity,
          hi = -Infinity;
        for (const v of emb) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
        assert.ok(hi - lo > 0.01 && Number.isFinite(lo) && Number.isFinite(hi), `dequantised range [${lo}, ${hi}]`);
      }
      const model = new LlamaModel(loaded.config, loaded.weights);
      const prompt = promptIds(tok, 64, 9);
      const { maxDiff, compared } = await compareWithLlamaCpp(file, model, prompt, 0);
      assert.ok(compared >= 64 * 3, `compared ${compared}`);
      assert.ok(maxDiff < 1e-3, `${GGML_TYPE_NAMES[qtype]}: max |log p| difference ${maxDiff}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("GGUF: an unsupported tensor type or architecture is a clear error", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gguf-bad-"));
  try {
    const tok = await tokenizer();
    const config = ModelConfigSchema.parse({
      ...SHAPES,
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
    });
    const m = randomModel(config, 1);
    const file = path.join(dir, "m.gguf");
    exportModelGguf(file, config, m.weights, tok);
    // patch the first tensor's ggml type (F32 = 0) to 2 (Q4_0) in the tensor-info table
    const buf = fs.readFileSync(file);
    const name = Buffer.from("token_embd.weight");
    const at = buf.indexOf(name) + name.length; // u32 n_dims, u64 ne x2, then u32 type
    assert.equal(buf.readUInt32LE(at), 2);
    buf.writeUInt32LE(2, at + 4 + 16);
    fs.writeFileSync(path.join(dir, "q4_0.gguf"), buf);
    assert.throws(
      () => loadGgufModel(path.join(dir, "q4_0.gguf")),
      (e: Error) =>
        e instanceof UserError && /ggml type 2.*supported: F32, F16, Q8_0, Q4_K, Q6_K, BF16/.test(e.message),
    );
    const md = buildGgufMetadata(config, tok, { dtype: "f32", name: "x" });
    md.set("general.architecture", { type: "string", value: "gemma" });
    writeGguf(path.join(dir, "gemma.gguf"), md, []);
    assert.throws(
      () => loadGgufModel(path.join(dir, "gemma.gguf")),
      /unsupported GGUF architecture "gemma"; supported: llama, qwen2, qwen3/,
    );
    assert.throws(() => loadGgufModel(path.join(dir, "none.gguf")), /no such GGUF file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.after(async () => {
  if (llamaPromise) await (await llamaPromise).dispose();
});
