/**
 * Compute kernels of the engine: matrix multiply, linear layers (f32 and bf16/f16 weights), GGUF dequantisation and
 * the hot element-wise kernels, all working in place on typed arrays (row-major). Two implementations with identical
 * semantics:
 *   - native: the project's N-API addon (native/: pure C++ kernels in kernels.cc/half.cc/quant.cc, N-API glue in
 *     binding.cc; OpenBLAS sgemm + a persistent thread pool), built by node-gyp into
 *     build/Release/batcoder_kernels.node;
 *   - ts: a pure-TypeScript fallback (slower; the reference each native kernel is tested against), used when the addon
 *     is missing or BATCODER_KERNELS=ts.
 *
 * OPENBLAS_CORETYPE: respected when set. When unset and the CPU has AVX-512, the loader sets SkylakeX before the
 * addon (and so OpenBLAS) is loaded, after a one-time self-check in a child process that compares sgemm with a
 * reference matmul (cached in build/Release/coretype-check.json); on mismatch it keeps OpenBLAS's default.
 */
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "./safetensors.js";

/** Storage type of a half-precision weight: bfloat16 (HF checkpoints' usual dtype) or IEEE float16. */
export type HalfType = "bf16" | "f16";

/**
 * ggml tensor types `dequantize` understands (ids as in the GGUF tensor-info `type` field), with their block shape:
 * `values` per block and `bytes` per block (a tensor of n values takes n / values * bytes bytes).
 */
export const GGML_DEQUANT_TYPES = {
  F32: { id: 0, values: 1, bytes: 4 },
  F16: { id: 1, values: 1, bytes: 2 },
  Q8_0: { id: 8, values: 32, bytes: 34 },
  Q4_K: { id: 12, values: 256, bytes: 144 },
  Q6_K: { id: 14, values: 256, bytes: 210 },
  BF16: { id: 30, values: 1, bytes: 2 },
} as const;
export type GgmlDequantType = keyof typeof GGML_DEQUANT_TYPES;

/** The dequantisable type with this ggml id, or undefined. */
export function ggmlDequantType(id: number): GgmlDequantType | undefined {
  return (Object.keys(GGML_DEQUANT_TYPES) as GgmlDequantType[]).find((k) => GGML_DEQUANT_TYPES[k].id === id);
}

