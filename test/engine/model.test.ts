// Model-level behaviour: overfitting, KV-cache vs full recomputation, native vs TS kernels, input validation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tsKernels, nativeKernels, getKernels, engineInfo, type Kernels } from "../../src/engine/kernels.js";
import { LlamaModel, packSequences, countParams } from "../../src/engine/model.js";
import { ModelConfigSchema, MODEL_PRESETS } from "../../src/engine/config.js";
import { lossForwardBackward, datumLogprobs } from "../../src/engine/train.js";
import { AdamW } from "../../src/engine/optim.js";
import { lrAt } from "../../src/core/schedule.js";
import { Rng } from "../../src/core/rng.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import type { Datum } from "../../src/core/policy.js";

const tok = new ByteTokenizer();
const cfg = (over: Record<string, unknown> = {}) =>
  ModelConfigSchema.parse({
    vocab_size: tok.vocabSize,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 128,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    ...over,
  });

function lmDatum(ids: number[]): Datum {
  return {
    modelInput: ids.slice(0, -1),
    lossInputs: { targetTokens: ids.slice(1), weights: ids.slice(1).map(() => 1) },
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test("a tiny model overfits a short text to near-zero loss", () => {
  const model = LlamaModel.init(cfg(), 11);
  const text = "def add(a, b):\n    return a + b\n";
  const ids = [tok.bosId, ...tok.encode(text), tok.eosId];
  const datum = lmDatum(ids);
  const opt = new AdamW(model.kernels);
  const steps = 200;
  let first = 0,
    last = 0;
  for (let s = 0; s < steps; s++) {
    const grads = model.zeroGrads();
    const r = lossForwardBackward(model, [datum], { kind: "cross_entropy" }, grads);
    if (s === 0) first = r.loss;
    last = r.loss;
    opt.update(model.trainableWeights(), grads, {
      learningRate: lrAt(s, { peakLr: 1e-2, warmupSteps: 10, totalSteps: steps }),
      beta1: 0.9,
      beta2: 0.98,
      eps: 1e-8,
      weightDecay: 0,
      maxGradNorm: 1,
    });
  }
  assert.ok(first > 4, `initial loss ${first} should be near ln(${tok.vocabSize})`);
  assert.ok(last < 0.05, `final loss ${last} should be near zero`);
  // and greedy generation reproduces the text
  const prompt = ids.slice(0, 5);
  const gen = model.generateGreedy(prompt, ids.length - 5);
  assert.deepEqual(gen, ids.slice(5));
});

test("KV-cache decoding equals full recomputation (logits and greedy tokens)", () => {
  const model = LlamaModel.init(cfg(), 3);
  // sharpen the random model a bit so argmax is not decided by rounding noise
  for (const [n, t] of model.weights)
    if (t.shape.length > 1) for (let i = 0; i < t.data.length; i++) t.data[i]! *= n.includes("embed") ? 20 : 5;
  const prompt = [tok.bosId, ...tok.encode("x = 1")];
  const gen = model.generateGreedy(prompt, 20, []);
  assert.equal(gen.length, 20);
  const seq = [...prompt];
  for (let i = 0; i < 20; i++) {
    const logits = model.forwardLogits(seq);
    const V = model.V,
      o = (seq.length - 1) * V;
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[o + j]! > logits[o + best]!) best = j;
    seq.push(best);
  }
  assert.deepEqual(gen, seq.slice(prompt.length));
  // packed prefill of two prompts into slots 2 and 0 gives each prompt's last-position logits
  const full = model.forwardLogits(seq);
  {
    const c3 = model.createCache(3, 64);
    const p2 = seq.slice(0, 7);
    const pl = model.prefill(c3, [seq.slice(0, 9), p2], [2, 0]);
    assert.ok(maxAbsDiff(pl.subarray(0, model.V), full.subarray(8 * model.V, 9 * model.V)) < 1e-3);
    assert.ok(maxAbsDiff(pl.subarray(model.V), full.subarray(6 * model.V, 7 * model.V)) < 1e-3);
    assert.deepEqual(Array.from(c3.len), [7, 0, 9]);
    const nx = model.forwardCached(c3, Int32Array.of(seq[9]!, seq[7]!), Int32Array.of(2, 0), [0, 1]);
    assert.ok(maxAbsDiff(nx.subarray(0, model.V), full.subarray(9 * model.V, 10 * model.V)) < 1e-3);
    assert.ok(maxAbsDiff(nx.subarray(model.V), full.subarray(7 * model.V, 8 * model.V)) < 1e-3);
    assert.throws(() => model.prefill(c3, [[1, 2]], [0]), /not empty/);
  }
  // logits of every position: cached (prompt prefill + one token at a time in two slots) vs full
  const cache = model.createCache(2, 64);
  const a = model.forwardCached(cache, Int32Array.from(seq.slice(0, 4)), new Int32Array(4), [0, 1, 2, 3]);
  assert.ok(maxAbsDiff(a, full.subarray(0, 4 * model.V)) < 1e-3);
  cache.copySlot(0, 1);
  for (let t = 4; t < seq.length; t++) {
    const both = model.forwardCached(cache, Int32Array.of(seq[t]!, seq[t]!), Int32Array.of(0, 1), [0, 1]);
    const ref = full.subarray(t * model.V, (t + 1) * model.V);
    assert.ok(maxAbsDiff(both.subarray(0, model.V), ref) < 1e-3, `position ${t}`);
    assert.ok(maxAbsDiff(both.subarray(model.V), ref) < 1e-3, `position ${t} (copied slot)`);
  }
});

test("packing sequences equals running them one by one", () => {
  const model = LlamaModel.init(cfg(), 4);
  const a = [1, 50, 60, 70, 80],
    b = [1, 90, 91];
  const packed = model.forward(packSequences([a, b])).logits;
  const la = model.forwardLogits(a),
    lb = model.forwardLogits(b);
  assert.ok(maxAbsDiff(packed.subarray(0, la.length), la) < 1e-4);
  assert.ok(maxAbsDiff(packed.subarray(la.length), lb) < 1e-4);
});

const nk = nativeKernels();
test("native and TS kernels agree (kernels, logits, gradients)", () => {
  assert.ok(
    nk,
    "native kernels addon not built (build/Release/batcoder_kernels.node): scripts/setup.sh builds it and fails without it; the native-vs-TypeScript comparisons never skip",
  );
  const K: Kernels = nk;
  const rng = new Rng(9);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  // sgemm, every transpose combination, with leading dimensions larger than the matrix
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const M = 37,
      N = 29,
      Kd = 53,
      lda = (ta ? M : Kd) + 3,
      ldb = (tb ? Kd : N) + 2,
      ldc = N + 5;
    const A = r((ta ? Kd : M) * lda),
      B = r((tb ? N : Kd) * ldb),
      C1 = r(M * ldc),
      C2 = C1.slice();
    K.sgemm(ta, tb, M, N, Kd, 0.7, A, lda, B, ldb, 0.3, C1, ldc);
    tsKernels.sgemm(ta, tb, M, N, Kd, 0.7, A, lda, B, ldb, 0.3, C2, ldc);
    assert.ok(maxAbsDiff(C1, C2) < 1e-3, `sgemm ${ta} ${tb}`);
  }
  // whole model: logits and gradients
  const c = cfg({ tie_word_embeddings: false });
  const mN = LlamaModel.init(c, 5, K);
  const mT = new LlamaModel(c, mN.clone().weights, tsKernels);
  const datums = [lmDatum([1, ...tok.encode("hello world"), 2]), lmDatum([1, ...tok.encode("fn main() {}"), 2])];
  assert.ok(maxAbsDiff(mN.forwardLogits(datums[0]!.modelInput), mT.forwardLogits(datums[0]!.modelInput)) < 1e-4);
  const gN = mN.zeroGrads(),
    gT = mT.zeroGrads();
  const spec = {
    kind: "ppo",
    clipLow: 0.2,
    clipHigh: 0.28,
    klCoef: 0,
    klEstimator: "k3",
    entropyCoef: 0.01,
    aggregation: "token-mean",
  } as const;
  const withAdv = datums.map((d) => ({
    ...d,
    lossInputs: {
      ...d.lossInputs,
      advantages: d.lossInputs.weights.map((_, i) => (i % 3) - 1),
      samplingLogprobs: d.lossInputs.weights.map(() => -5.6),
    },
  }));
  lossForwardBackward(mN, withAdv, spec, gN);
  lossForwardBackward(mT, withAdv, spec, gT);
  for (const [name, g] of gN) {
    const scale = Math.max(1e-6, ...Array.from(g, Math.abs));
    assert.ok(maxAbsDiff(g, gT.get(name)!) / scale < 1e-3, `gradient of ${name} differs`);
  }
  // token choice: same tokens and log-probs for greedy, temperature, top-k and top-p rows
  {
    const R = 6,
      V = 300;
    const z = r(R * V).map((x) => x * 3);
    const prm = Float32Array.from([0, 0, 1, 1, 0, 1, 0.7, 5, 1, 1.3, 0, 0.9, 1, 20, 0.5, 0.5, 0, 0.2]);
    const uni = Float64Array.from([0.5, 0.1, 0.99, 0.37, 0.62, 0.01]);
    const t1 = new Int32Array(R),
      t2 = new Int32Array(R),
      l1 = new Float32Array(R),
      l2 = new Float32Array(R);
    K.sampleRows(z, R, V, prm, uni, t1, l1);
    tsKernels.sampleRows(z, R, V, prm, uni, t2, l2);
    assert.deepEqual(Array.from(t1), Array.from(t2));
    assert.ok(maxAbsDiff(l1, l2) < 1e-4);
  }
  // cached attention
  const cache1 = mN.createCache(1, 32),
    cache2 = mT.createCache(1, 32);
  const toks = Int32Array.from(datums[1]!.modelInput);
  const l1 = mN.forwardCached(cache1, toks, new Int32Array(toks.length), [toks.length - 1]);
  const l2 = mT.forwardCached(cache2, toks, new Int32Array(toks.length), [toks.length - 1]);
  assert.ok(maxAbsDiff(l1, l2) < 1e-4);
});

