// batcoder native kernels, f32 part: OpenBLAS sgemm wrappers and the hot element-wise kernels of the LLaMA engine.
// Pure functions on raw pointers (see kernels.h); the N-API glue is in binding.cc.
#include "kernels.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "parallel.h"

namespace batcoder {
namespace {

// exp for float, vectorisable (Cody-Waite range reduction + degree-6 polynomial, ~1 ulp); inputs clamped to
// [-87, 88] so the result is always finite (callers never pass -inf).
inline float fexp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // round x*log2(e) to the nearest integer with the 1.5*2^23 trick (branch-free, vectorises without -ffast-math)
  float t = x * 1.44269504088896341f + 12582912.0f;
  float n = t - 12582912.0f;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float z = r * r;
  float y = ((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r +
             1.6666665459E-1f) *
                r +
            5.0000001201E-1f;
  y = y * z + r + 1.0f;
  int32_t ti;
  std::memcpy(&ti, &t, sizeof ti);
  int32_t e = (ti - 0x4B400000 + 127) << 23;
  float sc;
  std::memcpy(&sc, &e, sizeof sc);
  return y * sc;
}

inline float sigmoid(float x) {
  return 1.f / (1.f + fexp(-x));
}

inline float row_max(const float* r, int64_t n) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; j++)
    m = std::max(m, r[j]);
  return m;
}

// r[j] = exp(r[j] - m) for j < n; returns their sum.
inline float exp_shift_sum(float* r, int64_t n, float m) {
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; j++) {
    float e = fexp(r[j] - m);
    r[j] = e;
    sum += e;
  }
  return sum;
}

// Products under this many multiply-adds (decoding steps, gemv) run on the calling thread: waking OpenBLAS's worker
// threads costs more than it saves there, and much more on a loaded machine.
constexpr int64_t SMALL_GEMM = int64_t(1) << 22;

constexpr int64_t ATT_BLOCK = 64;

// Softmax of the rows of S (rows x cols, leading dimension cols) in place, row ii attends to columns
// 0..firstRow+ii (causal); writes lse[ii*lseStride].
void causal_softmax_block(float* S, int64_t rows, int64_t cols, int64_t firstRow, float* lse, int64_t lseStride) {
  for (int64_t ii = 0; ii < rows; ii++) {
    float* r = S + ii * cols;
    int64_t n = firstRow + ii + 1;
    float m = row_max(r, n);
    float sum = exp_shift_sum(r, n, m);
    float inv = 1.f / sum;
#pragma omp simd
    for (int64_t j = 0; j < n; j++)
      r[j] *= inv;
    for (int64_t j = n; j < cols; j++)
      r[j] = 0.f;
    lse[ii * lseStride] = m + std::log(sum);
  }
}

struct AttnShape {
  int64_t H, Hkv, hd, qs, ks, grp;
  float scale;
  AttnShape(int64_t H_, int64_t Hkv_, int64_t hd_)
      : H(H_), Hkv(Hkv_), hd(hd_), qs(H_ * hd_), ks(Hkv_ * hd_), grp(H_ / Hkv_), scale(1.0f / std::sqrt(float(hd_))) {}
};

// Causal attention of one (segment, kv group): every query head of the group, in row blocks of ATT_BLOCK so only
// the lower-triangular part of the score matrix is computed.
void attn_fwd_item(const AttnShape& A, const float* q, const float* k, const float* v, float* out, float* lse,
                   int64_t s0, int64_t T, int64_t g, float* S) {
  for (int64_t h = g * A.grp; h < (g + 1) * A.grp; h++) {
    for (int64_t b0 = 0; b0 < T; b0 += ATT_BLOCK) {
      int64_t rows = std::min(ATT_BLOCK, T - b0), cols = b0 + rows;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(cols), int(A.hd), A.scale,
                  q + (s0 + b0) * A.qs + h * A.hd, int(A.qs), k + s0 * A.ks + g * A.hd, int(A.ks), 0.f, S, int(cols));
      causal_softmax_block(S, rows, cols, b0, lse + (s0 + b0) * A.H + h, A.H);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(A.hd), int(cols), 1.f, S, int(cols),
                  v + s0 * A.ks + g * A.hd, int(A.ks), 0.f, out + (s0 + b0) * A.qs + h * A.hd, int(A.qs));
    }
  }
}