export interface Kernels {
  readonly name: "native" | "ts";
  /** C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is M x K, op(B) is K x N. */
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): void;
  /**
   * Linear layer with the weight in the HF layout W [outDim, inDim]: out [N, outDim] = x [N, inDim] W^T (+ bias);
   * with `accumulate`, out += x W^T (+ bias) instead (a residual add). Native: up to 8 rows (decoding) use a fused dot-product kernel with W's rows split over the persistent thread
   * pool (the same bits whatever the thread count); more rows use OpenBLAS's sgemm and its threads.
   */
  linearFwd(
    x: Float32Array,
    W: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    N: number,
    inDim: number,
    outDim: number,
    accumulate?: boolean,
  ): void;
  /**
   * Backward of linearFwd (llm.c's matmul_backward): dx = dout W (dx += when `accumulate`), dW += dout^T x and
   * dbias += column sums of dout. dW / dbias null skip those (a frozen weight, no bias).
   */
  linearBwd(
    dout: Float32Array,
    x: Float32Array,
    W: Float32Array,
    dx: Float32Array,
    dW: Float32Array | null,
    dbias: Float32Array | null,
    N: number,
    inDim: number,
    outDim: number,
    accumulate: boolean,
  ): void;
  /**
   * linearFwd with W [outDim, inDim] stored as bf16/f16 bits (e.g. a frozen base weight at half the memory), widened
   * to f32 on the fly, f32 accumulation. Native: up to 2 rows fuse the widening into the dot products; more rows
   * widen tiles of W for OpenBLAS; W's rows are split over the thread pool (the same bits whatever the thread count).
   */
  linearFwdHalf(
    x: Float32Array,
    W: Uint16Array,
    dtype: HalfType,
    bias: Float32Array | null,
    out: Float32Array,
    N: number,
    inDim: number,
    outDim: number,
    accumulate?: boolean,
  ): void;
  /** dx = dout W (dx += when `accumulate`), W [outDim, inDim] stored as bf16/f16: backward through a frozen weight. */
  linearBwdHalf(
    dout: Float32Array,
    W: Uint16Array,
    dtype: HalfType,
    dx: Float32Array,
    N: number,
    inDim: number,
    outDim: number,
    accumulate: boolean,
  ): void;
  /** dst[0..n) = src widened from bf16/f16 bits (exact). */
  halfToF32(src: Uint16Array, dtype: HalfType, dst: Float32Array, n: number): void;
  /** dst[0..n) = src rounded to bf16/f16 bits (nearest even; NaN stays NaN; f16 overflow gives inf). */
  f32ToHalf(src: Float32Array, dtype: HalfType, dst: Uint16Array, n: number): void;
  /**
   * Dequantises n values (a whole number of blocks, see GGML_DEQUANT_TYPES) of ggml type `type` from the raw GGUF
   * tensor bytes `src` (little-endian) into dst, bit-identical to ggml's dequantize_row_* (f32 arithmetic in
   * ggml's order, no fused multiply-add).
   */
  dequantize(type: number, src: Uint8Array, dst: Float32Array, n: number): void;
  /** out[i,:] = x[i,:] * rstd[i] * w, rstd[i] = 1/sqrt(mean(x[i,:]^2) + eps). */
  rmsnormFwd(
    x: Float32Array,
    w: Float32Array,
    out: Float32Array,
    rstd: Float32Array,
    N: number,
    d: number,
    eps: number,
  ): void;
  /** dx += d(out)/dx^T dout; dw += ... (both accumulate). */
  rmsnormBwd(
    dout: Float32Array,
    x: Float32Array,
    w: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dw: Float32Array,
    N: number,
    d: number,
  ): void;
  /** In-place rotary embedding (HF rotate_half pairs (j, j+hd/2)); sign -1 rotates back (backward pass). */
  rope(
    x: Float32Array,
    N: number,
    nHeads: number,
    hd: number,
    positions: Int32Array,
    cos: Float32Array,
    sin: Float32Array,
    sign: number,
  ): void;
  /** Causal attention within each segment [segStart, segStart+segLen); q/out [N,H*hd], k/v [N,Hkv*hd], lse [N,H]. */
  attnFwd(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    segStart: Int32Array,
    segLen: Int32Array,
    H: number,
    Hkv: number,
    hd: number,
  ): void;
  /** Backward of attnFwd: dq written, dk and dv accumulated. */
  attnBwd(
    dout: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    segStart: Int32Array,
    segLen: Int32Array,
    H: number,
    Hkv: number,
    hd: number,
  ): void;
  /** Row r attends to positions 0..rowPos[r] of KV-cache slot rowSlot[r]; caches are [slot, maxLen, Hkv*hd]. */
  attnCached(
    q: Float32Array,
    kc: Float32Array,
    vc: Float32Array,
    rowSlot: Int32Array,
    rowPos: Int32Array,
    out: Float32Array,
    H: number,
    Hkv: number,
    hd: number,
    maxLen: number,
  ): void;
  /** out = silu(g) * u */
  swigluFwd(g: Float32Array, u: Float32Array, out: Float32Array, n: number): void;
  /** dg, du written. */
  swigluBwd(dout: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array, n: number): void;
  /** Per row: lse, logp[i] = logits[i, tgt[i]] - lse[i], and (when ent is given) the entropy of softmax(logits[i]). */
  logsoftmaxFwd(
    logits: Float32Array,
    N: number,
    V: number,
    targets: Int32Array,
    logp: Float32Array,
    lse: Float32Array,
    ent: Float32Array | null,
  ): void;
  /** Overwrites logits with dLoss/dlogits given gLogp[i] = dLoss/dlogp[i] and gEnt[i] = dLoss/dent[i]. */
  logsoftmaxBwd(
    logits: Float32Array,
    N: number,
    V: number,
    targets: Int32Array,
    lse: Float32Array,
    gLogp: Float32Array,
    ent: Float32Array | null,
    gEnt: Float32Array | null,
  ): void;
  /** AdamW: p *= 1 - lr*wd; m,v moments; p -= lr * (m/bc1) / (sqrt(v/bc2) + eps). */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    bc1: number,
    bc2: number,
  ): void;
  /**
   * Token choice for R rows of logits [R, V]: params[3r..3r+2] = (temperature, topK, topP), uniforms[r] in [0,1).
   * Temperature 0 is argmax; otherwise softmax(z/T) over the topK largest logits (0 = all), then the smallest
   * most-likely set holding topP of the mass, renormalised and inverted at the uniform draw.
   * outLogp[r] = log softmax(z / T)[token] (T > 0; temperature 1 when greedy), before top-k / top-p.
   */
  sampleRows(
    z: Float32Array,
    R: number,
    V: number,
    params: Float32Array,
    uniforms: Float64Array,
    outTok: Int32Array,
    outLogp: Float32Array,
  ): void;
  sumsq(x: Float32Array, n: number): number;
  /** y += alpha * x */
  axpy(y: Float32Array, x: Float32Array, alpha: number, n: number): void;
  scale(x: Float32Array, alpha: number, n: number): void;
}