test("engineInfo reports the kernels and the OpenBLAS core type", () => {
  const info = engineInfo();
  assert.equal(info.kernels, getKernels().name);
  if (info.kernels === "native") {
    assert.ok(info.blasCore && info.blasCore.length > 0);
    if (process.env.OPENBLAS_CORETYPE) assert.equal(info.coretype.value, process.env.OPENBLAS_CORETYPE);
  }
});

test("bad inputs give clear errors", () => {
  const model = LlamaModel.init(cfg(), 1);
  assert.throws(() => model.forwardLogits([1, 99999]), /token id 99999 out of range/);
  assert.throws(() => model.forwardLogits(new Array(200).fill(5)), /exceeds the context length 128/);
  assert.throws(
    () => datumLogprobs(model, [{ modelInput: [1, 2], lossInputs: { targetTokens: [2], weights: [1] } }]),
    /targetTokens must have 2 entries/,
  );
  assert.throws(() => new LlamaModel(cfg(), new Map()), /missing tensor model.embed_tokens.weight/);
  const cache = model.createCache(1, 2);
  model.forwardCached(cache, Int32Array.of(1, 2), Int32Array.of(0, 0), []);
  assert.throws(() => model.forwardCached(cache, Int32Array.of(3), Int32Array.of(0), [0]), /slot 0 is full/);
});