void attn_bwd_item(const AttnShape& A, const float* dout, const float* q, const float* k, const float* v,
                   const float* out, const float* lse, float* dq, float* dk, float* dv, int64_t s0, int64_t T,
                   int64_t g, float* P, float* dP) {
  const float* kg = k + s0 * A.ks + g * A.hd;
  const float* vg = v + s0 * A.ks + g * A.hd;
  float* dkg = dk + s0 * A.ks + g * A.hd;
  float* dvg = dv + s0 * A.ks + g * A.hd;
  for (int64_t h = g * A.grp; h < (g + 1) * A.grp; h++) {
    for (int64_t b0 = 0; b0 < T; b0 += ATT_BLOCK) {
      int64_t rows = std::min(ATT_BLOCK, T - b0), cols = b0 + rows;
      const float* qh = q + (s0 + b0) * A.qs + h * A.hd;
      const float* oh = out + (s0 + b0) * A.qs + h * A.hd;
      const float* doh = dout + (s0 + b0) * A.qs + h * A.hd;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(cols), int(A.hd), A.scale, qh, int(A.qs), kg,
                  int(A.ks), 0.f, P, int(cols));
      // dP = dO V^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(cols), int(A.hd), 1.f, doh, int(A.qs), vg,
                  int(A.ks), 0.f, dP, int(cols));
      for (int64_t ii = 0; ii < rows; ii++) {
        float* pr = P + ii * cols;
        float* dr = dP + ii * cols;
        float L = lse[(s0 + b0 + ii) * A.H + h];
        int64_t n = b0 + ii + 1;
        float D = 0.f;
        const float* dor = doh + ii * A.qs;
        const float* orow = oh + ii * A.qs;
#pragma omp simd reduction(+ : D)
        for (int64_t c = 0; c < A.hd; c++)
          D += dor[c] * orow[c];
#pragma omp simd
        for (int64_t j = 0; j < n; j++) {
          float p = fexp(pr[j] - L);
          pr[j] = p;
          dr[j] = p * (dr[j] - D);
        }
        for (int64_t j = n; j < cols; j++)
          pr[j] = dr[j] = 0.f;
      }
      // dV += P^T dO ; dQ = scale dS K ; dK += scale dS^T Q
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(cols), int(A.hd), int(rows), 1.f, P, int(cols), doh,
                  int(A.qs), 1.f, dvg, int(A.ks));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(A.hd), int(cols), A.scale, dP, int(cols),
                  kg, int(A.ks), 0.f, dq + (s0 + b0) * A.qs + h * A.hd, int(A.qs));
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(cols), int(A.hd), int(rows), A.scale, dP, int(cols), qh,
                  int(A.qs), 1.f, dkg, int(A.ks));
    }
  }
}

// Shared driver of attention forward and backward: runs item(s0, T, g, scratch...) for every non-empty
// (segment, kv group), one item per thread (OpenBLAS single-threaded inside) when there are enough items.
// Each thread gets `buffers` scratch blocks of min(ATT_BLOCK, maxT) x maxT floats.
template <typename F>
void for_each_segment_group(const int32_t* segStart, const int32_t* segLen, int64_t nseg, int64_t Hkv, int buffers,
                            F item) {
  int64_t maxT = 0;
  for (int64_t s = 0; s < nseg; s++)
    maxT = std::max<int64_t>(maxT, segLen[s]);
  int64_t items = nseg * Hkv;
  bool split = items >= threads() && threads() > 1;
  BlasSingleThread guard(split);
  size_t scr = size_t(std::min(ATT_BLOCK, maxT) * maxT);
  std::vector<std::vector<float>> scratch(size_t(split ? threads() : 1) * size_t(buffers), std::vector<float>(scr));
  auto fn = [&](int64_t it, int t) {
    int64_t s = it / Hkv, g = it % Hkv;
    if (segLen[s] > 0)
      item(int64_t(segStart[s]), int64_t(segLen[s]), g, &scratch[size_t(t) * size_t(buffers)]);
  };
  if (split)
    parallel_items(items, fn);
  else
    for (int64_t i = 0; i < items; i++)
      fn(i, 0);
}

}  // namespace

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0)
    return;
  if (K == 0) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++)
        C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  BlasSingleThread guard(M * N * K < SMALL_GEMM);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

