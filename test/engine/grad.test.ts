// Finite-difference gradient checks: every kernel (RMSNorm, rotary, causal attention, SwiGLU, log-softmax with
// entropy) and every parameter tensor of a small LLaMA (embedding, norms, q/k/v/o, gate/up/down, lm head, tied
// and untied, GQA, q/k/v/o biases, Qwen3 q/k norms with a decoupled head_dim), for both the native and the
// pure-TS kernels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tsKernels, nativeKernels, type Kernels } from "../../src/engine/kernels.js";
import { LlamaModel } from "../../src/engine/model.js";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { lossForwardBackward } from "../../src/engine/train.js";
import { Rng } from "../../src/core/rng.js";
import type { Datum } from "../../src/core/policy.js";

const backends: Kernels[] = [tsKernels];
const nk = nativeKernels();
if (!nk)
  throw new Error(
    "native kernels addon not built (build/Release/batcoder_kernels.node): scripts/setup.sh builds it and fails without it; the native-vs-TypeScript comparisons never skip",
  );
backends.push(nk);

function rand(rng: Rng, n: number, s = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * s;
  return a;
}
function dot64(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
/** Checks analytic vs central differences of f at every (or `sample`) entries of x. */
function fdCheck(
  name: string,
  x: Float32Array,
  f: () => number,
  analytic: Float32Array,
  eps = 1e-2,
  tol = 2e-2,
  sample?: number[],
) {
  const idx = sample ?? [...x.keys()];
  let num2 = 0,
    den2 = 0;
  for (const i of idx) {
    const old = x[i]!;
    x[i] = old + eps;
    const fp = f();
    x[i] = old - eps;
    const fm = f();
    x[i] = old;
    const fd = (fp - fm) / (2 * eps);
    num2 += (fd - analytic[i]!) ** 2;
    den2 += fd ** 2 + analytic[i]! ** 2;
  }
  const rel = Math.sqrt(num2) / Math.max(1e-12, Math.sqrt(den2));
  assert.ok(den2 > 1e-10, `${name}: gradient is identically zero, check is vacuous`);
  assert.ok(rel < tol, `${name}: relative gradient error ${rel.toExponential(2)} >= ${tol}`);
}

for (const K of backends) {
  test(`[${K.name}] rmsnorm backward matches finite differences`, () => {
    const rng = new Rng(1);
    const N = 3,
      d = 8;
    const x = rand(rng, N * d),
      w = rand(rng, d),
      R = rand(rng, N * d);
    const out = new Float32Array(N * d),
      rstd = new Float32Array(N);
    const f = () => (K.rmsnormFwd(x, w, out, rstd, N, d, 1e-5), dot64(out, R));
    f();
    const dx = new Float32Array(N * d),
      dw = new Float32Array(d);
    K.rmsnormBwd(R, x, w, rstd, dx, dw, N, d);
    fdCheck("rmsnorm dx", x, f, dx);
    fdCheck("rmsnorm dw", w, f, dw);
  });

  test(`[${K.name}] rotary inverse is the transpose (backward) and preserves norms`, () => {
    const rng = new Rng(2);
    const N = 4,
      H = 2,
      hd = 8,
      half = hd / 2,
      maxPos = 16;
    const cos = new Float32Array(maxPos * half),
      sin = new Float32Array(maxPos * half);
    for (let p = 0; p < maxPos; p++)
      for (let j = 0; j < half; j++) {
        const a = p * Math.pow(10000, (-2 * j) / hd);
        cos[p * half + j] = Math.cos(a);
        sin[p * half + j] = Math.sin(a);
      }
    const pos = Int32Array.from([0, 3, 7, 15]);
    const x = rand(rng, N * H * hd),
      R = rand(rng, N * H * hd);
    const y = new Float32Array(x.length);
    const f = () => (y.set(x), K.rope(y, N, H, hd, pos, cos, sin, 1), dot64(y, R));
    f();
    const g = R.slice();
    K.rope(g, N, H, hd, pos, cos, sin, -1);
    fdCheck("rope", x, f, g);
    assert.ok(Math.abs(dot64(y, y) - dot64(x, x)) < 1e-3 * dot64(x, x));
    // position 0 is the identity
    for (let c = 0; c < H * hd; c++) assert.ok(Math.abs(y[c]! - x[c]!) < 1e-6);
  });

  test(`[${K.name}] causal attention backward (GQA, two segments) matches finite differences`, () => {
    const rng = new Rng(3);
    const H = 4,
      Hkv = 2,
      hd = 4;
    const segStart = Int32Array.from([0, 5]),
      segLen = Int32Array.from([5, 3]);
    const N = 8;
    const q = rand(rng, N * H * hd),
      k = rand(rng, N * Hkv * hd),
      v = rand(rng, N * Hkv * hd),
      R = rand(rng, N * H * hd);
    const out = new Float32Array(N * H * hd),
      lse = new Float32Array(N * H);
    const f = () => (K.attnFwd(q, k, v, out, lse, segStart, segLen, H, Hkv, hd), dot64(out, R));
    f();
    const dq = new Float32Array(q.length),
      dk = new Float32Array(k.length),
      dv = new Float32Array(v.length);
    K.attnBwd(R, q, k, v, out, lse, dq, dk, dv, segStart, segLen, H, Hkv, hd);
    fdCheck("attn dq", q, f, dq);
    fdCheck("attn dk", k, f, dk);
    fdCheck("attn dv", v, f, dv);
    // causality: the first row of segment 2 only sees itself -> equals its v row (per kv head)
    for (let h = 0; h < H; h++)
      for (let c = 0; c < hd; c++) {
        const g = Math.floor(h / (H / Hkv));
        assert.ok(Math.abs(out[5 * H * hd + h * hd + c]! - v[5 * Hkv * hd + g * hd + c]!) < 1e-5);
      }
  });

  test(`[${K.name}] swiglu backward matches finite differences`, () => {
    const rng = new Rng(4);
    const n = 20;
    const g = rand(rng, n, 2),
      u = rand(rng, n),
      R = rand(rng, n),
      out = new Float32Array(n);
    const f = () => (K.swigluFwd(g, u, out, n), dot64(out, R));
    f();
    const dg = new Float32Array(n),
      du = new Float32Array(n);
    K.swigluBwd(R, g, u, dg, du, n);
    fdCheck("swiglu dg", g, f, dg);
    fdCheck("swiglu du", u, f, du);
  });

  test(`[${K.name}] log-softmax + entropy backward matches finite differences`, () => {
    const rng = new Rng(5);
    const N = 3,
      V = 7;
    const z = rand(rng, N * V, 2),
      tgt = Int32Array.from([0, 6, 3]);
    const gl = Float32Array.from([0.7, -1.3, 0.4]),
      ge = Float32Array.from([0.5, 0.2, -0.9]);
    const logp = new Float32Array(N),
      lse = new Float32Array(N),
      ent = new Float32Array(N);
    const f = () => {
      K.logsoftmaxFwd(z, N, V, tgt, logp, lse, ent);
      let s = 0;
      for (let i = 0; i < N; i++) s += gl[i]! * logp[i]! + ge[i]! * ent[i]!;
      return s;
    };
    f();
    // reference entropy in float64
    for (let i = 0; i < N; i++) {
      const row = Array.from(z.subarray(i * V, i * V + V));
      const m = Math.max(...row),
        Z = row.reduce((a, x) => a + Math.exp(x - m), 0);
      const H = -row.reduce((a, x) => a + (Math.exp(x - m) / Z) * (x - m - Math.log(Z)), 0);
      assert.ok(Math.abs(H - ent[i]!) < 1e-5);
      assert.ok(Math.abs(row[tgt[i]!]! - m - Math.log(Z) - logp[i]!) < 1e-5);
    }
    const dz = z.slice();
    K.logsoftmaxBwd(dz, N, V, tgt, lse, gl, ent, ge);
    fdCheck("logsoftmax dz", z, f, dz);
  });

  const variants: Array<{ label: string; cfg: Record<string, unknown>; has?: string[]; lacks?: string[] }> = [
    { label: "tied GQA LLaMA", cfg: { tie_word_embeddings: true } },
    { label: "untied GQA LLaMA", cfg: { tie_word_embeddings: false } },
    // q/k/v/o biases and Llama-3 rotary scaling
    {
      label: "LLaMA with attention bias and llama3 rope scaling",
      cfg: {
        attention_bias: true,
        rope_theta: 500000,
        rope_scaling: {
          rope_type: "llama3",
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 8,
        },
      },
      has: ["model.layers.1.self_attn.q_proj.bias", "model.layers.1.self_attn.o_proj.bias"],
    },
    // q/k/v bias, no o bias
    {
      label: "Qwen2",
      cfg: { architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", tie_word_embeddings: false },
      has: ["model.layers.0.self_attn.k_proj.bias", "model.layers.0.self_attn.v_proj.bias", "lm_head.weight"],
      lacks: ["model.layers.0.self_attn.o_proj.bias"],
    },
    // per-head q/k RMSNorm, head_dim decoupled from hidden/heads (4 heads x 6 != 16)
    {
      label: "Qwen3 (q/k norm, head_dim 6)",
      cfg: { architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", head_dim: 6 },
      has: ["model.layers.1.self_attn.q_norm.weight", "model.layers.1.self_attn.k_norm.weight"],
      lacks: ["model.layers.0.self_attn.q_proj.bias"],
    },
    { label: "Mistral", cfg: { architectures: ["MistralForCausalLM"], model_type: "mistral", sliding_window: 16 } },
  ];
  for (const { label, cfg, has = [], lacks = [] } of variants) {
    test(`[${K.name}] every parameter of a ${label} matches finite differences`, () => {
      const config = ModelConfigSchema.parse({
        vocab_size: 24,
        hidden_size: 16,
        intermediate_size: 20,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        max_position_embeddings: 16,
        bos_token_id: 1,
        eos_token_id: 2,
        ...cfg,
      });
      const model = LlamaModel.init(config, 7, K);
      for (const n of has) assert.ok(model.weights.has(n), `${label} has ${n}`);
      for (const n of lacks) assert.ok(!model.weights.has(n), `${label} has no ${n}`);
      const rng = new Rng(8);
      // larger weights than the 0.02 init so every gradient is well above float32 noise
      for (const t of model.weights.values()) {
        if (t.shape.length > 1) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.3;
        else for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + rng.normal() * 0.2;
      }
      const mk = (toks: number[]): Datum => ({
        modelInput: toks.slice(0, -1),
        lossInputs: { targetTokens: toks.slice(1), weights: toks.slice(1).map((_, i) => (i === 0 ? 0 : 1)) },
      });
      const datums = [mk([1, 5, 9, 3, 22, 7, 7, 2]), mk([1, 11, 4, 2]), mk([1, 23, 0, 6, 2])];
      const spec = { kind: "cross_entropy" } as const;
      const grads = model.zeroGrads();
      const res = lossForwardBackward(model, datums, spec, grads);
      const lossOf = () => lossForwardBackward(model, datums, spec, model.zeroGrads()).loss;
      assert.ok(Math.abs(lossOf() - res.loss) < 1e-6);
      for (const [name, t] of model.f32Weights()) {
        const idx = [...Array(Math.min(12, t.data.length)).keys()].map(() => rng.int(t.data.length));
        fdCheck(name, t.data, lossOf, grads.get(name)!, 3e-3, 3e-2, idx);
      }
    });
  }
}
