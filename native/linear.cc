// Linear-layer forward kernels for weights stored in f32, bf16 or f16 (frozen base weights at half the memory), and
// the backward through a half-precision weight; plus the exact half <-> f32 conversions. f32 accumulation throughout.
//
// Forward, few input rows (decoding; see fused_max_rows): a fused micro-kernel reads two weight rows at a time, widens
// them to f32 in registers and dots them with up to 4 input rows (8 accumulators), so the weight streams from memory
// once per 4 input rows and a bf16/f16 matvec reads half the bytes of an f32 one. A single input row (batch-1
// decoding) reads four weight rows at a time instead: four memory streams and four independent FMA chains (measured
// at Qwen2.5-0.5B shapes, 2 threads: f32 20-26 -> 25-33 GB/s; see bench/engine/RESULTS.md). Every row's dot product
// is summed in the same order on every path, so a row's result does not depend on how many rows came with it. Many rows (prefill, training):
// tiles of weight rows are widened into a small f32 buffer and multiplied by OpenBLAS (single-threaded per tile).
// Either way the weight's rows are split over the thread pool, so every output value is one dot product computed
// the same way whatever the thread count.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "simd.h"

namespace batcoder {
namespace {

using namespace simd;

enum class WType { F32, BF16, F16 };

// Below this many multiply-adds a call runs on the calling thread. (1 << 20 kept Qwen2.5-0.5B's 896x896 q/o
// projections on one thread at batch 1; splitting them over 2 threads took them from 12 to 21+ GB/s.)
constexpr int64_t POOL_MIN_WORK = int64_t(1) << 16;
// Up to this many input rows take the fused path; more rows widen tiles for OpenBLAS (f32: plain OpenBLAS sgemm).
// Measured at Qwen2.5-0.5B shapes (bench/engine/RESULTS.md): f32 fused beats OpenBLAS up to 8 rows; for bf16/f16
// widening a tile once and letting OpenBLAS reuse it wins from 4 rows on.
template <WType T>
constexpr int64_t fused_max_rows() {
  return T == WType::F32 ? 8 : 2;
}
// Floats in one widened tile. Each tile is one OpenBLAS call, which packs the input rows again: with many input rows
// (training, prefill) small tiles cost — at 1 << 15 a 4864-wide weight got 6-row tiles and a 128-row LoRA training
// forward ran 2.8x slower than f32 sgemm; at 1 << 18 (1 MiB, fits in L2) bf16 is within 0.9-1.2x of f32 at
// Qwen2.5-0.5B shapes. With few input rows (batched decoding) the small tile stays in L1/L2 and is faster (16 rows:
// 84 vs 69 tok/s). The forward's tile height only splits output columns, so it may depend on N; the backward's splits
// the sum and depends on inDim only (same bits whatever the batch).
constexpr int64_t TILE_FLOATS = int64_t(1) << 18;
constexpr int64_t TILE_FLOATS_FEW_ROWS = int64_t(1) << 15;
constexpr int64_t FEW_ROWS = 32;

template <WType T>
using WElem = std::conditional_t<T == WType::F32, float, uint16_t>;

template <WType T>
inline vf vload_w(const WElem<T>* p) {
  if constexpr (T == WType::F32)
    return vload(p);
  else if constexpr (T == WType::BF16)
    return vload_bf16(p);
  else
    return vload_f16(p);
}

template <WType T>
inline float scalar_w(WElem<T> h) {
  if constexpr (T == WType::F32)
    return h;
  else if constexpr (T == WType::BF16)
    return bf16_to_f32(h);
  else
    return f16_to_f32(h);
}

template <WType T>
void widen(const WElem<T>* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + VW <= n; i += VW)
    vstore(dst + i, vload_w<T>(src + i));
  for (; i < n; i++)
    dst[i] = scalar_w<T>(src[i]);
}

// For NX input rows x[n*ldx ..] and R (1 or 2) weight rows w[r*ldw ..]: res[r*4 + n] = dot(x_n, w_r).
template <WType T, int R, int NX>
inline void dot_block(const float* x, int64_t ldx, const WElem<T>* w, int64_t ldw, int64_t len, float* res) {
  vf acc[R][NX];
  for (int r = 0; r < R; r++)
    for (int n = 0; n < NX; n++)
      acc[r][n] = vzero();
  int64_t k = 0;
  for (; k + VW <= len; k += VW) {
    vf wv[R];
    for (int r = 0; r < R; r++)
      wv[r] = vload_w<T>(w + r * ldw + k);
    for (int n = 0; n < NX; n++) {
      vf xv = vload(x + n * ldx + k);
      for (int r = 0; r < R; r++)
        acc[r][n] = vfma(wv[r], xv, acc[r][n]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int n = 0; n < NX; n++) {
      float s = vsum(acc[r][n]);
      for (int64_t j = k; j < len; j++)
        s += x[n * ldx + j] * scalar_w<T>(w[r * ldw + j]);
      res[r * 4 + n] = s;
    }
}

template <WType T, int R>
inline void dot_block_n(int64_t nx, const float* x, int64_t ldx, const WElem<T>* w, int64_t ldw, int64_t len,
                        float* res) {
  switch (nx) {
    case 4: dot_block<T, R, 4>(x, ldx, w, ldw, len, res); break;
    case 3: dot_block<T, R, 3>(x, ldx, w, ldw, len, res); break;
    case 2: dot_block<T, R, 2>(x, ldx, w, ldw, len, res); break;
    default: dot_block<T, R, 1>(x, ldx, w, ldw, len, res); break;
  }
}

// out[:, r0:r1] (+)= x W[r0:r1]^T for N input rows, fused widen-and-dot, two weight rows at a time.
template <WType T>
void forward_rows_fused(const float* x, const WElem<T>* W, float* out, int64_t N, int64_t inDim, int64_t outDim,
                        bool accumulate, int64_t r0, int64_t r1) {
  float res[16];
  if (N == 1) {
    // one input row (batch-1 decoding): four weight rows at a time, four independent streams and accumulator
    // chains; each row's sum runs in the same order as below, so results do not depend on N
    int64_t j = r0;
    for (; j + 4 <= r1; j += 4) {
      dot_block<T, 4, 1>(x, inDim, W + j * inDim, inDim, inDim, res);
      for (int r = 0; r < 4; r++)
        out[j + r] = accumulate ? out[j + r] + res[r * 4] : res[r * 4];
    }
    for (; j < r1; j++) {
      dot_block<T, 1, 1>(x, inDim, W + j * inDim, inDim, inDim, res);
      out[j] = accumulate ? out[j] + res[0] : res[0];
    }
    return;
  }
  for (int64_t j = r0; j < r1; j += 2) {
    int R = j + 1 < r1 ? 2 : 1;
    const WElem<T>* w = W + j * inDim;
    for (int64_t n0 = 0; n0 < N; n0 += 4) {
      int64_t nx = std::min<int64_t>(4, N - n0);
      if (R == 2)
        dot_block_n<T, 2>(nx, x + n0 * inDim, inDim, w, inDim, inDim, res);
      else
        dot_block_n<T, 1>(nx, x + n0 * inDim, inDim, w, inDim, inDim, res);
      for (int r = 0; r < R; r++)
        for (int64_t n = 0; n < nx; n++) {
          float* o = out + (n0 + n) * outDim + j + r;
          *o = accumulate ? *o + res[r * 4 + n] : res[r * 4 + n];
        }
    }
  }
}

// out[:, r0:r1] (+)= x W[r0:r1]^T for N input rows: widen tiles of W's rows, multiply with OpenBLAS.
template <WType T>
void forward_rows_tiled(const float* x, const WElem<T>* W, float* out, int64_t N, int64_t inDim, int64_t outDim,
                        bool accumulate, int64_t r0, int64_t r1) {
  float beta = accumulate ? 1.f : 0.f;
  if constexpr (T == WType::F32) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(r1 - r0), int(inDim), 1.f, x, int(inDim),
                W + r0 * inDim, int(inDim), beta, out + r0, int(outDim));
  } else {
    int64_t tr = std::max<int64_t>(1, (N <= FEW_ROWS ? TILE_FLOATS_FEW_ROWS : TILE_FLOATS) / inDim);
    std::vector<float> tile(size_t(std::min(tr, r1 - r0) * inDim));
    for (int64_t r = r0; r < r1; r += tr) {
      int64_t rows = std::min(tr, r1 - r);
      widen<T>(W + r * inDim, tile.data(), rows * inDim);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(rows), int(inDim), 1.f, x, int(inDim),
                  tile.data(), int(inDim), beta, out + r, int(outDim));
    }
  }
}

