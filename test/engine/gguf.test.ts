import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  writeGguf,
  readGguf,
  exportGguf,
  permuteRotaryRows,
  GgmlType,
  GgufTokenType,
  type GgufValue,
  type GgufTensor,
} from "../../src/engine/gguf.js";
import { saveCheckpoint } from "../../src/engine/checkpoint.js";
import { ModelConfigSchema, MODEL_PRESETS, type ModelConfig } from "../../src/engine/config.js";
import type { Token, ControlledEvaluateInputItem } from "node-llama-cpp";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { SPECIAL_TOKENS } from "../../src/engine/special.js";
import { f16BitsToF32, toF16 } from "../../src/engine/safetensors.js";
import { LlamaModel } from "../../src/engine/model.js";
import { AdamW } from "../../src/engine/optim.js";
import { lossForwardBackward } from "../../src/engine/train.js";
import type { Datum } from "../../src/core/policy.js";

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "gguf-"));
}

test("GGUF v3 writer/reader round-trip: every metadata type, arrays, F32/F16 tensors, alignment", () => {
  const dir = tmp();
  try {
    const md = new Map<string, GgufValue>([
      ["a.u8", { type: "uint8", value: 255 }],
      ["a.i8", { type: "int8", value: -128 }],
      ["a.u16", { type: "uint16", value: 65535 }],
      ["a.i16", { type: "int16", value: -32768 }],
      ["a.u32", { type: "uint32", value: 4294967295 }],
      ["a.i32", { type: "int32", value: -5 }],
      ["a.f32", { type: "float32", value: 0.5 }],
      ["a.bool", { type: "bool", value: true }],
      ["a.str", { type: "string", value: "héllo ✓" }],
      ["a.u64", { type: "uint64", value: 2n ** 63n }],
      ["a.i64", { type: "int64", value: -(2n ** 40n) }],
      ["a.f64", { type: "float64", value: Math.PI }],
      ["a.arr", { type: "array", itemType: "string", value: ["x", "", "z z"] }],
      ["a.arr2", { type: "array", itemType: "int32", value: [1, -2, 3] }],
    ]);
    const tensors: GgufTensor[] = [
      { name: "m", shape: [2, 3], type: GgmlType.F32, data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: "h", shape: [5], type: GgmlType.F16, data: toF16(Float32Array.from([1, -1, 0.5, 2, 3])) },
      { name: "n", shape: [1], type: GgmlType.F32, data: Float32Array.from([7]) },
    ];
    for (const alignment of [32, 64]) {
      const f = path.join(dir, `t${alignment}.gguf`);
      writeGguf(f, md, tensors, { alignment });
      const raw = fs.readFileSync(f);
      assert.equal(raw.subarray(0, 4).toString("latin1"), "GGUF");
      assert.equal(raw.readUInt32LE(4), 3);
      assert.equal(raw.readBigUInt64LE(8), 3n);
      const g = readGguf(f);
      assert.equal(g.version, 3);
      assert.equal(g.alignment, alignment);
      for (const [k, v] of md) assert.deepEqual(g.metadata.get(k), v, k);
      const m = g.tensors.get("m")!;
      assert.deepEqual(m.ne, [3, 2], "ne is the reversed row-major shape");
      assert.deepEqual([...m.data], [1, 2, 3, 4, 5, 6]);
      assert.deepEqual([...g.tensors.get("h")!.data].map(f16BitsToF32), [1, -1, 0.5, 2, 3]);
      for (const t of g.tensors.values()) assert.equal(t.offset % alignment, 0);
      assert.equal(g.tensors.get("n")!.data[0], 7);
    }
    assert.throws(
      () => writeGguf(path.join(dir, "x.gguf"), new Map([["k", { type: "uint8", value: 300 }]]), []),
      /not a valid uint8/,
    );
    assert.throws(() => writeGguf(path.join(dir, "x.gguf"), new Map(), [tensors[0]!, tensors[0]!]), /duplicate tensor/);
    fs.writeFileSync(path.join(dir, "bad.gguf"), "GGML0000");
    assert.throws(() => readGguf(path.join(dir, "bad.gguf")), /bad magic|truncated/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** HF rotary (rotate_half: pairs (i, i + d/2)) applied to one head vector at position p. */
function ropeHalf(x: Float64Array, p: number, theta: number): Float64Array {
  const d = x.length,
    h = d / 2,
    y = new Float64Array(d);
  for (let i = 0; i < h; i++) {
    const a = p * theta ** (-(2 * i) / d);
    y[i] = x[i]! * Math.cos(a) - x[i + h]! * Math.sin(a);
    y[i + h] = x[i + h]! * Math.cos(a) + x[i]! * Math.sin(a);
  }
  return y;
}
/** llama.cpp LLaMA rotary (adjacent pairs (2i, 2i+1)). */
function ropeInterleaved(x: Float64Array, p: number, theta: number): Float64Array {
  const d = x.length,
    y = new Float64Array(d);
  for (let i = 0; i < d / 2; i++) {
    const a = p * theta ** (-(2 * i) / d);
    y[2 * i] = x[2 * i]! * Math.cos(a) - x[2 * i + 1]! * Math.sin(a);
    y[2 * i + 1] = x[2 * i + 1]! * Math.cos(a) + x[2 * i]! * Math.sin(a);
  }
  return y;
}

test("Q/K row permutation turns rotate_half rotary into llama.cpp's interleaved rotary (same attention scores)", () => {
  const nHeads = 3,
    hd = 8,
    cols = 5,
    rows = nHeads * hd;
  let s = 9;
  const rnd = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  const Wq = Float32Array.from({ length: rows * cols }, rnd);
  const Wk = Float32Array.from({ length: rows * cols }, rnd);
  const Pq = permuteRotaryRows(Wq, nHeads, rows, cols);
  const Pk = permuteRotaryRows(Wk, nHeads, rows, cols);
  const x1 = Array.from({ length: cols }, rnd),
    x2 = Array.from({ length: cols }, rnd);
  const head = (W: Float32Array, x: number[], h: number): Float64Array => {
    const out = new Float64Array(hd);
    for (let r = 0; r < hd; r++) for (let c = 0; c < cols; c++) out[r] += W[(h * hd + r) * cols + c]! * x[c]!;
    return out;
  };
  const dot = (a: Float64Array, b: Float64Array): number => a.reduce((acc, v, i) => acc + v * b[i]!, 0);
  for (let h = 0; h < nHeads; h++) {
    for (const [p1, p2] of [
      [0, 0],
      [3, 1],
      [17, 5],
    ] as const) {
      const hf = dot(ropeHalf(head(Wq, x1, h), p1, 10000), ropeHalf(head(Wk, x2, h), p2, 10000));
      const ll = dot(ropeInterleaved(head(Pq, x1, h), p1, 10000), ropeInterleaved(head(Pk, x2, h), p2, 10000));
      assert.ok(Math.abs(hf - ll) < 1e-5, `head ${h} positions ${p1},${p2}: ${hf} vs ${ll}`);
    }
  }
  // and it is a permutation: same multiset of rows
  assert.deepEqual([...Pq].sort(), [...Wq].sort());
  assert.throws(() => permuteRotaryRows(Wq, 5, rows, cols), /cannot permute/);
});

// ---------------------------------------------------------------------------------------------
// end-to-end: engine model -> checkpoint -> GGUF -> llama.cpp (node-llama-cpp)
// ---------------------------------------------------------------------------------------------

const TRAIN_TEXT = [
  "def add(a, b):\n    return a + b\n",
  "The function returns the sum of two numbers.\n",
  "for i in range(10):\n    print(i * i)\n",
];

async function buildModel(
  cfg: Partial<ModelConfig>,
): Promise<{ model: LlamaModel; tok: BpeTokenizer; config: ModelConfig }> {
  const corpus = [fs.readFileSync("src/engine/gguf.ts", "utf8"), ...TRAIN_TEXT, ...TRAIN_TEXT];
  const tok = await BpeTokenizer.train(corpus, { vocabSize: 400 });
  const config = ModelConfigSchema.parse({
    ...MODEL_PRESETS.tiny,
    num_key_value_heads: 2, // grouped-query attention: K is permuted with the KV head count
    vocab_size: tok.vocabSize + 4, // a padded embedding matrix (extra rows named [PADn] in GGUF)
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    pad_token_id: 0,
    max_position_embeddings: 256,
    ...cfg,
  });
  const model = LlamaModel.init(config, 1234);
  // a few AdamW steps on short texts so greedy decoding produces a non-trivial, input-dependent continuation
  const datums: Datum[] = TRAIN_TEXT.map((t) => {
    const ids = [tok.bosId, ...tok.encode(t), tok.eosId];
    return {
      modelInput: ids.slice(0, -1),
      lossInputs: { targetTokens: ids.slice(1), weights: ids.slice(1).map(() => 1) },
    };
  });
  const opt = new AdamW(model.kernels);
  for (let step = 0; step < 40; step++) {
    const grads = model.zeroGrads();
    lossForwardBackward(model, datums, { kind: "cross_entropy" }, grads);
    opt.update(model.trainableWeights(), grads, {
      learningRate: 1e-2,
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      maxGradNorm: 1,
    });
  }
  return { model, tok, config };
}

function logSoftmax(z: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  let s = 0;
  for (const v of z) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(z, (v) => v - lse);
}

test("exported GGUF has llama.cpp names, hyper-parameters and tokenizer metadata", async () => {
  const dir = tmp();
  try {
    for (const tied of [true, false]) {
      const { model, tok, config } = await buildModel({ tie_word_embeddings: tied });
      const ck = path.join(dir, `ck-${tied}`);
      saveCheckpoint(ck, { config, weights: model.weights, tokenizer: tok });
      const out = path.join(dir, `m-${tied}.gguf`);
      exportGguf(ck, out, { dtype: "f16" });
      const g = readGguf(out);
      const md = (k: string): unknown => g.metadata.get(k)?.value;
      assert.equal(md("general.architecture"), "llama");
      assert.equal(md("llama.block_count"), config.num_hidden_layers);
      assert.equal(md("llama.embedding_length"), config.hidden_size);
      assert.equal(md("llama.feed_forward_length"), config.intermediate_size);
      assert.equal(md("llama.attention.head_count"), config.num_attention_heads);
      assert.equal(md("llama.attention.head_count_kv"), 2);
      assert.equal(md("llama.rope.dimension_count"), config.hidden_size / config.num_attention_heads);
      assert.equal(md("llama.context_length"), 256);
      assert.equal(md("tokenizer.ggml.model"), "gpt2");
      assert.equal(md("tokenizer.ggml.pre"), "gpt-2");
      assert.equal(md("tokenizer.ggml.add_bos_token"), false);
      assert.equal(md("tokenizer.ggml.eos_token_id"), tok.eosId);
      const tokens = md("tokenizer.ggml.tokens") as string[];
      const types = md("tokenizer.ggml.token_type") as number[];
      assert.equal(tokens.length, config.vocab_size);
      SPECIAL_TOKENS.forEach((s, i) => {
        assert.equal(tokens[i], s);
        assert.equal(types[i], GgufTokenType.CONTROL);
      });
      assert.equal(types[SPECIAL_TOKENS.length + 65], GgufTokenType.NORMAL);
      assert.equal(tokens[config.vocab_size - 1], `[PAD${config.vocab_size - 1}]`);
      assert.equal(types[config.vocab_size - 1], GgufTokenType.UNUSED);
      assert.deepEqual(md("tokenizer.ggml.merges"), tok.mergeStrings());
      assert.equal(g.tensors.has("output.weight"), !tied);
      for (const n of [
        "token_embd.weight",
        "output_norm.weight",
        "blk.1.attn_q.weight",
        "blk.1.attn_k.weight",
        "blk.0.ffn_down.weight",
      ]) {
        assert.ok(g.tensors.has(n), n);
      }
      assert.equal(g.tensors.get("blk.0.attn_norm.weight")!.type, GgmlType.F32, "norms stay F32");
      assert.equal(g.tensors.get("blk.0.ffn_up.weight")!.type, GgmlType.F16);
      assert.deepEqual(g.tensors.get("blk.0.ffn_down.weight")!.ne, [config.intermediate_size, config.hidden_size]);
      assert.equal(g.tensors.size, 2 + config.num_hidden_layers * 9 + (tied ? 0 : 1));
    }
    assert.throws(() => exportGguf(path.join(dir, "missing"), path.join(dir, "x.gguf")), /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("llama.cpp (node-llama-cpp 3.21.1) runs the export: same tokens, same greedy output, logits agree", async () => {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const dir = tmp();
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 1 });
  try {
    const { model, tok, config } = await buildModel({});
    const ck = path.join(dir, "ck");
    saveCheckpoint(ck, { config, weights: model.weights, tokenizer: tok });
    // prompts that end on a token boundary of the training texts, so the trained continuation is meaningful
    const prompts = ["def add", "for i in", "The function"];
    for (const dtype of ["f32", "f16"] as const) {
      const file = path.join(dir, `m-${dtype}.gguf`);
      exportGguf(ck, file, { dtype });
      const lm = await llama.loadModel({ modelPath: file });
      try {
        // tokenizer parity on code, prose, Unicode, specials and whitespace runs
        for (const s of [
          ...prompts,
          "naïve 中文 🎉 <|eos|>  x\t\ty\n\n  z",
          fs.readFileSync("src/engine/checkpoint.ts", "utf8"),
        ]) {
          assert.deepEqual(
            Array.from(lm.tokenize(s, true)),
            tok.encode(s),
            `tokenize ${JSON.stringify(s.slice(0, 40))}`,
          );
        }
        // F32 KV cache so the f32 export is compared without llama.cpp's default F16 cache rounding
        if (dtype === "f32") {
          // every code point of planes 0 and 1 (and samples beyond) in contexts that exercise each regex branch:
          // letters, numbers, punctuation, whitespace runs before it, doubled, and contractions after it
          const probe = (cp: number): string => {
            const c = String.fromCodePoint(cp);
            return `a${c}b 1${c}2  ${c} ${c}${c}'s${c}\n`;
          };
          const cps: number[] = [];
          for (let cp = 0; cp < 0x20000; cp++) if (cp < 0xd800 || cp > 0xdfff) cps.push(cp);
          for (const cp of [0x20000, 0x2a6d6, 0x30000, 0xe0001, 0xe0020, 0xe0100, 0xf0000, 0x10fffd]) cps.push(cp);
          const bad: string[] = [];
          for (let i = 0; i < cps.length; i += 512) {
            const chunk = cps.slice(i, i + 512);
            const text = chunk.map(probe).join("");
            if (
              JSON.stringify(Array.from(lm.tokenize(text, false))) ===
              JSON.stringify(tok.encode(text, { allowSpecial: false }))
            )
              continue;
            for (const cp of chunk) {
              const one = probe(cp);
              if (
                JSON.stringify(Array.from(lm.tokenize(one, false))) !==
                JSON.stringify(tok.encode(one, { allowSpecial: false }))
              )
                bad.push(cp.toString(16));
            }
          }
          assert.deepEqual(bad, [], "code points whose pre-tokenization differs from llama.cpp");
          // random mixtures of whitespace kinds, scripts, marks, digits, emoji, contractions and specials
          const pool = [
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\u00a0",
            "\u0085",
            "\u2028",
            "\u3000",
            "\ufeff",
            "\u200b",
            "a",
            "Z",
            "é",
            "中",
            "ж",
            "\u0301",
            "ी",
            "0",
            "7",
            "١",
            "½",
            "'s",
            "'ll",
            "'D",
            ".",
            "(",
            "=>",
            "_",
            "🎉",
            "👍🏽",
            "\u0000",
            "<|eos|>",
            "<|",
            "|>",
          ];
          let seed = 7;
          const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
          for (let k = 0; k < 1500; k++) {
            let x = "";
            for (let j = 1 + Math.floor(rnd() * 20); j > 0; j--) x += pool[Math.floor(rnd() * pool.length)];
            assert.deepEqual(Array.from(lm.tokenize(x, true)), tok.encode(x), `random text ${JSON.stringify(x)}`);
          }
        }
        const ctx = await lm.createContext({
          contextSize: 256,
          threads: 1,
          experimentalKvCacheKeyType: "F32",
          experimentalKvCacheValueType: "F32",
          flashAttention: false,
        });
        try {
          const seq = ctx.getSequence();
          for (const p of prompts) {
            const prompt = [tok.bosId, ...tok.encode(p)];
            // next-token distribution after the prompt
            await seq.clearHistory();
            const res = await seq.controlledEvaluate(
              prompt.map(
                (t, i): ControlledEvaluateInputItem =>
                  i === prompt.length - 1 ? [t as Token, { generateNext: { probabilities: true } }] : (t as Token),
              ),
            );
            const probs = res[prompt.length - 1]!.next!.probabilities!;
            const logits = model.forwardLogits(prompt);
            const V = config.vocab_size;
            const ours = logSoftmax(logits.subarray((prompt.length - 1) * V, prompt.length * V));
            // measured: f32 agrees to ~1e-5, f16 (weights rounded to half) to ~3e-3 in log-probability
            const tol = dtype === "f32" ? 1e-4 : 2e-2;
            let checked = 0;
            for (const [id, pr] of probs) {
              if (pr < 1e-6) continue;
              assert.ok(
                Math.abs(Math.log(pr) - ours[id]!) < tol,
                `${dtype} ${JSON.stringify(p)} token ${id}: llama.cpp ${Math.log(pr)} vs engine ${ours[id]}`,
              );
              checked++;
            }
            assert.ok(checked >= 3, "compared several tokens");
            // greedy decoding
            const n = 24;
            const mine = model.generateGreedy(prompt, n, [tok.eosId]);
            // node-llama-cpp's evaluate() ends at an end-of-generation token without yielding it
            if (mine[mine.length - 1] === tok.eosId) mine.pop();
            if (dtype === "f32") {
              await seq.clearHistory();
              const theirs: number[] = [];
              for await (const t of seq.evaluate(prompt as Token[], { temperature: 0 })) {
                theirs.push(t);
                if (theirs.length >= n) break;
              }
              assert.deepEqual(theirs, mine, `greedy continuation of ${JSON.stringify(p)}`);
              assert.ok(new Set(mine).size >= 3, "the continuation is not a single repeated token");
            }
          }
        } finally {
          await ctx.dispose();
        }
      } finally {
        await lm.dispose();
      }
    }
  } finally {
    await llama.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