// ---------------------------------------------------------------- pure-TS fallback

function sgemmTs(
  ta: boolean,
  tb: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    const co = i * ldc;
    if (beta === 0) C.fill(0, co, co + N);
    else if (beta !== 1) for (let j = 0; j < N; j++) C[co + j]! *= beta;
  }
  if (!tb) {
    for (let i = 0; i < M; i++) {
      const co = i * ldc;
      for (let p = 0; p < K; p++) {
        const a = alpha * (ta ? A[p * lda + i]! : A[i * lda + p]!);
        if (a === 0) continue;
        const bo = p * ldb;
        for (let j = 0; j < N; j++) C[co + j]! += a * B[bo + j]!;
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      const co = i * ldc;
      for (let j = 0; j < N; j++) {
        const bo = j * ldb;
        let s = 0;
        if (ta) for (let p = 0; p < K; p++) s += A[p * lda + i]! * B[bo + p]!;
        else {
          const ao = i * lda;
          for (let p = 0; p < K; p++) s += A[ao + p]! * B[bo + p]!;
        }
        C[co + j]! += alpha * s;
      }
    }
  }
}

/** Pure-TS token choice (see Kernels.sampleRows). */
export function chooseTokenTs(
  z: Float32Array,
  o: number,
  V: number,
  T: number,
  topK: number,
  topP: number,
  u: number,
): { token: number; logprob: number } {
  let m = -Infinity;
  let arg = 0;
  for (let j = 0; j < V; j++)
    if (z[o + j]! > m) {
      m = z[o + j]!;
      arg = j;
    }
  let s1 = 0;
  for (let j = 0; j < V; j++) s1 += Math.exp(z[o + j]! - m);
  const lse = m + Math.log(s1);
  let token = arg;
  if (T > 0) {
    let kth = -Infinity;
    if (topK > 0 && topK < V) kth = z.slice(o, o + V).sort()[V - topK]!;
    const w = new Float64Array(V);
    let total = 0;
    for (let j = 0; j < V; j++) {
      const e = z[o + j]! < kth ? 0 : Math.exp((z[o + j]! - m) / T);
      w[j] = e;
      total += e;
    }
    if (topP < 1) {
      const need = topP * total;
      let ids: number[] = [];
      let thr = 1e-3;
      for (;;) {
        ids = [];
        let mass = 0;
        for (let j = 0; j < V; j++)
          if (w[j]! >= thr && w[j]! > 0) {
            ids.push(j);
            mass += w[j]!;
          }
        if (mass >= need || thr === 0) break;
        thr = thr < 1e-30 ? 0 : thr * 1e-3;
      }
      ids.sort((a, b) => w[b]! - w[a]! || a - b);
      let cum = 0;
      let cut = ids.length;
      for (let i = 0; i < ids.length; i++) {
        cum += w[ids[i]!]!;
        if (cum >= need) {
          cut = i + 1;
          break;
        }
      }
      let tot2 = 0;
      for (let i = 0; i < cut; i++) tot2 += w[ids[i]!]!;
      let x = u * tot2;
      token = ids[cut - 1]!;
      for (let i = 0; i < cut; i++) {
        x -= w[ids[i]!]!;
        if (x < 0) {
          token = ids[i]!;
          break;
        }
      }
    } else {
      let x = u * total;
      let last = arg;
      token = -1;
      for (let j = 0; j < V; j++) {
        if (w[j] === 0) continue;
        last = j;
        x -= w[j]!;
        if (x < 0) {
          token = j;
          break;
        }
      }
      if (token < 0) token = last;
    }
  }
  if (T > 0 && T !== 1) {
    // log softmax(z / T)[token]: the sampling temperature's distribution (TRL / verl), before top-k / top-p
    let sT = 0;
    for (let j = 0; j < V; j++) sT += Math.exp((z[o + j]! - m) / T);
    return { token, logprob: (z[o + token]! - m) / T - Math.log(sT) };
  }
  return { token, logprob: z[o + token]! - lse };
}

function linearFwdTs(
  x: Float32Array,
  W: Float32Array,
  bias: Float32Array | null,
  out: Float32Array,
  N: number,
  inDim: number,
  outDim: number,
  accumulate = false,
): void {
  sgemmTs(false, true, N, outDim, inDim, 1, x, inDim, W, inDim, accumulate ? 1 : 0, out, outDim);
  if (bias) for (let i = 0; i < N; i++) for (let j = 0; j < outDim; j++) out[i * outDim + j]! += bias[j]!;
}