void linear_backward(const float* dout, const float* x, const float* W, float* dx, float* dW, float* dbias, int64_t N,
                     int64_t inDim, int64_t outDim, bool accumulate) {
  if (N == 0)
    return;
  sgemm(false, false, N, inDim, outDim, 1.f, dout, outDim, W, inDim, accumulate ? 1.f : 0.f, dx, inDim);
  if (dW)
    sgemm(true, false, outDim, inDim, N, 1.f, dout, outDim, x, inDim, 1.f, dW, inDim);
  if (dbias)
    for (int64_t i = 0; i < N; i++) {
      const float* g = dout + i * outDim;
#pragma omp simd
      for (int64_t j = 0; j < outDim; j++)
        dbias[j] += g[j];
    }
}

void rmsnorm_forward(const float* x, const float* w, float* out, float* rstd, int64_t N, int64_t d, float eps) {
  parallel_for(N, d, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float* xi = x + i * d;
      float* oi = out + i * d;
      float ss = 0.f;
#pragma omp simd reduction(+ : ss)
      for (int64_t j = 0; j < d; j++)
        ss += xi[j] * xi[j];
      float r = 1.0f / std::sqrt(ss / float(d) + eps);
      rstd[i] = r;
      for (int64_t j = 0; j < d; j++)
        oi[j] = xi[j] * r * w[j];
    }
  });
}

void rmsnorm_backward(const float* dout, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t N, int64_t d) {
  // dw is a sum over rows: each thread sums its rows into its own partial, the partials are added in thread order
  int nt = (threads() > 1 && N * d >= (int64_t(1) << 20)) ? threads() : 1;
  std::vector<std::vector<float>> part(size_t(nt), std::vector<float>(size_t(d), 0.f));
  parallel_chunks(N, nt, [&](int t, int64_t b, int64_t e) {
    float* pw = part[size_t(t)].data();
    for (int64_t i = b; i < e; i++) {
      const float* gi = dout + i * d;
      const float* xi = x + i * d;
      float* dxi = dx + i * d;
      float r = rstd[i];
      float dot = 0.f;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < d; j++) {
        dot += gi[j] * w[j] * xi[j];
        pw[j] += gi[j] * xi[j] * r;
      }
      float c = r * r * r * dot / float(d);
      for (int64_t j = 0; j < d; j++)
        dxi[j] += r * gi[j] * w[j] - c * xi[j];
    }
  });
  for (int t = 0; t < nt; t++)
    for (int64_t j = 0; j < d; j++)
      dw[j] += part[size_t(t)][size_t(j)];
}

void rope(float* x, int64_t N, int64_t H, int64_t hd, const int32_t* pos, const float* cs, const float* sn,
          float sign) {
  int64_t half = hd / 2;
  parallel_for(N, H * hd, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float* c = cs + int64_t(pos[i]) * half;
      const float* s = sn + int64_t(pos[i]) * half;
      for (int64_t h = 0; h < H; h++) {
        float* v = x + (i * H + h) * hd;
        for (int64_t j = 0; j < half; j++) {
          float x1 = v[j], x2 = v[j + half];
          float sj = sign * s[j];
          v[j] = x1 * c[j] - x2 * sj;
          v[j + half] = x2 * c[j] + x1 * sj;
        }
      }
    }
  });
}

void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, const int32_t* segStart,
                       const int32_t* segLen, int64_t nseg, int64_t H, int64_t Hkv, int64_t hd) {
  AttnShape A(H, Hkv, hd);
  for_each_segment_group(segStart, segLen, nseg, Hkv, 1,
                         [&](int64_t s0, int64_t T, int64_t g, std::vector<float>* scr) {
                           attn_fwd_item(A, q, k, v, out, lse, s0, T, g, scr[0].data());
                         });
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, float* dq, float* dk, float* dv, const int32_t* segStart,
                        const int32_t* segLen, int64_t nseg, int64_t H, int64_t Hkv, int64_t hd) {
  AttnShape A(H, Hkv, hd);
  for_each_segment_group(
      segStart, segLen, nseg, Hkv, 2, [&](int64_t s0, int64_t T, int64_t g, std::vector<float>* scr) {
        attn_bwd_item(A, dout, q, k, v, out, lse, dq, dk, dv, s0, T, g, scr[0].data(), scr[1].data());
      });
}

