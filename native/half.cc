// Linear layers whose weight is stored in bf16 or f16 (frozen base weights at half the memory), widened to f32 on
// the fly with f32 accumulation, plus the exact half <-> f32 conversions.
//
// Forward, few input rows (decoding, batch 1 .. 16): each weight row is widened once per group of up to 4 input rows
// and dotted with them in registers (a memory-bound matvec reads half the bytes of f32). Many rows (prefill,
// training): tiles of weight rows are widened into a small f32 buffer and multiplied by OpenBLAS (single-threaded
// per tile). Either way the weight's rows are split over the pool's threads.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "simd.h"

namespace batcoder {
namespace {

using namespace simd;

// Below this many multiply-adds a call runs on the calling thread.
constexpr int64_t POOL_MIN_WORK = int64_t(1) << 20;
// Up to this many input rows take the fused widen-and-dot path; more rows widen tiles for OpenBLAS.
constexpr int64_t FUSED_MAX_ROWS = 16;
// Floats in one widened tile (fits in L2 next to its operands).
constexpr int64_t TILE_FLOATS = int64_t(1) << 15;

template <Half T>
inline vf vload_half(const uint16_t* p) {
  if constexpr (T == Half::BF16) return vload_bf16(p);
  else return vload_f16(p);
}

template <Half T>
inline float scalar_half(uint16_t h) {
  if constexpr (T == Half::BF16) return bf16_to_f32(h);
  else return f16_to_f32(h);
}

template <Half T>
void widen(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + VW <= n; i += VW) vstore(dst + i, vload_half<T>(src + i));
  for (; i < n; i++) dst[i] = scalar_half<T>(src[i]);
}

// res[n] = dot(x[n*ldx ..], w) for NX input rows, w widened once per vector step.
template <Half T, int NX>
inline void dot_rows(const float* x, int64_t ldx, const uint16_t* w, int64_t len, float* res) {
  vf acc0[NX], acc1[NX];
  for (int n = 0; n < NX; n++) acc0[n] = acc1[n] = vzero();
  int64_t k = 0;
  for (; k + 2 * VW <= len; k += 2 * VW) {
    vf w0 = vload_half<T>(w + k), w1 = vload_half<T>(w + k + VW);
    for (int n = 0; n < NX; n++) {
      acc0[n] = vfma(w0, vload(x + n * ldx + k), acc0[n]);
      acc1[n] = vfma(w1, vload(x + n * ldx + k + VW), acc1[n]);
    }
  }
  for (; k + VW <= len; k += VW) {
    vf w0 = vload_half<T>(w + k);
    for (int n = 0; n < NX; n++) acc0[n] = vfma(w0, vload(x + n * ldx + k), acc0[n]);
  }
  for (int n = 0; n < NX; n++) {
    float s = vsum(vadd(acc0[n], acc1[n]));
    for (int64_t j = k; j < len; j++) s += x[n * ldx + j] * scalar_half<T>(w[j]);
    res[n] = s;
  }
}

// out[:, r0:r1] = x W[r0:r1]^T for N input rows, fused widen-and-dot.
template <Half T>
void forward_rows_fused(const float* x, const uint16_t* W, float* out, int64_t N, int64_t inDim, int64_t outDim, int64_t r0, int64_t r1) {
  float res[4];
  for (int64_t j = r0; j < r1; j++) {
    const uint16_t* w = W + j * inDim;
    for (int64_t n0 = 0; n0 < N; n0 += 4) {
      int64_t nx = std::min<int64_t>(4, N - n0);
      const float* xs = x + n0 * inDim;
      switch (nx) {
        case 4: dot_rows<T, 4>(xs, inDim, w, inDim, res); break;
        case 3: dot_rows<T, 3>(xs, inDim, w, inDim, res); break;
        case 2: dot_rows<T, 2>(xs, inDim, w, inDim, res); break;
        default: dot_rows<T, 1>(xs, inDim, w, inDim, res); break;
      }
      for (int64_t n = 0; n < nx; n++) out[(n0 + n) * outDim + j] = res[n];
    }
  }
}

// out[:, r0:r1] = x W[r0:r1]^T for N input rows: widen tiles of W's rows, multiply with OpenBLAS.
template <Half T>
void forward_rows_tiled(const float* x, const uint16_t* W, float* out, int64_t N, int64_t inDim, int64_t outDim, int64_t r0, int64_t r1,
                        std::vector<float>& tile) {
  int64_t tr = std::max<int64_t>(1, TILE_FLOATS / std::max<int64_t>(1, inDim));
  tile.resize(size_t(std::min(tr, r1 - r0) * inDim));
  for (int64_t r = r0; r < r1; r += tr) {
    int64_t rows = std::min(tr, r1 - r);
    widen<T>(W + r * inDim, tile.data(), rows * inDim);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(rows), int(inDim), 1.f, x, int(inDim), tile.data(), int(inDim), 0.f,
                out + r, int(outDim));
  }
}