template <WType T>
void forward(const float* x, const WElem<T>* W, float* out, int64_t N, int64_t inDim, int64_t outDim, bool accumulate) {
  int nt =
      N * inDim * outDim < POOL_MIN_WORK ? 1 : int(std::min<int64_t>(threads(), std::max<int64_t>(1, outDim / 16)));
  int64_t rows = ((outDim + nt - 1) / nt + 15) / 16 * 16;
  bool fused = N <= fused_max_rows<T>();
  BlasSingleThread guard(!fused);
  pool_run(nt, [&](int t) {
    int64_t r0 = t * rows, r1 = std::min(outDim, r0 + rows);
    if (r0 >= r1)
      return;
    if (fused)
      forward_rows_fused<T>(x, W, out, N, inDim, outDim, accumulate, r0, r1);
    else
      forward_rows_tiled<T>(x, W, out, N, inDim, outDim, accumulate, r0, r1);
  });
}

// dx[:, c0:c1] (=|+=) dout W[:, c0:c1]: widen tiles of W's columns c0..c1, multiply with OpenBLAS.
template <WType T>
void backward_cols(const float* dout, const WElem<T>* W, float* dx, int64_t N, int64_t inDim, int64_t outDim,
                   bool accumulate, int64_t c0, int64_t c1) {
  int64_t width = c1 - c0;
  // tile height from inDim only, so the sums (over W's rows) are blocked alike whatever the thread count
  int64_t tr = std::max<int64_t>(8, TILE_FLOATS / inDim);
  std::vector<float> tile(size_t(std::min(tr, outDim) * width));
  for (int64_t r = 0; r < outDim; r += tr) {
    int64_t rows = std::min(tr, outDim - r);
    for (int64_t i = 0; i < rows; i++)
      widen<T>(W + (r + i) * inDim + c0, tile.data() + i * width, width);
    float beta = (r == 0 && !accumulate) ? 0.f : 1.f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(N), int(width), int(rows), 1.f, dout + r, int(outDim),
                tile.data(), int(width), beta, dx + c0, int(inDim));
  }
}