void attention_cached(const float* q, const float* kc, const float* vc, const int32_t* slot, const int32_t* pos,
                      int64_t R, float* out, int64_t H, int64_t Hkv, int64_t hd, int64_t maxLen) {
  int64_t qs = H * hd, ks = Hkv * hd, grp = H / Hkv;
  float scale = 1.0f / std::sqrt(float(hd));
  int64_t avgLen = 0;
  for (int64_t r = 0; r < R; r++)
    avgLen += pos[r] + 1;
  avgLen = R ? avgLen / R : 0;
  // per (row, head): scores = K q (sgemv over the cached rows), softmax, out = V^T p (sgemv); items split over our
  // threads (OpenBLAS single-threaded inside) when the total work is large enough to pay for them
  bool split = threads() > 1 && R * H >= 2 && R * H * avgLen * hd * 2 >= (int64_t(1) << 20);
  BlasSingleThread guard(true);
  std::vector<std::vector<float>> scratch(size_t(split ? threads() : 1),
                                          std::vector<float>(static_cast<size_t>(maxLen)));
  auto fn = [&](int64_t idx, int t) {
    float* sc = scratch[size_t(t)].data();
    int64_t r = idx / H, h = idx % H, g = h / grp;
    int64_t L = pos[r] + 1;
    const float* qh = q + r * qs + h * hd;
    const float* kb = kc + int64_t(slot[r]) * maxLen * ks + g * hd;
    const float* vb = vc + int64_t(slot[r]) * maxLen * ks + g * hd;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(L), int(hd), scale, kb, int(ks), qh, 1, 0.f, sc, 1);
    float m = row_max(sc, L);
    float sum = exp_shift_sum(sc, L, m);
    cblas_sgemv(CblasRowMajor, CblasTrans, int(L), int(hd), 1.f / sum, vb, int(ks), sc, 1, 0.f, out + r * qs + h * hd,
                1);
  };
  if (split)
    parallel_items(R * H, fn);
  else
    for (int64_t i = 0; i < R * H; i++)
      fn(i, 0);
}

void swiglu_forward(const float* g, const float* u, float* o, int64_t n) {
  parallel_for(n, 8, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      float x = g[i];
      o[i] = x / (1.f + fexp(-x)) * u[i];
    }
  });
}

void swiglu_backward(const float* d, const float* g, const float* u, float* dg, float* du, int64_t n) {
  parallel_for(n, 8, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      float x = g[i];
      float s = sigmoid(x);
      float gi = d[i];
      du[i] = gi * x * s;
      dg[i] = gi * u[i] * s * (1.f + x * (1.f - s));
    }
  });
}

void logsoftmax_forward(const float* z, int64_t N, int64_t V, const int32_t* tgt, float* logp, float* lse, float* ent) {
  parallel_for(N, V, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float* r = z + i * V;
      float m = row_max(r, V);
      float sum = 0.f, wsum = 0.f;
#pragma omp simd reduction(+ : sum, wsum)
      for (int64_t j = 0; j < V; j++) {
        float ex = fexp(r[j] - m);
        sum += ex;
        wsum += ex * (r[j] - m);
      }
      float L = m + std::log(sum);
      lse[i] = L;
      logp[i] = r[tgt[i]] - L;
      // H = -sum p (z - L) = L - m - wsum/sum
      if (ent)
        ent[i] = std::log(sum) - wsum / sum;
    }
  });
}

void logsoftmax_backward(float* z, int64_t N, int64_t V, const int32_t* tgt, const float* lse, const float* glp,
                         const float* ent, const float* gent) {
  bool useEnt = ent && gent;
  parallel_for(N, V, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float* r = z + i * V;
      float gl = glp[i];
      float ge = useEnt ? gent[i] : 0.f;
      if (gl == 0.f && ge == 0.f) {
        std::memset(r, 0, sizeof(float) * size_t(V));
        continue;
      }
      float L = lse[i];
      if (ge == 0.f) {
#pragma omp simd
        for (int64_t j = 0; j < V; j++)
          r[j] = -gl * fexp(r[j] - L);
      } else {
        float Hh = ent[i];
#pragma omp simd
        for (int64_t j = 0; j < V; j++) {
          float lp = r[j] - L;
          float p = fexp(lp);
          r[j] = -gl * p - ge * p * (lp + Hh);
        }
      }
      r[tgt[i]] += gl;
    }
  });
}