template <Half T>
void forward(const float* x, const uint16_t* W, float* out, int64_t N, int64_t inDim, int64_t outDim) {
  int nt = N * inDim * outDim < POOL_MIN_WORK ? 1 : int(std::min<int64_t>(threads(), std::max<int64_t>(1, outDim / 16)));
  int64_t rows = ((outDim + nt - 1) / nt + 15) / 16 * 16;
  bool fused = N <= FUSED_MAX_ROWS;
  BlasSingleThread guard(!fused);
  pool_run(nt, [&](int t) {
    int64_t r0 = t * rows, r1 = std::min(outDim, r0 + rows);
    if (r0 >= r1) return;
    if (fused) forward_rows_fused<T>(x, W, out, N, inDim, outDim, r0, r1);
    else {
      std::vector<float> tile;
      forward_rows_tiled<T>(x, W, out, N, inDim, outDim, r0, r1, tile);
    }
  });
}

// dx[:, c0:c1] (=|+=) dout W[:, c0:c1]: widen tiles of W's columns c0..c1, multiply with OpenBLAS.
template <Half T>
void backward_cols(const float* dout, const uint16_t* W, float* dx, int64_t N, int64_t inDim, int64_t outDim, bool accumulate, int64_t c0,
                   int64_t c1) {
  int64_t width = c1 - c0;
  // tile height from inDim only, so the sums (over W's rows) are blocked alike whatever the thread count
  int64_t tr = std::max<int64_t>(8, TILE_FLOATS / inDim);
  std::vector<float> tile(size_t(std::min(tr, outDim) * width));
  for (int64_t r = 0; r < outDim; r += tr) {
    int64_t rows = std::min(tr, outDim - r);
    for (int64_t i = 0; i < rows; i++) widen<T>(W + (r + i) * inDim + c0, tile.data() + i * width, width);
    float beta = (r == 0 && !accumulate) ? 0.f : 1.f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(N), int(width), int(rows), 1.f, dout + r, int(outDim), tile.data(), int(width),
                beta, dx + c0, int(inDim));
  }
}

template <Half T>
void backward(const float* dout, const uint16_t* W, float* dx, int64_t N, int64_t inDim, int64_t outDim, bool accumulate) {
  int nt = N * inDim * outDim < POOL_MIN_WORK ? 1 : int(std::min<int64_t>(threads(), std::max<int64_t>(1, inDim / 16)));
  int64_t cols = ((inDim + nt - 1) / nt + 15) / 16 * 16;
  BlasSingleThread guard(true);
  pool_run(nt, [&](int t) {
    int64_t c0 = t * cols, c1 = std::min(inDim, c0 + cols);
    if (c0 < c1) backward_cols<T>(dout, W, dx, N, inDim, outDim, accumulate, c0, c1);
  });
}

uint16_t f32_to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu)) return uint16_t((b >> 16) | 0x40);  // NaN stays NaN
  return uint16_t((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

uint16_t f32_to_f16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  uint32_t sign = (b >> 16) & 0x8000u, exp = (b >> 23) & 0xffu, mant = b & 0x7fffffu;
  if (exp == 0xff) return uint16_t(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
  int e = int(exp) - 127 + 15;
  if (e >= 0x1f) return uint16_t(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) h++;
    return uint16_t(sign | h);
  }
  uint32_t h = (uint32_t(e) << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
  return uint16_t(sign | h);
}

}  // namespace

void half_to_f32(const uint16_t* src, Half type, float* dst, int64_t n) {
  parallel_for(n, 1, [&](int64_t b, int64_t e) {
    if (type == Half::BF16) widen<Half::BF16>(src + b, dst + b, e - b);
    else widen<Half::F16>(src + b, dst + b, e - b);
  });
}

void f32_to_half(const float* src, Half type, uint16_t* dst, int64_t n) {
  parallel_for(n, 4, [&](int64_t b, int64_t e) {
    if (type == Half::BF16)
      for (int64_t i = b; i < e; i++) dst[i] = f32_to_bf16(src[i]);
    else
      for (int64_t i = b; i < e; i++) dst[i] = f32_to_f16(src[i]);
  });
}

void linear_forward_half(const float* x, const uint16_t* W, Half type, const float* bias, float* out, int64_t N, int64_t inDim,
                         int64_t outDim) {
  if (N == 0 || outDim == 0) return;
  if (inDim == 0) {
    std::fill(out, out + N * outDim, 0.f);
  } else if (type == Half::BF16) {
    forward<Half::BF16>(x, W, out, N, inDim, outDim);
  } else {
    forward<Half::F16>(x, W, out, N, inDim, outDim);
  }
  if (bias)
    for (int64_t i = 0; i < N; i++)
      for (int64_t j = 0; j < outDim; j++) out[i * outDim + j] += bias[j];
}

void linear_backward_half(const float* dout, const uint16_t* W, Half type, float* dx, int64_t N, int64_t inDim, int64_t outDim,
                          bool accumulate) {
  if (N == 0 || inDim == 0) return;
  if (outDim == 0) {
    if (!accumulate) std::fill(dx, dx + N * inDim, 0.f);
  } else if (type == Half::BF16) {
    backward<Half::BF16>(dout, W, dx, N, inDim, outDim, accumulate);
  } else {
    backward<Half::F16>(dout, W, dx, N, inDim, outDim, accumulate);
  }
}

}  // namespace batcoder