test("presets have the parameter counts documented in config.ts", () => {
  // independent formula: embeddings + per layer (q,o: d*d; k,v: d*kvDim; gate/up/down: 3*d*F; two norms) + final norm
  const formula = (p: (typeof MODEL_PRESETS)[keyof typeof MODEL_PRESETS], V: number) => {
    const d = p.hidden_size,
      kv = (d / p.num_attention_heads) * p.num_key_value_heads;
    return V * d + p.num_hidden_layers * (2 * d * d + 2 * d * kv + 3 * d * p.intermediate_size + 2 * d) + d;
  };
  const documented: Record<string, [number, number, number]> = {
    tiny: [0.36, 0.62, 1.15],
    small: [2.56, 3.34, 4.92],
    base: [8.75, 10.06, 12.68],
    medium: [21.34, 23.17, 26.84],
    large: [88.1, 91.25, 97.54],
  };
  for (const [name, p] of Object.entries(MODEL_PRESETS)) {
    [4096, 8192, 16384].forEach((V, i) => {
      const n = countParams(ModelConfigSchema.parse({ ...p, vocab_size: V, bos_token_id: 1, eos_token_id: 2 }));
      assert.equal(n, formula(p, V), `${name} @ ${V}`);
      assert.ok(Math.abs(n / 1e6 - documented[name]![i]!) < 0.006, `${name} @ ${V}: ${n}`);
    });
  }
});