function linearBwdTs(
  dout: Float32Array,
  x: Float32Array,
  W: Float32Array,
  dx: Float32Array,
  dW: Float32Array | null,
  dbias: Float32Array | null,
  N: number,
  inDim: number,
  outDim: number,
  accumulate: boolean,
): void {
  sgemmTs(false, false, N, inDim, outDim, 1, dout, outDim, W, inDim, accumulate ? 1 : 0, dx, inDim);
  if (dW) sgemmTs(true, false, outDim, inDim, N, 1, dout, outDim, x, inDim, 1, dW, inDim);
  if (dbias) for (let i = 0; i < N; i++) for (let j = 0; j < outDim; j++) dbias[j]! += dout[i * outDim + j]!;
}

const widenHalf = (dtype: HalfType): ((h: number) => number) => (dtype === "bf16" ? bf16BitsToF32 : f16BitsToF32);

/** Row `row` of a half-precision matrix [*, cols], widened into dst. */
function widenRow(W: Uint16Array, dtype: HalfType, row: number, cols: number, dst: Float32Array): void {
  const widen = widenHalf(dtype);
  for (let k = 0; k < cols; k++) dst[k] = widen(W[row * cols + k]!);
}

function linearFwdHalfTs(
  x: Float32Array,
  W: Uint16Array,
  dtype: HalfType,
  bias: Float32Array | null,
  out: Float32Array,
  N: number,
  inDim: number,
  outDim: number,
  accumulate = false,
): void {
  const w = new Float32Array(inDim);
  for (let j = 0; j < outDim; j++) {
    widenRow(W, dtype, j, inDim, w);
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let k = 0; k < inDim; k++) s += x[i * inDim + k]! * w[k]!;
      const o = i * outDim + j;
      out[o] = (accumulate ? out[o]! + s : s) + (bias ? bias[j]! : 0);
    }
  }
}

function linearBwdHalfTs(
  dout: Float32Array,
  W: Uint16Array,
  dtype: HalfType,
  dx: Float32Array,
  N: number,
  inDim: number,
  outDim: number,
  accumulate: boolean,
): void {
  if (!accumulate) dx.fill(0, 0, N * inDim);
  const w = new Float32Array(inDim);
  for (let j = 0; j < outDim; j++) {
    widenRow(W, dtype, j, inDim, w);
    for (let i = 0; i < N; i++) {
      const g = dout[i * outDim + j]!;
      if (g !== 0) for (let k = 0; k < inDim; k++) dx[i * inDim + k]! += g * w[k]!;
    }
  }
}

const fr = Math.fround;

