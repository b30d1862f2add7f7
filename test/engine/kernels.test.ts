// The kernels issue 10's real-model work needs: linear layers (f32 and bf16/f16 weights, forward and backward), half
// conversions and GGUF dequantisation — native vs the TypeScript reference, and dequantisation vs ggml itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  tsKernels,
  nativeKernels,
  setThreads,
  engineInfo,
  GGML_DEQUANT_TYPES,
  type Kernels,
  type HalfType,
} from "../../src/engine/kernels.js";
import { Rng } from "../../src/core/rng.js";
import { f16BitsToF32, f32ToF16Bits } from "../../src/engine/safetensors.js";

const nativeOrNull = nativeKernels();
if (!nativeOrNull) {
  throw new Error(
    "native kernels addon not built (build/Release/batcoder_kernels.node): scripts/setup.sh builds it and fails " +
      "without it; the native-vs-TypeScript comparisons never skip",
  );
}
const nk: Kernels = nativeOrNull;
const rng = new Rng(11);
const randn = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * s);

/** max |a-b| / (1 + max |b|): a relative error that tolerates float32 summation-order differences. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0,
    m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / (1 + m);
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
function assertBitsEqual(a: Float32Array, b: Float32Array, what: string): void {
  const x = bits(a),
    y = bits(b);
  assert.equal(x.length, y.length, what);
  // NaN payloads may differ (JS canonicalises NaN); every other value must match bit for bit
  for (let i = 0; i < x.length; i++)
    if (x[i] !== y[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i])))
      assert.fail(`${what}: value ${i} differs: ${a[i]} vs ${b[i]}`);
}

function withThreads<T>(n: number, fn: () => T): T {
  const before = engineInfo().threads;
  setThreads(n);
  try {
    return fn();
  } finally {
    setThreads(before);
  }
}

// shapes: tiny, odd (vector tails), and Qwen2.5-0.5B decoding shapes that take the thread-pool path
const LINEAR_SHAPES: Array<[number, number, number]> = [
  [1, 7, 5],
  [3, 61, 37],
  [1, 896, 4864],
  [1, 300, 263], // one row, split over threads, a tail of rows that is not a multiple of 4
  [5, 896, 896],
  [16, 600, 500],
  [40, 96, 130],
];

test("linearFwd/linearBwd: native matches the TS reference (bias, frozen weight, accumulate)", () => {
  const K = nk;
  for (const [N, inDim, outDim] of LINEAR_SHAPES) {
    const x = randn(N * inDim),
      W = randn(outDim * inDim, 0.05),
      bias = randn(outDim);
    const prior = randn(N * outDim);
    for (const b of [null, bias]) {
      for (const acc of [false, true]) {
        // accumulate: out += x W^T (+ bias), the residual add
        const o1 = acc ? prior.slice() : new Float32Array(N * outDim),
          o2 = o1.slice();
        K.linearFwd(x, W, b, o1, N, inDim, outDim, acc);
        tsKernels.linearFwd(x, W, b, o2, N, inDim, outDim, acc);
        assert.ok(
          relErr(o1, o2) < 1e-5,
          `linearFwd ${N}x${inDim}->${outDim} bias=${!!b} acc=${acc}: ${relErr(o1, o2)}`,
        );
      }
    }
    // accumulate adds exactly the product to what was there (up to rounding)
    const fresh = new Float32Array(N * outDim),
      summed = prior.slice();
    K.linearFwd(x, W, null, fresh, N, inDim, outDim);
    K.linearFwd(x, W, null, summed, N, inDim, outDim, true);
    assert.ok(
      relErr(
        summed,
        fresh.map((v, i) => v + prior[i]!),
      ) < 1e-6,
      "linearFwd accumulate",
    );
    const dout = randn(N * outDim);
    for (const accumulate of [false, true]) {
      const dx0 = randn(N * inDim),
        dW0 = randn(outDim * inDim),
        db0 = randn(outDim);
      const [dx1, dW1, db1] = [dx0.slice(), dW0.slice(), db0.slice()];
      const [dx2, dW2, db2] = [dx0.slice(), dW0.slice(), db0.slice()];
      K.linearBwd(dout, x, W, dx1, dW1, db1, N, inDim, outDim, accumulate);
      tsKernels.linearBwd(dout, x, W, dx2, dW2, db2, N, inDim, outDim, accumulate);
      assert.ok(
        relErr(dx1, dx2) < 1e-5 && relErr(dW1, dW2) < 1e-5 && relErr(db1, db2) < 1e-5,
        `linearBwd ${N}x${inDim}->${outDim}`,
      );
      // frozen weight, no bias: only dx changes
      const dx3 = dx0.slice();
      K.linearBwd(dout, x, W, dx3, null, null, N, inDim, outDim, accumulate);
      assertBitsEqual(dx3, dx1, "linearBwd dx without dW");
    }
  }
});

test("linearBwd's dx and dW are the gradients of sum(dout * linearFwd(x))", () => {
  const [N, inDim, outDim] = [2, 3, 4];
  const x = randn(N * inDim),
    W = randn(outDim * inDim),
    bias = randn(outDim),
    dout = randn(N * outDim);
  const f = (xx: Float32Array, WW: Float32Array, bb: Float32Array): number => {
    const o = new Float32Array(N * outDim);
    tsKernels.linearFwd(xx, WW, bb, o, N, inDim, outDim);
    return o.reduce((s, v, i) => s + v * dout[i]!, 0);
  };
  const dx = new Float32Array(N * inDim),
    dW = new Float32Array(outDim * inDim),
    db = new Float32Array(outDim);
  tsKernels.linearBwd(dout, x, W, dx, dW, db, N, inDim, outDim, false);
  for (const [arr, grad] of [
    [x, dx],
    [W, dW],
    [bias, db],
  ] as const) {
    for (let i = 0; i < arr.length; i++) {
      const keep = arr[i]!;
      arr[i] = keep + 1e-2;
      const up = f(x, W, bias);
      arr[i] = keep - 1e-2;
      const down = f(x, W, bias);
      arr[i] = keep;
      assert.ok(Math.abs((up - down) / 2e-2 - grad[i]!) < 1e-3, `finite difference ${i}`);
    }
  }
});

test("halfToF32/f32ToHalf: native is bit-identical to the TS reference (all 65,536 halves; rounding, specials)", () => {
  const K = nk;
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  for (const dtype of ["bf16", "f16"] as const) {
    const a = new Float32Array(65536),
      b = new Float32Array(65536);
    K.halfToF32(all, dtype, a, 65536);
    tsKernels.halfToF32(all, dtype, b, 65536);
    for (let i = 0; i < 65536; i++)
      if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) assert.fail(`${dtype} widen ${i}`);
    // widening is exact: rounding the widened value gives the bits back (NaNs stay NaN)
    const back = new Uint16Array(65536);
    K.f32ToHalf(a, dtype, back, 65536);
    for (let i = 0; i < 65536; i++)
      if (!Number.isNaN(a[i]) && back[i] !== i) assert.fail(`${dtype} round trip of ${i}: ${back[i]}`);
  }
  // rounding: ties to even, values between halves, overflow, subnormals, specials
  const specials = [
    0,
    -0,
    1,
    1 + 2 ** -12,
    1 + 3 * 2 ** -8,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    65504,
    65520,
    1e6,
    -1e6,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    1e-9,
    Infinity,
    -Infinity,
    NaN,
  ];
  const src = Float32Array.from([...specials, ...randn(4096, 1000), ...randn(4096, 1e-5)]);
  for (const dtype of ["bf16", "f16"] as const) {
    const a = new Uint16Array(src.length),
      b = new Uint16Array(src.length);
    K.f32ToHalf(src, dtype, a, src.length);
    tsKernels.f32ToHalf(src, dtype, b, src.length);
    assert.deepEqual(a, b, dtype);
  }
  const h = new Uint16Array(specials.length);
  K.f32ToHalf(Float32Array.from(specials), "f16", h, specials.length);
  assert.equal(f16BitsToF32(h[3]!), 1); // 1 + 2^-12 is below half an f16 ulp (2^-10): rounds down
  assert.equal(f16BitsToF32(h[5]!), 1); // exactly half an ulp above 1: tie to even (1)
  assert.equal(f16BitsToF32(h[6]!), 1 + 2 ** -9); // 1 + 3*2^-11 rounds up
  assert.equal(f16BitsToF32(h[8]!), Infinity); // 65520 overflows
  assert.equal(f16BitsToF32(h[11]!), 2 ** -24); // smallest subnormal
});

const HALF_SHAPES: Array<[number, number, number]> = [
  [1, 7, 5],
  [1, 61, 37],
  [3, 896, 130],
  [2, 33, 40],
  [5, 50, 17],
  [16, 896, 300],
  [17, 64, 70],
  [40, 200, 96],
];

for (const dtype of ["bf16", "f16"] as HalfType[]) {
  test(`linearFwdHalf/linearBwdHalf (${dtype}): native matches the TS reference and f32 on the widened weight`, () => {
    const K = nk;
    for (const [N, inDim, outDim] of HALF_SHAPES) {
      const x = randn(N * inDim),
        bias = randn(outDim);
      const W = new Uint16Array(outDim * inDim);
      tsKernels.f32ToHalf(randn(outDim * inDim, 0.05), dtype, W, W.length);
      const Wf = new Float32Array(W.length);
      tsKernels.halfToF32(W, dtype, Wf, W.length);
      const prior = randn(N * outDim);
      for (const [b, acc] of [
        [null, false],
        [bias, false],
        [null, true],
        [bias, true],
      ] as const) {
        const o1 = acc ? prior.slice() : new Float32Array(N * outDim),
          o2 = o1.slice(),
          o3 = o1.slice();
        K.linearFwdHalf(x, W, dtype, b, o1, N, inDim, outDim, acc);
        tsKernels.linearFwdHalf(x, W, dtype, b, o2, N, inDim, outDim, acc);
        tsKernels.linearFwd(x, Wf, b, o3, N, inDim, outDim, acc);
        assert.ok(relErr(o1, o2) < 1e-5, `linearFwdHalf ${N}x${inDim}->${outDim}: ${relErr(o1, o2)}`);
        assert.ok(relErr(o2, o3) < 1e-5, `TS half vs f32 ${N}x${inDim}->${outDim}`);
      }
      const dout = randn(N * outDim);
      for (const accumulate of [false, true]) {
        const dx0 = randn(N * inDim);
        const [dx1, dx2, dx3] = [dx0.slice(), dx0.slice(), dx0.slice()];
        K.linearBwdHalf(dout, W, dtype, dx1, N, inDim, outDim, accumulate);
        tsKernels.linearBwdHalf(dout, W, dtype, dx2, N, inDim, outDim, accumulate);
        tsKernels.linearBwd(dout, x, Wf, dx3, null, null, N, inDim, outDim, accumulate);
        assert.ok(
          relErr(dx1, dx2) < 1e-5,
          `linearBwdHalf ${N}x${inDim}->${outDim} acc=${accumulate}: ${relErr(dx1, dx2)}`,
        );
        assert.ok(relErr(dx2, dx3) < 1e-5, `TS half bwd vs f32 ${N}x${inDim}->${outDim}`);
      }
    }
  });
}

test("native linear kernels give the same bits with 1, 2 and 4 threads (rows are split, never a sum)", () => {
  const K = nk;
  const [inDim, outDim] = [896, 4864];
  const W = randn(outDim * inDim, 0.05),
    Wh = new Uint16Array(W.length);
  K.f32ToHalf(W, "bf16", Wh, W.length);
  let single: Float32Array[] | undefined;
  let singleX: Float32Array | undefined;
  for (const N of [1, 2, 5, 16]) {
    const x = randn(N * inDim);
    if (single) x.set(singleX!); // row 0 is the batch-1 input
    const run = (): Float32Array[] => {
      const a = new Float32Array(N * outDim),
        b = new Float32Array(N * outDim),
        c = new Float32Array(N * inDim);
      K.linearFwdHalf(x, Wh, "bf16", null, a, N, inDim, outDim);
      K.linearFwd(x, W, null, b, N, inDim, outDim);
      K.linearBwdHalf(a, Wh, "bf16", c, N, inDim, outDim, false);
      return [a, b, c];
    };
    const one = withThreads(1, run);
    if (N === 1) {
      single = one;
      singleX = x.slice();
    } else {
      // the fused kernels sum each row in the same order whatever the batch: row 0 is the batch-1 result
      const row0 = (a: Float32Array, n: number) => a.subarray(0, n);
      if (N <= 2) assertBitsEqual(row0(one[0]!, outDim), single![0]!, `linearFwdHalf row 0 of N=${N} vs N=1`);
      if (N <= 8) assertBitsEqual(row0(one[1]!, outDim), single![1]!, `linearFwd row 0 of N=${N} vs N=1`);
    }
    for (const t of [2, 4]) {
      const many = withThreads(t, run);
      assertBitsEqual(many[0]!, one[0]!, `linearFwdHalf N=${N} threads=${t}`);
      assertBitsEqual(many[2]!, one[2]!, `linearBwdHalf N=${N} threads=${t}`);
      // f32 linearFwd is the pool kernel up to 8 rows; above, OpenBLAS (which does not promise the same bits)
      if (N <= 8) assertBitsEqual(many[1]!, one[1]!, `linearFwd N=${N} threads=${t}`);
      else assert.ok(relErr(many[1]!, one[1]!) < 1e-5, `linearFwd N=${N} threads=${t}`);
    }
  }
});

test("native kernels reject bad arguments with a message naming the kernel", () => {
  const K = nk;
  const x = new Float32Array(8),
    W = new Uint16Array(8),
    out = new Float32Array(8);
  assert.throws(
    () => K.linearFwdHalf(x, W, "f8" as HalfType, null, out, 1, 8, 1),
    /linearFwdHalf: argument 2 must be "bf16" or "f16"/,
  );
  assert.throws(() => K.linearFwdHalf(x, W, "bf16", null, out, 2, 8, 2), /linearFwdHalf: sizes/);
  assert.throws(
    () => K.linearFwd(x, new Float32Array(8), new Uint16Array(1) as unknown as Float32Array, out, 1, 8, 1),
    /must be null or a Float32Array/,
  );
  assert.throws(() => K.dequantize(2, new Uint8Array(18), out, 32), /unsupported ggml type .*Q8_0=8/);
  assert.throws(() => tsKernels.dequantize(2, new Uint8Array(18), out, 32), /unsupported ggml type .*Q8_0=8/);
  assert.throws(() => K.dequantize(GGML_DEQUANT_TYPES.Q8_0.id, new Uint8Array(34), out, 31), /whole number of blocks/);
  assert.throws(
    () => K.dequantize(GGML_DEQUANT_TYPES.Q4_K.id, new Uint8Array(143), new Float32Array(256), 256),
    /dequantize: sizes/,
  );
  assert.throws(() => K.linearFwd(x, new Float32Array(8), null, out, -1, 8, 1), /must be a count >= 0/);
});

// ---------------------------------------------------------------- dequantisation

/** Random block bytes of a type, with finite f16 scales (any other byte pattern is a valid block). */
function randomBlocks(type: keyof typeof GGML_DEQUANT_TYPES, blocks: number): Uint8Array {
  const { bytes } = GGML_DEQUANT_TYPES[type];
  const b = Uint8Array.from({ length: blocks * bytes }, () => Math.floor(rng.next() * 256));
  const dv = new DataView(b.buffer);
  const scaleAt = type === "Q8_0" ? [0] : type === "Q4_K" ? [0, 2] : type === "Q6_K" ? [208] : [];
  for (let i = 0; i < blocks; i++)
    for (const o of scaleAt) dv.setUint16(i * bytes + o, f32ToF16Bits(rng.normal() * 0.01), true);
  return b;
}