test("token choice follows temperature / top-k / top-p (TS and native)", () => {
  for (const K of [tsKernels, ...(nk ? [nk] : [])]) {
    const V = 5;
    const z = Float32Array.from([2, 1, 0, -1, 3]); // probabilities ~ [.24, .09, .03, .01, .64]
    const pick = (T: number, k: number, p: number, u: number) => {
      const t = new Int32Array(1),
        l = new Float32Array(1);
      K.sampleRows(z, 1, V, Float32Array.of(T, k, p), Float64Array.of(u), t, l);
      return { t: t[0]!, l: l[0]! };
    };
    const lse = Math.log(Array.from(z).reduce((a, x) => a + Math.exp(x), 0));
    assert.equal(pick(0, 0, 1, 0.99).t, 4);
    assert.ok(Math.abs(pick(0, 0, 1, 0.5).l - (3 - lse)) < 1e-5);
    // inverse-CDF over ids in order: u small -> id 0, u large -> id 4
    assert.equal(pick(1, 0, 1, 0.0).t, 0);
    assert.equal(pick(1, 0, 1, 0.999).t, 4);
    // top-k 2 keeps ids 4 and 0 only
    for (const u of [0, 0.3, 0.6, 0.99]) assert.ok([0, 4].includes(pick(1, 2, 1, u).t), `${K.name} top-k`);
    // top-p 0.5: the single most likely token (0.64 >= 0.5)
    for (const u of [0, 0.5, 0.99]) assert.equal(pick(1, 0, 0.5, u).t, 4);
    // top-p 0.8 keeps {4, 0}
    for (const u of [0, 0.5, 0.99]) assert.ok([0, 4].includes(pick(1, 0, 0.8, u).t));
    // the reported log-prob is of softmax(z / T) at the sampling temperature (before top-k / top-p)
    for (const T of [5, 0.6]) {
      const lseT = Math.log(Array.from(z).reduce((a, x) => a + Math.exp(x / T), 0));
      for (const [k, p] of [
        [0, 1],
        [2, 1],
        [0, 0.8],
      ] as const) {
        const hot = pick(T, k, p, 0.3);
        assert.ok(Math.abs(hot.l - (z[hot.t]! / T - lseT)) < 1e-5, `${K.name} T=${T} k=${k} p=${p}: ${hot.l}`);
      }
    }
  }
});