/** ggml dequantisation in f32 arithmetic (every step rounded with Math.fround), block layouts as in native/quant.cc. */
function dequantizeTs(type: number, src: Uint8Array, dst: Float32Array, n: number): void {
  const t = ggmlDequantType(type);
  if (!t)
    throw new Error(
      `dequantize: unsupported ggml type ${type} (supported: ${Object.entries(GGML_DEQUANT_TYPES)
        .map(([k, v]) => `${k}=${v.id}`)
        .join(", ")})`,
    );
  const { values, bytes } = GGML_DEQUANT_TYPES[t];
  if (n % values !== 0)
    throw new Error(`dequantize: ${n} values is not a whole number of ${t} blocks (${values} values each)`);
  if (src.length < (n / values) * bytes || dst.length < n) throw new Error("dequantize: sizes");
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const f16 = (o: number): number => f16BitsToF32(dv.getUint16(o, true));
  switch (t) {
    case "F32":
      for (let i = 0; i < n; i++) dst[i] = dv.getFloat32(4 * i, true);
      return;
    case "F16":
    case "BF16": {
      const widen = t === "F16" ? f16BitsToF32 : bf16BitsToF32;
      for (let i = 0; i < n; i++) dst[i] = widen(dv.getUint16(2 * i, true));
      return;
    }
    case "Q8_0":
      for (let b = 0; b < n / 32; b++) {
        const o = b * 34,
          d = f16(o);
        for (let j = 0; j < 32; j++) dst[b * 32 + j] = fr(dv.getInt8(o + 2 + j) * d);
      }
      return;
    case "Q4_K":
      for (let b = 0; b < n / 256; b++) {
        const o = b * 144,
          d = f16(o),
          dmin = f16(o + 2),
          sc = o + 4;
        // (scale, min) pair j: 6 bits each, packed into the 12 scale bytes
        const pair = (j: number): [number, number] =>
          j < 4
            ? [src[sc + j]! & 63, src[sc + j + 4]! & 63]
            : [
                (src[sc + j + 4]! & 0xf) | ((src[sc + j - 4]! >> 6) << 4),
                (src[sc + j + 4]! >> 4) | ((src[sc + j]! >> 6) << 4),
              ];
        for (let c = 0; c < 4; c++) {
          const [s1, m1] = pair(2 * c),
            [s2, m2] = pair(2 * c + 1);
          const d1 = fr(d * s1),
            n1 = fr(dmin * m1),
            d2 = fr(d * s2),
            n2 = fr(dmin * m2);
          const q = o + 16 + 32 * c,
            y = b * 256 + 64 * c;
          for (let l = 0; l < 32; l++) {
            dst[y + l] = fr(fr(d1 * (src[q + l]! & 0xf)) - n1);
            dst[y + 32 + l] = fr(fr(d2 * (src[q + l]! >> 4)) - n2);
          }
        }
      }
      return;
    case "Q6_K":
      for (let b = 0; b < n / 256; b++) {
        const o = b * 210,
          d = f16(o + 208);
        for (let p = 0; p < 2; p++) {
          const ql = o + 64 * p,
            qh = o + 128 + 32 * p,
            sc = o + 192 + 8 * p,
            y = b * 256 + 128 * p;
          for (let l = 0; l < 32; l++) {
            const is = l >> 4,
              h = src[qh + l]!;
            const q1 = ((src[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
            const q2 = ((src[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
            const q3 = ((src[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
            const q4 = ((src[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
            dst[y + l] = fr(fr(d * dv.getInt8(sc + is)) * q1);
            dst[y + l + 32] = fr(fr(d * dv.getInt8(sc + is + 2)) * q2);
            dst[y + l + 64] = fr(fr(d * dv.getInt8(sc + is + 4)) * q3);
            dst[y + l + 96] = fr(fr(d * dv.getInt8(sc + is + 6)) * q4);
          }
        }
      }
      return;
  }
}

export const tsKernels: Kernels = {
  name: "ts",
  sgemm: sgemmTs,
  linearFwd: linearFwdTs,
  linearBwd: linearBwdTs,
  linearFwdHalf: linearFwdHalfTs,
  linearBwdHalf: linearBwdHalfTs,
  halfToF32(src, dtype, dst, n) {
    const widen = widenHalf(dtype);
    for (let i = 0; i < n; i++) dst[i] = widen(src[i]!);
  },
  f32ToHalf(src, dtype, dst, n) {
    const round = dtype === "bf16" ? f32ToBf16Bits : f32ToF16Bits;
    for (let i = 0; i < n; i++) dst[i] = round(src[i]!);
  },
  dequantize: dequantizeTs,
  rmsnormFwd(x, w, out, rstd, N, d, eps) {
    for (let i = 0; i < N; i++) {
      const o = i * d;
      let ss = 0;
      for (let j = 0; j < d; j++) ss += x[o + j]! * x[o + j]!;
      const r = 1 / Math.sqrt(ss / d + eps);
      rstd[i] = r;
      for (let j = 0; j < d; j++) out[o + j] = x[o + j]! * r * w[j]!;
    }
  },
  rmsnormBwd(dout, x, w, rstd, dx, dw, N, d) {
    for (let i = 0; i < N; i++) {
      const o = i * d;
      const r = rstd[i]!;
      let dot = 0;
      for (let j = 0; j < d; j++) {
        dot += dout[o + j]! * w[j]! * x[o + j]!;
        dw[j]! += dout[o + j]! * x[o + j]! * r;
      }
      const c = (r * r * r * dot) / d;
      for (let j = 0; j < d; j++) dx[o + j]! += r * dout[o + j]! * w[j]! - c * x[o + j]!;
    }
  },
  rope(x, N, H, hd, positions, cos, sin, sign) {
    const half = hd / 2;
    for (let i = 0; i < N; i++) {
      const p = positions[i]!;
      if (p < 0 || (p + 1) * half > cos.length) throw new Error("rope: position out of range");
      const to = p * half;
      for (let h = 0; h < H; h++) {
        const o = (i * H + h) * hd;
        for (let j = 0; j < half; j++) {
          const c = cos[to + j]!;
          const s = sign * sin[to + j]!;
          const x1 = x[o + j]!;
          const x2 = x[o + j + half]!;
          x[o + j] = x1 * c - x2 * s;
          x[o + j + half] = x2 * c + x1 * s;
        }
      }
    }
  },
  attnFwd(q, k, v, out, lse, segStart, segLen, H, Hkv, hd) {
    const qs = H * hd,
      ks = Hkv * hd,
      grp = H / Hkv;
    const scale = 1 / Math.sqrt(hd);
    for (let s = 0; s < segStart.length; s++) {
      const s0 = segStart[s]!,
        T = segLen[s]!;
      const row = new Float32Array(T);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / grp);
        for (let i = 0; i < T; i++) {
          const qo = (s0 + i) * qs + h * hd;
          let m = -Infinity;
          for (let j = 0; j <= i; j++) {
            const ko = (s0 + j) * ks + g * hd;
            let dot = 0;
            for (let c = 0; c < hd; c++) dot += q[qo + c]! * k[ko + c]!;
            row[j] = dot * scale;
            if (row[j]! > m) m = row[j]!;
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) {
            row[j] = Math.exp(row[j]! - m);
            sum += row[j]!;
          }
          lse[(s0 + i) * H + h] = m + Math.log(sum);
          out.fill(0, qo, qo + hd);
          for (let j = 0; j <= i; j++) {
            const p = row[j]! / sum;
            const vo = (s0 + j) * ks + g * hd;
            for (let c = 0; c < hd; c++) out[qo + c]! += p * v[vo + c]!;
          }
        }
      }
    }
  },
  attnBwd(dout, q, k, v, out, lse, dq, dk, dv, segStart, segLen, H, Hkv, hd) {
    const qs = H * hd,
      ks = Hkv * hd,
      grp = H / Hkv;
    const scale = 1 / Math.sqrt(hd);
    for (let s = 0; s < segStart.length; s++) {
      const s0 = segStart[s]!,
        T = segLen[s]!;
      const P = new Float32Array(T);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / grp);
        for (let i = 0; i < T; i++) {
          const qo = (s0 + i) * qs + h * hd;
          const L = lse[(s0 + i) * H + h]!;
          let D = 0;
          for (let c = 0; c < hd; c++) D += dout[qo + c]! * out[qo + c]!;
          dq.fill(0, qo, qo + hd);
          for (let j = 0; j <= i; j++) {
            const ko = (s0 + j) * ks + g * hd;
            let dot = 0;
            for (let c = 0; c < hd; c++) dot += q[qo + c]! * k[ko + c]!;
            P[j] = Math.exp(dot * scale - L);
          }
          for (let j = 0; j <= i; j++) {
            const ko = (s0 + j) * ks + g * hd;
            const p = P[j]!;
            let dp = 0;
            for (let c = 0; c < hd; c++) {
              dp += dout[qo + c]! * v[ko + c]!;
              dv[ko + c]! += p * dout[qo + c]!;
            }
            const ds = p * (dp - D) * scale;
            for (let c = 0; c < hd; c++) {
              dq[qo + c]! += ds * k[ko + c]!;
              dk[ko + c]! += ds * q[qo + c]!;
            }
          }
        }
      }
    }
  },
  attnCached(q, kc, vc, rowSlot, rowPos, out, H, Hkv, hd, maxLen) {
    const qs = H * hd,
      ks = Hkv * hd,
      grp = H / Hkv;
    const scale = 1 / Math.sqrt(hd);
    const sc = new Float32Array(maxLen);
    for (let r = 0; r < rowSlot.length; r++) {
      const L = rowPos[r]! + 1;
      if (L > maxLen || L < 1) throw new Error("attnCached: position out of range");
      const base = rowSlot[r]! * maxLen * ks;
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / grp);
        const qo = r * qs + h * hd;
        let m = -Infinity;
        for (let j = 0; j < L; j++) {
          const ko = base + j * ks + g * hd;
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += q[qo + c]! * kc[ko + c]!;
          sc[j] = dot * scale;
          if (sc[j]! > m) m = sc[j]!;
        }
        let sum = 0;
        for (let j = 0; j < L; j++) {
          sc[j] = Math.exp(sc[j]! - m);
          sum += sc[j]!;
        }
        out.fill(0, qo, qo + hd);
        for (let j = 0; j < L; j++) {
          const p = sc[j]! / sum;
          const vo = base + j * ks + g * hd;
          for (let c = 0; c < hd; c++) out[qo + c]! += p * vc[vo + c]!;
        }
      }
    }
  },
  swigluFwd(g, u, out, n) {
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      out[i] = (x / (1 + Math.exp(-x))) * u[i]!;
    }
  },
  swigluBwd(dout, g, u, dg, du, n) {
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      const s = 1 / (1 + Math.exp(-x));
      du[i] = dout[i]! * x * s;
      dg[i] = dout[i]! * u[i]! * s * (1 + x * (1 - s));
    }
  },
  logsoftmaxFwd(z, N, V, tgt, logp, lse, ent) {
    for (let i = 0; i < N; i++) {
      const o = i * V;
      const t = tgt[i]!;
      if (t < 0 || t >= V) throw new Error("logsoftmaxFwd: target id out of range");
      let m = -Infinity;
      for (let j = 0; j < V; j++) if (z[o + j]! > m) m = z[o + j]!;
      let sum = 0,
        wsum = 0;
      for (let j = 0; j < V; j++) {
        const e = Math.exp(z[o + j]! - m);
        sum += e;
        wsum += e * (z[o + j]! - m);
      }
      const L = m + Math.log(sum);
      lse[i] = L;
      logp[i] = z[o + t]! - L;
      if (ent) ent[i] = Math.log(sum) - wsum / sum;
    }
  },
  logsoftmaxBwd(z, N, V, tgt, lse, gLogp, ent, gEnt) {
    for (let i = 0; i < N; i++) {
      const o = i * V;
      const gl = gLogp[i]!;
      const ge = ent && gEnt ? gEnt[i]! : 0;
      if (gl === 0 && ge === 0) {
        z.fill(0, o, o + V);
        continue;
      }
      const L = lse[i]!;
      if (ge === 0) {
        for (let j = 0; j < V; j++) z[o + j] = -gl * Math.exp(z[o + j]! - L);
      } else {
        const Hh = ent![i]!;
        for (let j = 0; j < V; j++) {
          const lp = z[o + j]! - L;
          const p = Math.exp(lp);
          z[o + j] = -gl * p - ge * p * (lp + Hh);
        }
      }
      z[o + tgt[i]!]! += gl;
    }
  },
  adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2) {
    const decay = 1 - lr * wd;
    for (let i = 0; i < n; i++) {
      const gi = g[i]!;
      const mi = b1 * m[i]! + (1 - b1) * gi;
      const vi = b2 * v[i]! + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i]! * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  },
  sampleRows(z, R, V, params, uniforms, outTok, outLogp) {
    for (let r = 0; r < R; r++) {
      const { token, logprob } = chooseTokenTs(
        z,
        r * V,
        V,
        params[r * 3]!,
        params[r * 3 + 1]!,
        params[r * 3 + 2]!,
        uniforms[r]!,
      );
      outTok[r] = token;
      outLogp[r] = logprob;
    }
  },
  sumsq(x, n) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i]! * x[i]!;
    return s;
  },
  axpy(y, x, alpha, n) {
    for (let i = 0; i < n; i++) y[i]! += alpha * x[i]!;
  },
  scale(x, alpha, n) {
    for (let i = 0; i < n; i++) x[i]! *= alpha;
  },
};

// ---------------------------------------------------------------- native loader

interface NativeAddon extends Omit<Kernels, "name"> {
  info(): { blasConfig: string; blasCore: string; blasThreads: number; threads: number };
  setThreads(n: number): void;
}

export interface EngineInfo {
  kernels: "native" | "ts";
  /** Why the native kernels are not used (when kernels === "ts"). */
  fallbackReason?: string;
  blasCore?: string;
  blasConfig?: string;
  threads: number;
  /** OPENBLAS_CORETYPE as used, and where it came from. */
  coretype: { value: string | null; source: "env" | "auto-avx512" | "default" | "self-check-failed" | "n/a" };
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, "binding.gyp"))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