// The nucleus is a prefix of the tokens sorted by weight w: widen a threshold until the candidates hold mass >= need,
// sort them, cut at the first prefix holding `need`, and invert the uniform draw u within that prefix.
static int64_t sample_nucleus(const std::vector<float>& w, int64_t V, double need, double u,
                              std::vector<int32_t>& ids) {
  float thr = 1e-3f;
  for (;;) {
    ids.clear();
    double mass = 0;
    for (int64_t j = 0; j < V; j++)
      if (w[size_t(j)] >= thr && w[size_t(j)] > 0.f) {
        ids.push_back(int32_t(j));
        mass += w[size_t(j)];
      }
    if (mass >= need || thr == 0.f)
      break;
    thr = thr < 1e-30f ? 0.f : thr * 1e-3f;
  }
  std::sort(ids.begin(), ids.end(), [&](int32_t x, int32_t y) {
    return w[size_t(x)] > w[size_t(y)] || (w[size_t(x)] == w[size_t(y)] && x < y);
  });
  double cum = 0;
  size_t cut = ids.size();
  for (size_t i = 0; i < ids.size(); i++) {
    cum += w[size_t(ids[i])];
    if (cum >= need) {
      cut = i + 1;
      break;
    }
  }
  double tot2 = 0;
  for (size_t i = 0; i < cut; i++)
    tot2 += w[size_t(ids[i])];
  double x = u * tot2;
  int64_t tok = ids[cut - 1];
  for (size_t i = 0; i < cut; i++) {
    x -= w[size_t(ids[i])];
    if (x < 0) {
      tok = ids[i];
      break;
    }
  }
  return tok;
}

void sample_rows(const float* z, int64_t R, int64_t V, const float* prm, const double* uni, int32_t* otok, float* olp) {
  std::vector<float> w(static_cast<size_t>(V));
  std::vector<int32_t> ids;
  for (int64_t r = 0; r < R; r++) {
    const float* row = z + r * V;
    float T = prm[r * 3], topP = prm[r * 3 + 2];
    int64_t topK = int64_t(prm[r * 3 + 1]);
    float m = -INFINITY;
    int64_t arg = 0;
    for (int64_t j = 0; j < V; j++)
      if (row[j] > m) {
        m = row[j];
        arg = j;
      }
    float s1 = 0.f;
#pragma omp simd reduction(+ : s1)
    for (int64_t j = 0; j < V; j++)
      s1 += fexp(row[j] - m);
    float lse = m + std::log(s1);
    int64_t tok = arg;
    if (T > 0.f) {
      float kth = -INFINITY;
      if (topK > 0 && topK < V) {
        std::vector<float> tmp(row, row + V);
        std::nth_element(tmp.begin(), tmp.begin() + (V - topK), tmp.end());
        kth = tmp[size_t(V - topK)];
      }
      float invT = 1.f / T;
      double total = 0;
      for (int64_t j = 0; j < V; j++) {
        float e = row[j] < kth ? 0.f : fexp((row[j] - m) * invT);
        w[size_t(j)] = e;
        total += e;
      }
      double u = uni[r];
      if (topP < 1.f) {
        tok = sample_nucleus(w, V, double(topP) * total, u, ids);
      } else {
        double x = u * total;
        int64_t last = arg;
        tok = -1;
        for (int64_t j = 0; j < V; j++) {
          if (w[size_t(j)] == 0.f)
            continue;
          last = j;
          x -= w[size_t(j)];
          if (x < 0) {
            tok = j;
            break;
          }
        }
        if (tok < 0)
          tok = last;
      }
    }
    otok[r] = int32_t(tok);
    if (T > 0.f && T != 1.f) {
      // log softmax(z / T)[tok]: the sampling temperature's distribution (TRL / verl), before top-k / top-p
      float invT = 1.f / T;
      float sT = 0.f;
#pragma omp simd reduction(+ : sT)
      for (int64_t j = 0; j < V; j++)
        sT += fexp((row[j] - m) * invT);
      olp[r] = (row[tok] - m) * invT - std::log(sT);
    } else {
      olp[r] = row[tok] - lse;
    }
  }
}

void adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2, float eps, float wd,
           float bc1, float bc2) {
  float decay = 1.f - lr * wd;
  parallel_for(n, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float gi = g[i];
      float mi = b1 * m[i] + (1.f - b1) * gi;
      float vi = b2 * v[i] + (1.f - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      float mh = mi / bc1, vh = vi / bc2;
      p[i] = p[i] * decay - lr * mh / (std::sqrt(vh) + eps);
    }
  });
}

double sumsq(const float* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++)
    s += double(x[i]) * double(x[i]);
  return s;
}

void axpy(float* y, const float* x, float al, int64_t n) {
  parallel_for(n, 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++)
      y[i] += al * x[i];
  });
}

void scale(float* x, float al, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    x[i] *= al;
}

}  // namespace batcoder
