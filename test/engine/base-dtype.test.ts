// A frozen base kept in bf16/f16 (LlamaModel.setBaseDtype, HalfTensor): logits, the KV-cache path and LoRA gradients
// against (a) the same f32 model and (b) the f32 model whose matrices were rounded to bf16 (the same values, so only
// f32 summation order differs), bytes held, refusal of full fine-tuning on a 16-bit base, and the loaders'
// --base-dtype choices (HF BF16 folder kept bit for bit under "auto", GGUF F16, checkpoints of a 16-bit model).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { nativeKernels, tsKernels, type Kernels } from "../../src/engine/kernels.js";
import { isHalfTensor, LlamaModel, packSequences, weightF32 } from "../../src/engine/model.js";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { lossForwardBackward } from "../../src/engine/train.js";
import { LORA_TARGETS, LoraAdapter } from "../../src/engine/lora.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { exportModelGguf } from "../../src/engine/gguf.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/engine/checkpoint.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { loadModel, parseBaseDtype } from "../../src/backends/model-ref.js";
import { UserError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import type { Datum } from "../../src/core/policy.js";
import { ARCH_CONFIGS, randomModel } from "./arch-helpers.js";

const nk = nativeKernels();
if (!nk) throw new Error("native kernels addon not built: scripts/setup.sh builds it");

// hidden 64 / intermediate 96 so the native kernels' vector loops and tails both run
const SIZE = { hidden_size: 64, intermediate_size: 96, vocab_size: 72 };

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** f32 model, the same in bf16, and the f32 model with its matrices rounded to bf16 values. */
function trio(arch: string, K: Kernels) {
  const base = randomModel({ ...ARCH_CONFIGS[arch], ...SIZE }, 7);
  const f32 = new LlamaModel(base.config, base.f32Weights(), K);
  const half = f32.clone().setBaseDtype("bf16");
  const rounded = f32.clone().setBaseDtype("bf16").setBaseDtype("f32"); // bf16 -> f32 widening is exact
  return { f32, half, rounded };
}

function randomAdapter(model: LlamaModel, seed: number): LoraAdapter {
  // every target, the LM head (on a 16-bit embedding when tied, qwen2; a 16-bit lm_head, qwen3) included
  const a = LoraAdapter.init(model.config, { rank: 4, alpha: 8, targetModules: [...LORA_TARGETS] }, seed);
  const rng = new Rng(seed + 100);
  for (const m of a.modules.values()) for (let i = 0; i < m.B.data.length; i++) m.B.data[i] = rng.normal() * 0.1;
  return a;
}

function datums(V: number, seed: number): Datum[] {
  const rng = new Rng(seed);
  return [11, 7].map((n) => {
    const toks = Array.from({ length: n }, () => rng.int(V));
    return {
      modelInput: toks.slice(0, -1),
      lossInputs: { targetTokens: toks.slice(1), weights: toks.slice(1).map(() => 1) },
    };
  });
}

for (const [kname, K] of [
  ["native", nk],
  ["ts", tsKernels],
] as const) {
  for (const arch of ["qwen2", "qwen3"] as const) {
    test(`bf16 base (${arch}, ${kname} kernels): logits vs the rounded f32 model (1e-5) and vs the f32 model`, () => {
      const { f32, half, rounded } = trio(arch, K);
      assert.deepEqual(half.baseDtypes(), { bf16: f32.config.tie_word_embeddings ? 15 : 16 });
      const toks = Array.from({ length: 20 }, (_, i) => (i * 37 + 5) % SIZE.vocab_size);
      const a = f32.forwardLogits(toks),
        h = half.forwardLogits(toks),
        r = rounded.forwardLogits(toks);
      const scale = maxAbs(r);
      const dRounded = maxDiff(h, r),
        dF32 = maxDiff(h, a);
      // same weight values, f32 compute: only summation order differs (float32 rounding, ~1e-7 relative per op)
      assert.ok(dRounded <= 1e-5 * Math.max(1, scale), `bf16 vs rounded f32: ${dRounded} (scale ${scale})`);
      // vs the unrounded model: bf16 keeps 8 significant bits, so rounding moves each weight by at most 2^-9 of its
      // value, in no particular direction. The tolerance is calibrated by a control: the same f32 model with every
      // matrix entry scaled by (1 + u), u uniform in [-2^-9, 2^-9]. bf16 rounding must move the logits by the same
      // order as that perturbation (measured 1.1-1.6x at these sizes; allowed 1/3x-3x), and by far more than the
      // rounded-f32 comparison above (so that one is not vacuous).
      const control = f32.clone(),
        rng = new Rng(1);
      for (const t of control.weights.values())
        if (t.shape.length === 2)
          for (let i = 0; i < t.data.length; i++) t.data[i]! *= 1 + (2 * rng.next() - 1) * 2 ** -9;
      const dControl = maxDiff(control.forwardLogits(toks), a);
      assert.ok(dF32 <= 3 * dControl && dF32 >= dControl / 3, `bf16 vs f32: ${dF32}, 2^-9 perturbation: ${dControl}`);
      assert.ok(dF32 > 10 * dRounded, `bf16 rounding should dominate (${dF32} vs ${dRounded})`);
      assert.ok(maxDiff(a, r) > 0);
      // the KV-cache path (prefill + incremental decoding of two sequences) on the bf16 base
      const cache = half.createCache(2, 32),
        cacheR = rounded.createCache(2, 32);
      const p = [toks.slice(0, 9), toks.slice(3, 8)];
      assert.ok(maxDiff(half.prefill(cache, p, [0, 1]), rounded.prefill(cacheR, p, [0, 1])) <= 1e-5 * scale);
      const step = Int32Array.of(4, 9),
        slots = Int32Array.of(0, 1);
      const d = maxDiff(
        half.forwardCached(cache, step, slots, [0, 1]),
        rounded.forwardCached(cacheR, step, slots, [0, 1]),
      );
      assert.ok(d <= 1e-5 * Math.max(1, scale), `cached decode: ${d}`);
    });

    test(`bf16 base (${arch}, ${kname} kernels): LoRA gradients equal the rounded f32 model's and finite differences`, () => {
      const { half, rounded } = trio(arch, K);
      half.lora = randomAdapter(half, 3);
      rounded.lora = half.lora.clone();
      const ds = datums(SIZE.vocab_size, 5);
      const spec = { kind: "cross_entropy" } as const;
      const gh = half.zeroGrads(),
        gr = rounded.zeroGrads();
      assert.deepEqual([...gh.keys()].sort(), [...half.lora.parameters().keys()].sort(), "adapter-only gradients");
      assert.ok(gh.has("lm_head.lora_A.weight"));
      // with the adapter attached: the full pass and the KV-cache path of the bf16 base equal the rounded model's
      const toks = Array.from({ length: 12 }, (_, i) => (i * 29 + 3) % SIZE.vocab_size);
      const lr0 = rounded.forwardLogits(toks);
      assert.ok(maxDiff(half.forwardLogits(toks), lr0) <= 1e-5 * Math.max(1, maxAbs(lr0)));
      const ch = half.createCache(1, 16),
        cr = rounded.createCache(1, 16);
      assert.ok(
        maxDiff(half.prefill(ch, [toks.slice(0, 6)], [0]), rounded.prefill(cr, [toks.slice(0, 6)], [0])) <=
          1e-5 * Math.max(1, maxAbs(lr0)),
      );
      const st = Int32Array.of(toks[6]!),
        sl = Int32Array.of(0);
      assert.ok(
        maxDiff(half.forwardCached(ch, st, sl, [0]), rounded.forwardCached(cr, st, sl, [0])) <=
          1e-5 * Math.max(1, maxAbs(lr0)),
      );
      const lh = lossForwardBackward(half, ds, spec, gh).loss,
        lr = lossForwardBackward(rounded, ds, spec, gr).loss;
      assert.ok(Math.abs(lh - lr) <= 1e-5 * Math.abs(lr));
      for (const [name, g] of gh) {
        const s = maxAbs(gr.get(name)!);
        assert.ok(s > 0, `${name}: zero gradient`);
        assert.ok(maxDiff(g, gr.get(name)!) <= 1e-4 * s, `${name}: ${maxDiff(g, gr.get(name)!)} (scale ${s})`);
      }
      // central differences on a few entries of an A and a B of the bf16 model (the input gradients flow through
      // the frozen bf16 weights via linearBwdHalf)
      const lossOf = () => lossForwardBackward(half, ds, spec, half.zeroGrads()).loss;
      const params = half.lora.parameters();
      for (const name of [
        "model.layers.0.self_attn.q_proj.lora_A.weight",
        "model.layers.0.mlp.down_proj.lora_B.weight",
        "lm_head.lora_A.weight",
        "lm_head.lora_B.weight",
      ]) {
        const x = params.get(name)!.data,
          g = gh.get(name)!;
        const rng = new Rng(9);
        let num2 = 0,
          den2 = 0;
        for (let k = 0; k < 6; k++) {
          const i = rng.int(x.length),
            old = x[i]!,
            eps = 3e-3;
          x[i] = old + eps;
          const fp = lossOf();
          x[i] = old - eps;
          const fm = lossOf();
          x[i] = old;
          const fd = (fp - fm) / (2 * eps);
          num2 += (fd - g[i]!) ** 2;
          den2 += fd ** 2 + g[i]! ** 2;
        }
        assert.ok(den2 > 1e-12, `${name}: vacuous`);
        assert.ok(Math.sqrt(num2 / den2) < 3e-2, `${name}: finite-difference error ${Math.sqrt(num2 / den2)}`);
      }
    });
  }
}

test("bf16 base: bytes held halve, full fine-tuning is refused, the reference shares the frozen base", () => {
  const { f32, half } = trio("qwen2", nk);
  let matrices = 0,
    vectors = 0;
  for (const t of f32.weights.values()) t.shape.length === 2 ? (matrices += t.data.length) : (vectors += t.data.length);
  assert.equal(f32.weightBytes(), 4 * (matrices + vectors));
  assert.equal(half.weightBytes(), 2 * matrices + 4 * vectors);
  for (const t of half.weights.values()) assert.equal(isHalfTensor(t), t.shape.length === 2);
  assert.ok(half.weightBytes() / f32.weightBytes() < 0.51);
  assert.throws(() => half.trainableWeights(), /full fine-tuning needs f32 base weights/);
  half.lora = randomAdapter(half, 1);
  assert.equal(half.trainableWeights().size, half.lora.parameters().size);
  half.freezeBase = false;
  assert.throws(() => half.zeroGrads(), /full fine-tuning needs f32 base weights/);
  half.freezeBase = true;
  const ref = half.clone({ shareFrozenBase: true });
  assert.equal(ref.weights.get("model.embed_tokens.weight"), half.weights.get("model.embed_tokens.weight"));
  assert.notEqual(ref.lora, half.lora);
  const deep = half.clone();
  assert.notEqual(deep.weights.get("model.embed_tokens.weight"), half.weights.get("model.embed_tokens.weight"));
  // f16 as well, and back to f32 exactly
  const f16 = f32.clone().setBaseDtype("f16");
  assert.deepEqual(f16.baseDtypes(), { f16: 15 });
  const back = f16.clone().setBaseDtype("f32");
  const w = back.weights.get("model.layers.1.mlp.up_proj.weight")!;
  assert.deepEqual(w.data, weightF32(f16.weights.get("model.layers.1.mlp.up_proj.weight")!));
});

test("loaders: --base-dtype auto keeps a BF16 folder's bits, f32 widens, bf16 rounds an F32 folder; GGUF F16; checkpoints", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-basedtype-"));
  try {
    const m = randomModel({ ...ARCH_CONFIGS.qwen2, ...SIZE }, 11);
    const bf = path.join(dir, "bf16"),
      f32dir = path.join(dir, "f32");
    saveHfFolder(bf, m.config, m.weights, { dtype: "BF16" });
    saveHfFolder(f32dir, m.config, m.weights, { dtype: "F32" });
    const toks = [3, 9, 27, 5, 60, 1, 14];
    const auto = await loadModel(bf, { baseDtype: "auto" });
    assert.deepEqual(auto.model.baseDtypes(), { bf16: 15 });
    assert.match(auto.description, /bf16 \(15 matrices\)/);
    const wide = await loadModel(bf, { baseDtype: "f32" });
    assert.deepEqual(wide.model.baseDtypes(), { f32: 15 });
    for (const [k, t] of auto.model.weights) assert.deepEqual(weightF32(t), wide.model.weights.get(k)!.data, k);
    const d = maxDiff(auto.model.forwardLogits(toks), wide.model.forwardLogits(toks));
    assert.ok(d <= 1e-5 * Math.max(1, maxAbs(wide.model.forwardLogits(toks))), `auto vs f32 load: ${d}`);
    assert.deepEqual((await loadModel(f32dir, { baseDtype: "auto" })).model.baseDtypes(), { f32: 15 });
    const rounded = await loadModel(f32dir, { baseDtype: "bf16" });
    for (const [k, t] of rounded.model.weights)
      if (t.shape.length === 2) assert.deepEqual(t.data, auto.model.weights.get(k)!.data, k); // the BF16 file's bits
    assert.deepEqual((await loadModel(f32dir)).model.baseDtypes(), { f32: 15 }, "library default is f32");
    // GGUF F16: "auto" keeps the matrices as f16 (exact), F32 GGUF stays f32
    const tok = await BpeTokenizer.train(["def f(x): return x + 1\n"], { vocabSize: 300 });
    const cfg = ModelConfigSchema.parse({ ...ARCH_CONFIGS.qwen2, ...SIZE, vocab_size: tok.vocabSize });
    const g = LlamaModel.init(cfg, 3);
    const gf = path.join(dir, "m.gguf");
    exportModelGguf(gf, cfg, g.weights, tok, { dtype: "f16" });
    const gl = await loadModel(gf, { baseDtype: "auto" });
    assert.deepEqual(gl.model.baseDtypes(), { f16: 15 });
    const gw = await loadModel(gf, { baseDtype: "f32" });
    for (const [k, t] of gl.model.weights) assert.deepEqual(weightF32(t), gw.model.weights.get(k)!.data, k);
    // a checkpoint of a 16-bit model stores BF16 and reads back as the widened values
    const ck = path.join(dir, "ck");
    saveCheckpoint(ck, { config: cfg, weights: g.clone().setBaseDtype("bf16").weights, tokenizer: tok, step: 1 });
    const back = loadCheckpoint(ck);
    const want = g.clone().setBaseDtype("bf16").setBaseDtype("f32");
    for (const [k, t] of back.weights) assert.deepEqual(t.data, want.weights.get(k)!.data, k);
    // "auto" on a checkpoint: matrices it stores as BF16 (a LoRA run's 16-bit base) come back as the same bits
    const ckAuto = await loadModel(ck, { baseDtype: "auto" });
    assert.deepEqual(ckAuto.model.baseDtypes(), { bf16: 15 });
    for (const [k, t] of ckAuto.model.weights)
      if (t.shape.length === 2) assert.deepEqual(t.data, g.clone().setBaseDtype("bf16").weights.get(k)!.data, k);
    const ck32 = path.join(dir, "ck32");
    saveCheckpoint(ck32, { config: cfg, weights: g.weights, tokenizer: tok, step: 1 });
    assert.deepEqual((await loadModel(ck32, { baseDtype: "auto" })).model.baseDtypes(), { f32: 15 });
    assert.equal(parseBaseDtype(undefined), undefined);
    assert.throws(
      () => parseBaseDtype("fp8"),
      (e: unknown) => e instanceof UserError && /auto, f32, bf16, f16/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("packed training batch on a bf16 base runs the backward through every frozen matrix", () => {
  const { half } = trio("qwen3", nk);
  half.lora = randomAdapter(half, 2);
  const fc = half.forward(
    packSequences([
      [1, 2, 3, 4],
      [5, 6, 7],
    ]),
  );
  fc.logits.fill(1e-3);
  const g = half.zeroGrads();
  half.backward(fc, g);
  for (const [k, v] of g) assert.ok(v.every(Number.isFinite) && maxAbs(v) > 0, k);
});