test("dequantize: native is bit-identical to the TS reference for F32/F16/BF16/Q8_0/Q4_K/Q6_K blocks", () => {
  const K = nk;
  for (const type of Object.keys(GGML_DEQUANT_TYPES) as Array<keyof typeof GGML_DEQUANT_TYPES>) {
    const { id, values } = GGML_DEQUANT_TYPES[type];
    const n = values * (values === 1 ? 999 : 37);
    const src = type === "F32" ? new Uint8Array(randn(n).buffer) : randomBlocks(type, n / values);
    const a = new Float32Array(n),
      b = new Float32Array(n);
    K.dequantize(id, src, a, n);
    tsKernels.dequantize(id, src, b, n);
    assertBitsEqual(a, b, type);
    // an unaligned view of the same bytes (GGUF data offsets need not be aligned for the element type)
    const shifted = new Uint8Array(src.length + 1);
    shifted.set(src, 1);
    const c = new Float32Array(n);
    K.dequantize(id, shifted.subarray(1), c, n);
    assertBitsEqual(c, a, `${type} unaligned`);
  }
});

test("dequantize Q8_0: values quantised with ggml's documented formula come back within 0.6 of a step", () => {
  const K = nk;
  const blocks = 64,
    x = randn(blocks * 32, 3);
  const src = new Uint8Array(blocks * 34),
    dv = new DataView(src.buffer);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = Math.fround(amax / 127),
      id = d ? 1 / d : 0;
    dv.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) dv.setInt8(b * 34 + 2 + j, Math.round(Math.fround(x[b * 32 + j]! * id)));
  }
  const y = new Float32Array(x.length);
  K.dequantize(GGML_DEQUANT_TYPES.Q8_0.id, src, y, x.length);
  for (let b = 0; b < blocks; b++) {
    const d = f16BitsToF32(dv.getUint16(b * 34, true));
    for (let j = 0; j < 32; j++)
      assert.ok(Math.abs(y[b * 32 + j]! - x[b * 32 + j]!) <= 0.6 * d, `block ${b} value ${j}`);
  }
});