test("micro-batched forward/backward equals one batch: PPO + entropy, and a non-separable loss via corrections", async () => {
  const { computeLoss } = await import("../../src/core/losses.js");
  const model = LlamaModel.init(cfg(), 12);
  const rng = new Rng(13);
  const datums: Datum[] = [0, 1, 2, 3].map((k) => {
    const ids = [1, ...tok.encode(`item ${k}: ${"x".repeat(3 + 4 * k)}`), 2];
    const d = lmDatum(ids);
    const n = d.modelInput.length;
    d.lossInputs.advantages = Array.from({ length: n }, () => rng.normal());
    d.lossInputs.samplingLogprobs = Array.from({ length: n }, () => -5 - rng.next());
    d.lossInputs.refLogprobs = Array.from({ length: n }, () => -5 - rng.next());
    return d;
  });
  const specs = [
    {
      kind: "ppo",
      clipLow: 0.2,
      clipHigh: 0.28,
      klCoef: 0.05,
      klEstimator: "k3",
      entropyCoef: 0.01,
      aggregation: "seq-mean-token-mean",
    },
    { kind: "cross_entropy" },
  ] as const;
  // a loss whose token gradients depend on every datum: (mean logp)^2
  const coupled: typeof computeLoss = (_spec, inp) => {
    const all = inp.logprobs.flat();
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    return {
      loss: mean * mean,
      dLogprobs: inp.logprobs.map((r) => r.map(() => (2 * mean) / all.length)),
      dEntropies: null,
      metrics: {},
    };
  };
  const cases: [string, (typeof specs)[number], typeof computeLoss | undefined][] = [
    ["ppo", specs[0], undefined],
    ["ce", specs[1], undefined],
    ["coupled", specs[1], coupled],
  ];
  for (const [name, spec, lossFn] of cases) {
    const g1 = model.zeroGrads(),
      g2 = model.zeroGrads();
    const r1 = lossForwardBackward(model, datums, spec, g1, lossFn ? { lossFn } : {});
    const r2 = lossForwardBackward(model, datums, spec, g2, { maxTokens: 20, ...(lossFn ? { lossFn } : {}) });
    assert.ok(r2!.metrics.microbatches! >= 3, name);
    assert.equal(r2!.metrics.corrections, name === "coupled" ? r2!.metrics.microbatches! - 1 : 0, name);
    assert.ok(Math.abs(r1!.loss - r2!.loss) < 1e-6 * Math.max(1, Math.abs(r1!.loss)), name);
    for (const [p, g] of g1) {
      const scale = Math.max(1e-8, ...Array.from(g, Math.abs));
      assert.ok(maxAbsDiff(g, g2.get(p)!) / scale < 1e-4, `${name}: ${p}`);
    }
  }
});

test("a missing native addon falls back to the TS kernels with a warning, and the engine still works", async () => {
  const { spawnSync } = await import("node:child_process");
  const code = `
    import("./dist/src/engine/kernels.js").then(async (k) => {
      const { LlamaModel } = await import("./dist/src/engine/model.js");
      const { ModelConfigSchema } = await import("./dist/src/engine/config.js");
      const m = LlamaModel.init(ModelConfigSchema.parse({ vocab_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
        num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 16, bos_token_id: 1, eos_token_id: 2 }), 1);
      const out = m.generateGreedy([1, 5, 7], 4, []);
      console.log(JSON.stringify({ info: k.engineInfo(), kernels: m.kernels.name, n: out.length }));
    });`;
  const env: NodeJS.ProcessEnv = { ...process.env, BATCODER_ADDON: "/nonexistent/batcoder_kernels.node" };
  delete env.BATCODER_TEST;
  delete env.BATCODER_KERNELS;
  const r = spawnSync(process.execPath, ["-e", code], { encoding: "utf8", env });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(res.info.kernels, "ts");
  assert.equal(res.kernels, "ts");
  assert.equal(res.n, 4);
  assert.match(res.info.fallbackReason, /nonexistent/);
  assert.match(r.stderr, /warning: native kernels unavailable/);
});