function cpuHasAvx512(): boolean {
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    return /\bavx512f\b/.test(info);
  } catch {
    return false;
  }
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    return m?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Child-process check: sgemm under the given core type agrees with a float64 reference matmul. */
function selfCheckCoretype(addonPath: string, coretype: string): boolean {
  const code = `
    const k = require(${JSON.stringify(addonPath)});
    let ok = true;
    const shapes = [[false,false,67,45,53],[true,false,128,96,200],[false,true,33,257,64],[true,true,300,200,100]];
    for (const [ta, tb, M, N, K] of shapes) {
      let s = 12345;
      const rnd = () => { s = (s * 1103515245 + 12345) >>> 0; return (s / 4294967296) - 0.5; };
      const A = Float32Array.from({length: M*K}, rnd), B = Float32Array.from({length: K*N}, rnd);
      const C = new Float32Array(M*N);
      const lda = ta ? M : K, ldb = tb ? K : N;
      k.sgemm(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N);
      for (let i = 0; i < M && ok; i++) for (let j = 0; j < N; j++) {
        let r = 0;
        for (let p = 0; p < K; p++) r += (ta ? A[p*lda+i] : A[i*lda+p]) * (tb ? B[j*ldb+p] : B[p*ldb+j]);
        if (!(Math.abs(r - C[i*N+j]) <= 1e-3 * (1 + Math.abs(r)))) { ok = false; break; }
      }
    }
    process.stdout.write(ok ? "OK" : "MISMATCH");`;
  const r = spawnSync(process.execPath, ["-e", code], {
    env: { ...process.env, OPENBLAS_CORETYPE: coretype },
    encoding: "utf8",
    timeout: 60_000,
  });
  return r.status === 0 && r.stdout.trim() === "OK";
}