template <WType T>
void backward(const float* dout, const WElem<T>* W, float* dx, int64_t N, int64_t inDim, int64_t outDim,
              bool accumulate) {
  int nt = N * inDim * outDim < POOL_MIN_WORK ? 1 : int(std::min<int64_t>(threads(), std::max<int64_t>(1, inDim / 16)));
  int64_t cols = ((inDim + nt - 1) / nt + 15) / 16 * 16;
  BlasSingleThread guard(true);
  pool_run(nt, [&](int t) {
    int64_t c0 = t * cols, c1 = std::min(inDim, c0 + cols);
    if (c0 < c1)
      backward_cols<T>(dout, W, dx, N, inDim, outDim, accumulate, c0, c1);
  });
}

void add_bias(float* out, const float* bias, int64_t N, int64_t outDim) {
  if (!bias)
    return;
  for (int64_t i = 0; i < N; i++) {
    float* o = out + i * outDim;
#pragma omp simd
    for (int64_t j = 0; j < outDim; j++)
      o[j] += bias[j];
  }
}

uint16_t f32_to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu))
    return uint16_t((b >> 16) | 0x40);  // NaN stays NaN
  return uint16_t((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

uint16_t f32_to_f16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  uint32_t sign = (b >> 16) & 0x8000u, exp = (b >> 23) & 0xffu, mant = b & 0x7fffffu;
  if (exp == 0xff)
    return uint16_t(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
  int e = int(exp) - 127 + 15;
  if (e >= 0x1f)
    return uint16_t(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10)
      return uint16_t(sign);
    mant |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u)))
      h++;
    return uint16_t(sign | h);
  }
  uint32_t h = (uint32_t(e) << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    h++;
  return uint16_t(sign | h);
}

}  // namespace

void half_to_f32(const uint16_t* src, Half type, float* dst, int64_t n) {
  parallel_for(n, 1, [&](int64_t b, int64_t e) {
    if (type == Half::BF16)
      widen<WType::BF16>(src + b, dst + b, e - b);
    else
      widen<WType::F16>(src + b, dst + b, e - b);
  });
}

void f32_to_half(const float* src, Half type, uint16_t* dst, int64_t n) {
  parallel_for(n, 4, [&](int64_t b, int64_t e) {
    if (type == Half::BF16)
      for (int64_t i = b; i < e; i++)
        dst[i] = f32_to_bf16(src[i]);
    else
      for (int64_t i = b; i < e; i++)
        dst[i] = f32_to_f16(src[i]);
  });
}

void linear_forward(const float* x, const float* W, const float* bias, float* out, int64_t N, int64_t inDim,
                    int64_t outDim, bool accumulate) {
  if (N == 0 || outDim == 0)
    return;
  if (N <= fused_max_rows<WType::F32>() && inDim > 0)
    forward<WType::F32>(x, W, out, N, inDim, outDim, accumulate);
  else  // OpenBLAS's threads
    sgemm(false, true, N, outDim, inDim, 1.f, x, inDim, W, inDim, accumulate ? 1.f : 0.f, out, outDim);
  add_bias(out, bias, N, outDim);
}

void linear_forward_half(const float* x, const uint16_t* W, Half type, const float* bias, float* out, int64_t N,
                         int64_t inDim, int64_t outDim, bool accumulate) {
  if (N == 0 || outDim == 0)
    return;
  if (inDim == 0) {
    if (!accumulate)
      std::fill(out, out + N * outDim, 0.f);
  } else if (type == Half::BF16) {
    forward<WType::BF16>(x, W, out, N, inDim, outDim, accumulate);
  } else {
    forward<WType::F16>(x, W, out, N, inDim, outDim, accumulate);
  }
  add_bias(out, bias, N, outDim);
}

void linear_backward_half(const float* dout, const uint16_t* W, Half type, float* dx, int64_t N, int64_t inDim,
                          int64_t outDim, bool accumulate) {
  if (N == 0 || inDim == 0)
    return;
  if (outDim == 0) {
    if (!accumulate)
      std::fill(dx, dx + N * inDim, 0.f);
  } else if (type == Half::BF16) {
    backward<WType::BF16>(dout, W, dx, N, inDim, outDim, accumulate);
  } else {
    backward<WType::F16>(dout, W, dx, N, inDim, outDim, accumulate);
  }
}

}  // namespace batcoder