// ggml itself, from the library node-llama-cpp ships: quantise random rows with quantize_row_*_ref, dequantise with
// dequantize_row_*; our dequantisation of ggml's blocks must give ggml's floats bit for bit.
const ggmlDir = path.resolve("node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
const ggmlLib = path.join(ggmlDir, "libggml-base.so");
// the C compiler is there (it builds the addon); node-llama-cpp ships this library for linux-x64 only
const ggmlSkip = fs.existsSync(ggmlLib) ? false : `node-llama-cpp ships no ${ggmlLib} for this platform`;
test("dequantize Q8_0/Q4_K/Q6_K: bit-identical to ggml's dequantize_row_* on blocks ggml quantised", {
  skip: ggmlSkip,
}, () => {
  const K = nk;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-ggml-"));
  try {
    // a C program (our code, calling ggml's exported functions): reads n floats, writes blocks then floats per type
    const csrc = `#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
void quantize_row_q8_0_ref(const float*, void*, int64_t); void dequantize_row_q8_0(const void*, float*, int64_t);
void quantize_row_q4_K_ref(const float*, void*, int64_t); void dequantize_row_q4_K(const void*, float*, int64_t);
void quantize_row_q6_K_ref(const float*, void*, int64_t); void dequantize_row_q6_K(const void*, float*, int64_t);
int main(int argc, char** argv) {
  int64_t n = atoll(argv[1]);
  float* x = malloc(n * 4); float* y = malloc(n * 4); unsigned char* q = malloc(n * 2);
  FILE* in = fopen(argv[2], "rb"); if (fread(x, 4, n, in) != (size_t)n) return 2; fclose(in);
  FILE* out = fopen(argv[3], "wb");
  quantize_row_q8_0_ref(x, q, n); fwrite(q, 1, n / 32 * 34, out); dequantize_row_q8_0(q, y, n); fwrite(y, 4, n, out);
  quantize_row_q4_K_ref(x, q, n); fwrite(q, 1, n / 256 * 144, out); dequantize_row_q4_K(q, y, n); fwrite(y, 4, n, out);
  quantize_row_q6_K_ref(x, q, n); fwrite(q, 1, n / 256 * 210, out); dequantize_row_q6_K(q, y, n); fwrite(y, 4, n, out);
  fclose(out); return 0;
}`;
    fs.writeFileSync(path.join(dir, "ggml.c"), csrc);
    const exe = path.join(dir, "ggml-quant");
    const cc = spawnSync("cc", ["-O1", "-o", exe, path.join(dir, "ggml.c"), ggmlLib, `-Wl,-rpath,${ggmlDir}`], {
      encoding: "utf8",
    });
    assert.equal(cc.status, 0, `compiling the ggml reference program failed: ${cc.stderr}`);
    const n = 256 * 48;
    // rows with a spread of magnitudes and some outliers (exercise every 6-bit scale/min code)
    const x = Float32Array.from(
      { length: n },
      (_, i) => rng.normal() * (1 + ((i >> 8) % 7)) * (i % 97 === 0 ? 8 : 1) + ((i >> 5) % 3) * 0.3,
    );
    fs.writeFileSync(path.join(dir, "x.bin"), x);
    const run = spawnSync(exe, [String(n), path.join(dir, "x.bin"), path.join(dir, "out.bin")], { encoding: "utf8" });
    assert.equal(run.status, 0, `ggml reference program failed: ${run.stderr}`);
    const buf = fs.readFileSync(path.join(dir, "out.bin"));
    let off = 0;
    for (const type of ["Q8_0", "Q4_K", "Q6_K"] as const) {
      const { id, values, bytes } = GGML_DEQUANT_TYPES[type];
      const blockBytes = (n / values) * bytes;
      const blocks = new Uint8Array(buf.buffer, buf.byteOffset + off, blockBytes);
      off += blockBytes;
      const ggml = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * n));
      off += 4 * n;
      const ours = new Float32Array(n),
        ref = new Float32Array(n);
      K.dequantize(id, blocks, ours, n);
      tsKernels.dequantize(id, blocks, ref, n);
      assertBitsEqual(ours, ggml, `${type} native vs ggml`);
      assertBitsEqual(ref, ggml, `${type} TS vs ggml`);
      // and the quantisation is a real one: close to x (k-quants at 4 bits are coarse)
      assert.ok(relErr(ggml, x) < (type === "Q4_K" ? 0.1 : 0.03), `${type} error ${relErr(ggml, x)}`);
    }
    assert.equal(off, buf.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
