// AdamW update, decoupled decay (none on norms), clipping, schedule, and the PRNG state round trip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AdamW } from "../../src/engine/optim.js";
import { lrAt } from "../../src/core/schedule.js";
import { tsKernels, nativeKernels } from "../../src/engine/kernels.js";
import { Rng } from "../../src/core/rng.js";

const nk = nativeKernels();
if (!nk)
  throw new Error(
    "native kernels addon not built (build/Release/batcoder_kernels.node): scripts/setup.sh builds it and fails without it; the native-vs-TypeScript comparisons never skip",
  );
for (const K of [tsKernels, nk]) {
  test(`[${K.name}] AdamW matches a float64 reference for two steps; norms are not decayed; clipping scales`, () => {
    const w = new Map([
      ["model.layers.0.mlp.up_proj.weight", { shape: [2, 2], data: Float32Array.from([0.5, -1, 2, 0]) }],
      ["model.norm.weight", { shape: [2], data: Float32Array.from([1, 1]) }],
    ]);
    const g1 = new Map([
      ["model.layers.0.mlp.up_proj.weight", Float32Array.from([0.3, -0.4, 0, 1.2])],
      ["model.norm.weight", Float32Array.from([0.5, -0.5])],
    ]);
    const p = { learningRate: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5, maxGradNorm: 1 };
    // reference
    const ref = new Map(
      [...w].map(([k, t]) => [
        k,
        { x: Array.from(t.data), m: t.data.map(() => 0), v: t.data.map(() => 0), decay: t.shape.length > 1 },
      ]),
    );
    const opt = new AdamW(K);
    for (let step = 1; step <= 2; step++) {
      const grads = new Map([...g1].map(([k, g]) => [k, g.map((x) => x * step)]));
      let n2 = 0;
      for (const g of grads.values()) for (const x of g) n2 += x * x;
      const norm = Math.sqrt(n2);
      const clip = norm > p.maxGradNorm ? p.maxGradNorm / (norm + 1e-6) : 1;
      for (const [k, r] of ref) {
        const g = grads.get(k)!;
        for (let i = 0; i < r.x.length; i++) {
          const gi = g[i]! * clip;
          r.m[i] = p.beta1 * r.m[i]! + (1 - p.beta1) * gi;
          r.v[i] = p.beta2 * r.v[i]! + (1 - p.beta2) * gi * gi;
          const mh = r.m[i]! / (1 - p.beta1 ** step),
            vh = r.v[i]! / (1 - p.beta2 ** step);
          r.x[i] =
            r.x[i]! * (1 - p.learningRate * (r.decay ? p.weightDecay : 0)) -
            (p.learningRate * mh) / (Math.sqrt(vh) + p.eps);
        }
      }
      const reported = opt.update(w, grads, p);
      assert.ok(Math.abs(reported - norm) < 1e-5, "pre-clip norm is reported");
      for (const [k, r] of ref)
        for (let i = 0; i < r.x.length; i++)
          assert.ok(Math.abs(w.get(k)!.data[i]! - r.x[i]!) < 1e-5, `${k}[${i}] step ${step}`);
    }
    assert.equal(opt.step, 2);
    // non-finite gradients abort the step without touching the weights
    const before = w.get("model.norm.weight")!.data.slice();
    assert.throws(
      () => opt.update(w, new Map([["model.norm.weight", Float32Array.from([NaN, 0])]]), p),
      /gradient norm is NaN/,
    );
    assert.deepEqual(w.get("model.norm.weight")!.data, before);
  });
}

test("warmup + cosine schedule", () => {
  const s = { peakLr: 1, warmupSteps: 10, totalSteps: 110, minLrRatio: 0.1 };
  assert.equal(lrAt(0, s), 0.1);
  assert.equal(lrAt(9, s), 1);
  assert.ok(Math.abs(lrAt(10, s) - 1) < 1e-12);
  assert.ok(Math.abs(lrAt(60, s) - 0.55) < 1e-12);
  assert.ok(Math.abs(lrAt(110, s) - 0.1) < 1e-12);
  assert.ok(Math.abs(lrAt(500, s) - 0.1) < 1e-12);
});

test("Rng: seeded, state save/restore continues the same stream, uniform and normal look right", () => {
  const a = new Rng(42),
    b = new Rng(42),
    c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.next()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 5 }, () => c.next()),
    xs,
  );
  const st = a.getState();
  const cont = Array.from({ length: 5 }, () => a.next());
  const d = new Rng(st);
  assert.deepEqual(
    Array.from({ length: 5 }, () => d.next()),
    cont,
  );
  const r = new Rng(7);
  let s = 0,
    s2 = 0,
    min = 1,
    max = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    min = Math.min(min, u);
    max = Math.max(max, u);
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(min >= 0 && max < 1);
  assert.ok(Math.abs(s / n) < 0.03 && Math.abs(s2 / n - 1) < 0.05);
  assert.throws(() => new Rng([1, 2, 3] as never), /four uint32/);
});