let loaded: { kernels: Kernels; info: EngineInfo; addon: NativeAddon | null } | null = null;

function load(): { kernels: Kernels; info: EngineInfo; addon: NativeAddon | null } {
  if (loaded) return loaded;
  const fallback = (reason: string): typeof loaded => {
    if (process.env.BATCODER_KERNELS !== "ts" && !process.env.BATCODER_TEST) {
      process.stderr.write(
        `batcoder: warning: native kernels unavailable (${reason}); using the slow pure-TypeScript fallback\n`,
      );
    }
    return {
      kernels: tsKernels,
      addon: null,
      info: { kernels: "ts", fallbackReason: reason, threads: 1, coretype: { value: null, source: "n/a" } },
    };
  };
  if (process.env.BATCODER_KERNELS === "ts") {
    loaded = fallback("BATCODER_KERNELS=ts");
    return loaded!;
  }
  const root = repoRoot();
  // BATCODER_ADDON overrides the addon's location (tests of the missing-addon path)
  const addonPath = process.env.BATCODER_ADDON || path.join(root, "build", "Release", "batcoder_kernels.node");
  if (!fs.existsSync(addonPath)) {
    loaded = fallback(`${addonPath} not built (run npm ci or npx node-gyp rebuild)`);
    return loaded!;
  }
  let coretype: EngineInfo["coretype"];
  const fromEnv = process.env.OPENBLAS_CORETYPE;
  if (fromEnv) coretype = { value: fromEnv, source: "env" };
  else if (cpuHasAvx512()) {
    const cacheFile = path.join(path.dirname(addonPath), "coretype-check.json");
    const model = cpuModel();
    let ok: boolean | undefined;
    try {
      const c = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as {
        cpu: string;
        coretype: string;
        ok: boolean;
        addonMtime: number;
      };
      if (c.cpu === model && c.coretype === "SkylakeX" && c.addonMtime === fs.statSync(addonPath).mtimeMs) ok = c.ok;
    } catch {
      /* no cache yet */
    }
    if (ok === undefined) {
      ok = selfCheckCoretype(addonPath, "SkylakeX");
      try {
        fs.writeFileSync(
          cacheFile,
          JSON.stringify({ cpu: model, coretype: "SkylakeX", ok, addonMtime: fs.statSync(addonPath).mtimeMs }),
        );
      } catch {
        /* read-only build dir: re-check next time */
      }
    }
    if (ok) {
      process.env.OPENBLAS_CORETYPE = "SkylakeX";
      coretype = { value: "SkylakeX", source: "auto-avx512" };
    } else coretype = { value: null, source: "self-check-failed" };
  } else coretype = { value: null, source: "default" };
  try {
    const require = createRequire(import.meta.url);
    const addon = require(addonPath) as NativeAddon;
    const missing = Object.keys(tsKernels).filter(
      (k) => k !== "name" && typeof (addon as unknown as Record<string, unknown>)[k] !== "function",
    );
    if (missing.length)
      throw new Error(`the built addon is stale (no ${missing.join(", ")}); rebuild it with npx node-gyp rebuild`);
    const threads = Number(process.env.BATCODER_THREADS) > 0 ? Number(process.env.BATCODER_THREADS) : undefined;
    if (threads) addon.setThreads(threads);
    const ai = addon.info();
    const kernels: Kernels = { ...addon, name: "native" } as Kernels;
    loaded = {
      kernels,
      addon,
      info: { kernels: "native", blasCore: ai.blasCore, blasConfig: ai.blasConfig, threads: ai.threads, coretype },
    };
  } catch (e) {
    loaded = fallback(`failed to load ${addonPath}: ${(e as Error).message}`);
  }
  return loaded!;
}

/** The kernels the engine uses (native when available). */
export function getKernels(): Kernels {
  return load().kernels;
}

/** Which kernels run, the OpenBLAS core in use and how OPENBLAS_CORETYPE was chosen. */
export function engineInfo(): EngineInfo {
  return load().info;
}

/** The native kernels if the addon loads (for the native-vs-fallback agreement tests), else null. */
export function nativeKernels(): Kernels | null {
  const l = load();
  return l.kernels.name === "native" ? l.kernels : null;
}

/** Threads for OpenBLAS and the native element-wise kernels (no-op for the TS fallback). */
export function setThreads(n: number): void {
  load().addon?.setThreads(n);
  if (loaded && loaded.info.kernels === "native") loaded.info.threads = n;
}
