// batcoder native kernels: OpenBLAS sgemm wrappers and the hot element-wise kernels of the LLaMA engine.
// Every function works in place on Float32Array / Int32Array arguments (no copies). Layouts are row-major and
// documented in src/engine/kernels.ts, which holds the pure-TS fallback with identical semantics.
#include <node_api.h>
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}

namespace {

int g_threads = 2;

// exp for float, vectorisable (Cody-Waite range reduction + degree-6 polynomial, ~1 ulp); inputs clamped to
// [-87, 88] so the result is always finite (callers never pass -inf).
inline float fexp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // round x*log2(e) to the nearest integer with the 1.5*2^23 trick (branch-free, vectorises without -ffast-math)
  float t = x * 1.44269504088896341f + 12582912.0f;
  float n = t - 12582912.0f;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float z = r * r;
  float y = ((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r + 1.6666665459E-1f) * r +
            5.0000001201E-1f;
  y = y * z + r + 1.0f;
  int32_t ti;
  std::memcpy(&ti, &t, sizeof ti);
  int32_t e = (ti - 0x4B400000 + 127) << 23;
  float sc;
  std::memcpy(&sc, &e, sizeof sc);
  return y * sc;
}

// Runs fn(item, threadIndex) for item in [0, n) on up to g_threads threads (dynamic scheduling).
template <typename F>
void parallel_items(int64_t n, F fn) {
  int nt = int(std::min<int64_t>(g_threads, n));
  if (nt <= 1) {
    for (int64_t i = 0; i < n; i++) fn(i, 0);
    return;
  }
  std::atomic<int64_t> next(0);
  auto body = [&](int t) {
    for (int64_t i; (i = next.fetch_add(1)) < n;) fn(i, t);
  };
  std::vector<std::thread> ts;
  for (int t = 1; t < nt; t++) ts.emplace_back(body, t);
  body(0);
  for (auto& th : ts) th.join();
}

// While alive, OpenBLAS runs single-threaded (our own threads split the work instead).
struct BlasSingleThread {
  int prev;
  bool active;
  explicit BlasSingleThread(bool on) : prev(openblas_get_num_threads()), active(on && prev > 1) {
    if (active) openblas_set_num_threads(1);
  }
  ~BlasSingleThread() {
    if (active) openblas_set_num_threads(prev);
  }
};

constexpr int64_t ATT_BLOCK = 64;

// Runs fn(begin, end) over [0, n), split across up to g_threads threads when the work is large enough.
template <typename F>
void parallel_for(int64_t n, int64_t work_per_item, F fn) {
  int nt = g_threads;
  if (nt <= 1 || n < 2 || n * work_per_item < (int64_t(1) << 20)) {
    fn(int64_t(0), n);
    return;
  }
  if (nt > n) nt = int(n);
  std::vector<std::thread> ts;
  int64_t chunk = (n + nt - 1) / nt;
  for (int t = 1; t < nt; t++) {
    int64_t b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) ts.emplace_back([=]() { fn(b, e); });
  }
  fn(0, std::min(n, chunk));
  for (auto& th : ts) th.join();
}

struct Args {
  napi_env env;
  size_t argc;
  napi_value argv[20];
  bool ok = true;
};

void throw_err(napi_env env, const std::string& msg) { napi_throw_error(env, nullptr, msg.c_str()); }

bool get_args(napi_env env, napi_callback_info info, Args& a, size_t want) {
  a.env = env;
  a.argc = 20;
  napi_get_cb_info(env, info, &a.argc, a.argv, nullptr, nullptr);
  if (a.argc < want) {
    throw_err(env, "batcoder kernels: expected " + std::to_string(want) + " arguments, got " + std::to_string(a.argc));
    return false;
  }
  return true;
}

float* f32(Args& a, size_t i, size_t* len = nullptr, bool nullable = false) {
  if (!a.ok) return nullptr;
  napi_valuetype vt;
  napi_typeof(a.env, a.argv[i], &vt);
  if (nullable && (vt == napi_null || vt == napi_undefined)) {
    if (len) *len = 0;
    return nullptr;
  }
  bool is_ta = false;
  napi_is_typedarray(a.env, a.argv[i], &is_ta);
  if (!is_ta) {
    a.ok = false;
    throw_err(a.env, "batcoder kernels: argument " + std::to_string(i) + " must be a Float32Array");
    return nullptr;
  }
  napi_typedarray_type t;
  size_t n;
  void* data;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(a.env, a.argv[i], &t, &n, &data, &ab, &off);
  if (t != napi_float32_array) {
    a.ok = false;
    throw_err(a.env, "batcoder kernels: argument " + std::to_string(i) + " must be a Float32Array");
    return nullptr;
  }
  if (len) *len = n;
  return static_cast<float*>(data);
}

int32_t* i32arr(Args& a, size_t i, size_t* len = nullptr) {
  if (!a.ok) return nullptr;
  bool is_ta = false;
  napi_is_typedarray(a.env, a.argv[i], &is_ta);
  napi_typedarray_type t = napi_int8_array;
  size_t n = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off;
  if (is_ta) napi_get_typedarray_info(a.env, a.argv[i], &t, &n, &data, &ab, &off);
  if (!is_ta || t != napi_int32_array) {
    a.ok = false;
    throw_err(a.env, "batcoder kernels: argument " + std::to_string(i) + " must be an Int32Array");
    return nullptr;
  }
  if (len) *len = n;
  return static_cast<int32_t*>(data);
}

double num(Args& a, size_t i) {
  double v = 0;
  if (!a.ok) return 0;
  if (napi_get_value_double(a.env, a.argv[i], &v) != napi_ok) {
    a.ok = false;
    throw_err(a.env, "batcoder kernels: argument " + std::to_string(i) + " must be a number");
  }
  return v;
}

int64_t inum(Args& a, size_t i) { return int64_t(num(a, i)); }

bool boolean(Args& a, size_t i) {
  bool v = false;
  napi_get_value_bool(a.env, a.argv[i], &v);
  return v;
}

napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

bool check(Args& a, bool cond, const char* what) {
  if (a.ok && !cond) {
    a.ok = false;
    throw_err(a.env, std::string("batcoder kernels: ") + what);
  }
  return a.ok;
}

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha op(A) op(B) + beta C (row-major)
napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 13)) return nullptr;
  bool ta = boolean(a, 0), tb = boolean(a, 1);
  int64_t M = inum(a, 2), N = inum(a, 3), K = inum(a, 4);
  float alpha = float(num(a, 5));
  size_t la, lb, lc;
  float* A = f32(a, 6, &la);
  int64_t lda = inum(a, 7);
  float* B = f32(a, 8, &lb);
  int64_t ldb = inum(a, 9);
  float beta = float(num(a, 10));
  float* C = f32(a, 11, &lc);
  int64_t ldc = inum(a, 12);
  if (!a.ok) return nullptr;
  if (M == 0 || N == 0) return undef(env);
  // bounds: last element touched in each matrix
  int64_t needA = ta ? (K - 1) * lda + M : (M - 1) * lda + K;
  int64_t needB = tb ? (N - 1) * ldb + K : (K - 1) * ldb + N;
  int64_t needC = (M - 1) * ldc + N;
  if (K > 0 && !check(a, needA <= int64_t(la) && needB <= int64_t(lb), "sgemm: A or B too small")) return nullptr;
  if (!check(a, needC <= int64_t(lc), "sgemm: C too small")) return nullptr;
  if (K == 0) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return undef(env);
  }
  // Small products (decoding steps, gemv) run on the calling thread: waking OpenBLAS's worker threads costs more
  // than it saves there, and much more on a loaded machine.
  BlasSingleThread guard(M * N * K < (int64_t(1) << 22));
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), alpha,
              A, int(lda), B, int(ldb), beta, C, int(ldc));
  return undef(env);
}

// rmsnormFwd(x, w, out, rstd, N, d, eps)
napi_value RmsnormFwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 7)) return nullptr;
  size_t lx, lw, lo, lr;
  float* x = f32(a, 0, &lx);
  float* w = f32(a, 1, &lw);
  float* out = f32(a, 2, &lo);
  float* rstd = f32(a, 3, &lr);
  int64_t N = inum(a, 4), d = inum(a, 5);
  float eps = float(num(a, 6));
  if (!a.ok || !check(a, lx >= size_t(N * d) && lo >= size_t(N * d) && lw >= size_t(d) && lr >= size_t(N), "rmsnormFwd: sizes")) return nullptr;
  parallel_for(N, d, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float* xi = x + i * d;
      float* oi = out + i * d;
      float ss = 0.f;
#pragma omp simd reduction(+ : ss)
      for (int64_t j = 0; j < d; j++) ss += xi[j] * xi[j];
      float r = 1.0f / std::sqrt(ss / float(d) + eps);
      rstd[i] = r;
      for (int64_t j = 0; j < d; j++) oi[j] = xi[j] * r * w[j];
    }
  });
  return undef(env);
}

// rmsnormBwd(dout, x, w, rstd, dx, dw, N, d): dx += ..., dw += ...
napi_value RmsnormBwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 8)) return nullptr;
  size_t l0, l1, l2, l3, l4, l5;
  float* dout = f32(a, 0, &l0);
  float* x = f32(a, 1, &l1);
  float* w = f32(a, 2, &l2);
  float* rstd = f32(a, 3, &l3);
  float* dx = f32(a, 4, &l4);
  float* dw = f32(a, 5, &l5);
  int64_t N = inum(a, 6), d = inum(a, 7);
  size_t nd = size_t(N * d);
  if (!a.ok || !check(a, l0 >= nd && l1 >= nd && l4 >= nd && l2 >= size_t(d) && l5 >= size_t(d) && l3 >= size_t(N), "rmsnormBwd: sizes")) return nullptr;
  int nt = (g_threads > 1 && N * d >= (int64_t(1) << 20)) ? g_threads : 1;
  std::vector<std::vector<float>> part(nt, std::vector<float>(d, 0.f));
  auto body = [&](int t, int64_t b, int64_t e) {
    float* pw = part[t].data();
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
      for (int64_t j = 0; j < d; j++) dxi[j] += r * gi[j] * w[j] - c * xi[j];
    }
  };
  if (nt == 1) {
    body(0, 0, N);
  } else {
    std::vector<std::thread> ts;
    int64_t chunk = (N + nt - 1) / nt;
    for (int t = 1; t < nt; t++) {
      int64_t b = t * chunk, e = std::min(N, b + chunk);
      if (b < e) ts.emplace_back([&, t, b, e]() { body(t, b, e); });
    }
    body(0, 0, std::min(N, chunk));
    for (auto& th : ts) th.join();
  }
  for (int t = 0; t < nt; t++)
    for (int64_t j = 0; j < d; j++) dw[j] += part[t][j];
  return undef(env);
}

// rope(x, N, nHeads, hd, positions, cos, sin, sign): rotate pairs (i, i+hd/2) of each head in place;
// cos/sin tables are [maxPos, hd/2]; sign=-1 applies the inverse rotation (used by the backward pass).
napi_value Rope(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 8)) return nullptr;
  size_t lx, lp, lc, ls;
  float* x = f32(a, 0, &lx);
  int64_t N = inum(a, 1), H = inum(a, 2), hd = inum(a, 3);
  int32_t* pos = i32arr(a, 4, &lp);
  float* cs = f32(a, 5, &lc);
  float* sn = f32(a, 6, &ls);
  float sign = float(num(a, 7));
  if (!a.ok || !check(a, lx >= size_t(N * H * hd) && lp >= size_t(N), "rope: sizes")) return nullptr;
  int64_t half = hd / 2;
  int64_t maxPos = int64_t(lc) / half;
  for (int64_t i = 0; i < N; i++)
    if (!check(a, pos[i] >= 0 && pos[i] < maxPos, "rope: position out of range")) return nullptr;
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
  return undef(env);
}

// Softmax of the rows of S (rows x cols, leading dimension cols) in place, row ii attends to columns
// 0..firstRow+ii (causal); writes lse[ii*lseStride].
void causal_softmax_block(float* S, int64_t rows, int64_t cols, int64_t firstRow, float* lse, int64_t lseStride) {
  for (int64_t ii = 0; ii < rows; ii++) {
    float* r = S + ii * cols;
    int64_t n = firstRow + ii + 1;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < n; j++) m = std::max(m, r[j]);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; j++) {
      float e = fexp(r[j] - m);
      r[j] = e;
      sum += e;
    }
    float inv = 1.f / sum;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) r[j] *= inv;
    for (int64_t j = n; j < cols; j++) r[j] = 0.f;
    lse[ii * lseStride] = m + std::log(sum);
  }
}

struct AttnShape {
  int64_t H, Hkv, hd, qs, ks, grp;
  float scale;
};

// Causal attention of one (segment, kv group): every query head of the group, in row blocks of ATT_BLOCK so only
// the lower-triangular part of the score matrix is computed.
void attn_fwd_item(const AttnShape& A, const float* q, const float* k, const float* v, float* out, float* lse, int64_t s0, int64_t T,
                   int64_t g, float* S) {
  for (int64_t h = g * A.grp; h < (g + 1) * A.grp; h++) {
    for (int64_t b0 = 0; b0 < T; b0 += ATT_BLOCK) {
      int64_t rows = std::min(ATT_BLOCK, T - b0), cols = b0 + rows;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(cols), int(A.hd), A.scale, q + (s0 + b0) * A.qs + h * A.hd,
                  int(A.qs), k + s0 * A.ks + g * A.hd, int(A.ks), 0.f, S, int(cols));
      causal_softmax_block(S, rows, cols, b0, lse + (s0 + b0) * A.H + h, A.H);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(A.hd), int(cols), 1.f, S, int(cols), v + s0 * A.ks + g * A.hd,
                  int(A.ks), 0.f, out + (s0 + b0) * A.qs + h * A.hd, int(A.qs));
    }
  }
}

void attn_bwd_item(const AttnShape& A, const float* dout, const float* q, const float* k, const float* v, const float* out, const float* lse,
                   float* dq, float* dk, float* dv, int64_t s0, int64_t T, int64_t g, float* P, float* dP) {
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
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(cols), int(A.hd), A.scale, qh, int(A.qs), kg, int(A.ks), 0.f, P,
                  int(cols));
      // dP = dO V^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(cols), int(A.hd), 1.f, doh, int(A.qs), vg, int(A.ks), 0.f, dP,
                  int(cols));
      for (int64_t ii = 0; ii < rows; ii++) {
        float* pr = P + ii * cols;
        float* dr = dP + ii * cols;
        float L = lse[(s0 + b0 + ii) * A.H + h];
        int64_t n = b0 + ii + 1;
        float D = 0.f;
        const float* dor = doh + ii * A.qs;
        const float* orow = oh + ii * A.qs;
#pragma omp simd reduction(+ : D)
        for (int64_t c = 0; c < A.hd; c++) D += dor[c] * orow[c];
#pragma omp simd
        for (int64_t j = 0; j < n; j++) {
          float p = fexp(pr[j] - L);
          pr[j] = p;
          dr[j] = p * (dr[j] - D);
        }
        for (int64_t j = n; j < cols; j++) pr[j] = dr[j] = 0.f;
      }
      // dV += P^T dO ; dQ = scale dS K ; dK += scale dS^T Q
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(cols), int(A.hd), int(rows), 1.f, P, int(cols), doh, int(A.qs), 1.f, dvg,
                  int(A.ks));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(A.hd), int(cols), A.scale, dP, int(cols), kg, int(A.ks), 0.f,
                  dq + (s0 + b0) * A.qs + h * A.hd, int(A.qs));
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(cols), int(A.hd), int(rows), A.scale, dP, int(cols), qh, int(A.qs), 1.f, dkg,
                  int(A.ks));
    }
  }
}

// attnFwd(q, k, v, out, lse, segStart, segLen, H, Hkv, hd): causal attention per segment and head.
// q/out: [N, H*hd]; k/v: [N, Hkv*hd]; lse: [N, H] (log-sum-exp of scaled scores, kept for the backward pass).
napi_value AttnFwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 10)) return nullptr;
  size_t lq, lk, lv, lo, ll, ls1, ls2;
  float* q = f32(a, 0, &lq);
  float* k = f32(a, 1, &lk);
  float* v = f32(a, 2, &lv);
  float* out = f32(a, 3, &lo);
  float* lse = f32(a, 4, &ll);
  int32_t* segStart = i32arr(a, 5, &ls1);
  int32_t* segLen = i32arr(a, 6, &ls2);
  int64_t H = inum(a, 7), Hkv = inum(a, 8), hd = inum(a, 9);
  if (!a.ok || !check(a, ls1 == ls2 && H > 0 && Hkv > 0 && H % Hkv == 0, "attnFwd: bad segments or head counts")) return nullptr;
  AttnShape A{H, Hkv, hd, H * hd, Hkv * hd, H / Hkv, 1.0f / std::sqrt(float(hd))};
  int64_t maxT = 0;
  for (size_t s = 0; s < ls1; s++) {
    int64_t s0 = segStart[s], T = segLen[s];
    if (!check(a, s0 >= 0 && T >= 0 && size_t((s0 + T) * A.qs) <= lq && size_t((s0 + T) * A.qs) <= lo && size_t((s0 + T) * A.ks) <= lk &&
                      size_t((s0 + T) * A.ks) <= lv && size_t((s0 + T) * H) <= ll,
               "attnFwd: segment out of range"))
      return nullptr;
    maxT = std::max(maxT, T);
  }
  int64_t items = int64_t(ls1) * Hkv;
  bool split = items >= g_threads && g_threads > 1;
  BlasSingleThread guard(split);
  std::vector<std::vector<float>> scratch(size_t(split ? g_threads : 1), std::vector<float>(size_t(std::min(ATT_BLOCK, maxT) * maxT)));
  auto fn = [&](int64_t item, int t) {
    int64_t s = item / Hkv, g = item % Hkv;
    if (segLen[s] > 0) attn_fwd_item(A, q, k, v, out, lse, segStart[s], segLen[s], g, scratch[size_t(t)].data());
  };
  if (split) parallel_items(items, fn);
  else
    for (int64_t i = 0; i < items; i++) fn(i, 0);
  return undef(env);
}

// attnBwd(dout, q, k, v, out, lse, dq, dk, dv, segStart, segLen, H, Hkv, hd): dq is written, dk/dv accumulate (+=).
napi_value AttnBwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 14)) return nullptr;
  size_t l[9], ls1, ls2;
  float* dout = f32(a, 0, &l[0]);
  float* q = f32(a, 1, &l[1]);
  float* k = f32(a, 2, &l[2]);
  float* v = f32(a, 3, &l[3]);
  float* out = f32(a, 4, &l[4]);
  float* lse = f32(a, 5, &l[5]);
  float* dq = f32(a, 6, &l[6]);
  float* dk = f32(a, 7, &l[7]);
  float* dv = f32(a, 8, &l[8]);
  int32_t* segStart = i32arr(a, 9, &ls1);
  int32_t* segLen = i32arr(a, 10, &ls2);
  int64_t H = inum(a, 11), Hkv = inum(a, 12), hd = inum(a, 13);
  if (!a.ok || !check(a, ls1 == ls2 && H > 0 && Hkv > 0 && H % Hkv == 0, "attnBwd: bad segments or head counts")) return nullptr;
  AttnShape A{H, Hkv, hd, H * hd, Hkv * hd, H / Hkv, 1.0f / std::sqrt(float(hd))};
  int64_t maxT = 0;
  for (size_t s = 0; s < ls1; s++) {
    int64_t s0 = segStart[s], T = segLen[s];
    size_t endq = size_t((s0 + T) * A.qs), endk = size_t((s0 + T) * A.ks);
    if (!check(a, s0 >= 0 && T >= 0 && endq <= l[0] && endq <= l[1] && endq <= l[4] && endq <= l[6] && endk <= l[2] && endk <= l[3] &&
                      endk <= l[7] && endk <= l[8] && size_t((s0 + T) * H) <= l[5],
               "attnBwd: segment out of range"))
      return nullptr;
    maxT = std::max(maxT, T);
  }
  int64_t items = int64_t(ls1) * Hkv;
  bool split = items >= g_threads && g_threads > 1;
  BlasSingleThread guard(split);
  size_t scr = size_t(std::min(ATT_BLOCK, maxT) * maxT);
  std::vector<std::vector<float>> P(size_t(split ? g_threads : 1), std::vector<float>(scr)), dP(P);
  auto fn = [&](int64_t item, int t) {
    int64_t s = item / Hkv, g = item % Hkv;
    if (segLen[s] > 0) attn_bwd_item(A, dout, q, k, v, out, lse, dq, dk, dv, segStart[s], segLen[s], g, P[size_t(t)].data(), dP[size_t(t)].data());
  };
  if (split) parallel_items(items, fn);
  else
    for (int64_t i = 0; i < items; i++) fn(i, 0);
  return undef(env);
}

// attnCached(q, kc, vc, rowSlot, rowPos, out, H, Hkv, hd, maxLen): attention of R query rows against a KV cache
// laid out [slot, maxLen, Hkv*hd]; row r attends to positions 0..rowPos[r] of cache slot rowSlot[r].
napi_value AttnCached(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 10)) return nullptr;
  size_t lq, lk, lv, ls, lp, lo;
  float* q = f32(a, 0, &lq);
  float* kc = f32(a, 1, &lk);
  float* vc = f32(a, 2, &lv);
  int32_t* slot = i32arr(a, 3, &ls);
  int32_t* pos = i32arr(a, 4, &lp);
  float* out = f32(a, 5, &lo);
  int64_t H = inum(a, 6), Hkv = inum(a, 7), hd = inum(a, 8), maxLen = inum(a, 9);
  if (!a.ok || !check(a, ls == lp && lq >= ls * size_t(H * hd) && lo >= ls * size_t(H * hd), "attnCached: sizes")) return nullptr;
  int64_t R = int64_t(ls), qs = H * hd, ks = Hkv * hd, grp = H / Hkv;
  for (int64_t r = 0; r < R; r++)
    if (!check(a, pos[r] >= 0 && pos[r] < maxLen && slot[r] >= 0 && size_t((int64_t(slot[r]) + 1) * maxLen * ks) <= lk &&
                      size_t((int64_t(slot[r]) + 1) * maxLen * ks) <= lv,
               "attnCached: slot/position out of range"))
      return nullptr;
  float scale = 1.0f / std::sqrt(float(hd));
  int64_t avgLen = 0;
  for (int64_t r = 0; r < R; r++) avgLen += pos[r] + 1;
  avgLen = R ? avgLen / R : 0;
  // per (row, head): scores = K q (sgemv over the cached rows), softmax, out = V^T p (sgemv); items split over our
  // threads (OpenBLAS single-threaded inside) when the total work is large enough to pay for them
  bool split = g_threads > 1 && R * H >= 2 && R * H * avgLen * hd * 2 >= (int64_t(1) << 20);
  BlasSingleThread guard(true);
  std::vector<std::vector<float>> scratch(size_t(split ? g_threads : 1), std::vector<float>(static_cast<size_t>(maxLen)));
  auto fn = [&](int64_t idx, int t) {
    float* sc = scratch[size_t(t)].data();
    int64_t r = idx / H, h = idx % H, g = h / grp;
    int64_t L = pos[r] + 1;
    const float* qh = q + r * qs + h * hd;
    const float* kb = kc + int64_t(slot[r]) * maxLen * ks + g * hd;
    const float* vb = vc + int64_t(slot[r]) * maxLen * ks + g * hd;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(L), int(hd), scale, kb, int(ks), qh, 1, 0.f, sc, 1);
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < L; j++) m = std::max(m, sc[j]);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < L; j++) {
      sc[j] = fexp(sc[j] - m);
      sum += sc[j];
    }
    cblas_sgemv(CblasRowMajor, CblasTrans, int(L), int(hd), 1.f / sum, vb, int(ks), sc, 1, 0.f, out + r * qs + h * hd, 1);
  };
  if (split) parallel_items(R * H, fn);
  else
    for (int64_t i = 0; i < R * H; i++) fn(i, 0);
  return undef(env);
}

// swigluFwd(g, u, out, n): out = silu(g) * u
napi_value SwigluFwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 4)) return nullptr;
  size_t l0, l1, l2;
  float* g = f32(a, 0, &l0);
  float* u = f32(a, 1, &l1);
  float* o = f32(a, 2, &l2);
  int64_t n = inum(a, 3);
  if (!a.ok || !check(a, l0 >= size_t(n) && l1 >= size_t(n) && l2 >= size_t(n), "swigluFwd: sizes")) return nullptr;
  parallel_for(n, 8, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      float x = g[i];
      o[i] = x / (1.f + fexp(-x)) * u[i];
    }
  });
  return undef(env);
}

// swigluBwd(dout, g, u, dg, du, n): dg/du are written
napi_value SwigluBwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 6)) return nullptr;
  size_t l[5];
  float* d = f32(a, 0, &l[0]);
  float* g = f32(a, 1, &l[1]);
  float* u = f32(a, 2, &l[2]);
  float* dg = f32(a, 3, &l[3]);
  float* du = f32(a, 4, &l[4]);
  int64_t n = inum(a, 5);
  if (!a.ok) return nullptr;
  for (int i = 0; i < 5; i++)
    if (!check(a, l[i] >= size_t(n), "swigluBwd: sizes")) return nullptr;
  parallel_for(n, 8, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      float x = g[i];
      float s = 1.f / (1.f + fexp(-x));
      float gi = d[i];
      du[i] = gi * x * s;
      dg[i] = gi * u[i] * s * (1.f + x * (1.f - s));
    }
  });
  return undef(env);
}

// logsoftmaxFwd(logits, N, V, targets, logp, lse, ent|null): per row log-sum-exp, log p(target), entropy.
napi_value LogsoftmaxFwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 7)) return nullptr;
  size_t lz, lt, lp, ll, le;
  float* z = f32(a, 0, &lz);
  int64_t N = inum(a, 1), V = inum(a, 2);
  int32_t* tgt = i32arr(a, 3, &lt);
  float* logp = f32(a, 4, &lp);
  float* lse = f32(a, 5, &ll);
  float* ent = f32(a, 6, &le, true);
  if (!a.ok || !check(a, lz >= size_t(N * V) && lt >= size_t(N) && lp >= size_t(N) && ll >= size_t(N) && (!ent || le >= size_t(N)),
                      "logsoftmaxFwd: sizes"))
    return nullptr;
  for (int64_t i = 0; i < N; i++)
    if (!check(a, tgt[i] >= 0 && tgt[i] < V, "logsoftmaxFwd: target id out of range")) return nullptr;
  parallel_for(N, V, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float* r = z + i * V;
      float m = -INFINITY;
#pragma omp simd reduction(max : m)
      for (int64_t j = 0; j < V; j++) m = std::max(m, r[j]);
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
      if (ent) ent[i] = std::log(sum) - wsum / sum;
    }
  });
  return undef(env);
}

// logsoftmaxBwd(logits, N, V, targets, lse, gLogp, ent|null, gEnt|null): overwrites logits with dLoss/dlogits
// given dLoss/dlogp(target) per row (and dLoss/dentropy per row).
napi_value LogsoftmaxBwd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 8)) return nullptr;
  size_t lz, lt, ll, lg, le, lge;
  float* z = f32(a, 0, &lz);
  int64_t N = inum(a, 1), V = inum(a, 2);
  int32_t* tgt = i32arr(a, 3, &lt);
  float* lse = f32(a, 4, &ll);
  float* glp = f32(a, 5, &lg);
  float* ent = f32(a, 6, &le, true);
  float* gent = f32(a, 7, &lge, true);
  if (!a.ok || !check(a, lz >= size_t(N * V) && lt >= size_t(N) && ll >= size_t(N) && lg >= size_t(N), "logsoftmaxBwd: sizes")) return nullptr;
  bool useEnt = ent && gent;
  if (useEnt && !check(a, le >= size_t(N) && lge >= size_t(N), "logsoftmaxBwd: entropy sizes")) return nullptr;
  for (int64_t i = 0; i < N; i++)
    if (!check(a, tgt[i] >= 0 && tgt[i] < V, "logsoftmaxBwd: target id out of range")) return nullptr;
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
        for (int64_t j = 0; j < V; j++) r[j] = -gl * fexp(r[j] - L);
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
  return undef(env);
}

// sampleRows(z, R, V, params, uniforms, outTok, outLogp): for each row r of logits z [R, V], with
// params[3r..3r+2] = (temperature, topK, topP) and a uniform draw u = uniforms[r] in [0,1): temperature 0 is argmax;
// otherwise softmax(z/T) restricted to the topK largest logits (0 = all), then to the smallest most-likely set with
// mass >= topP, renormalised, and inverted at u. outLogp[r] = log softmax(z/T)[token] (temperature T > 0;
// temperature 1 when greedy): the distribution the RL loss uses, before top-k / top-p.
napi_value SampleRows(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 7)) return nullptr;
  size_t lz, lp, lu, lt, ll;
  float* z = f32(a, 0, &lz);
  int64_t R = inum(a, 1), V = inum(a, 2);
  float* prm = f32(a, 3, &lp);
  if (!a.ok) return nullptr;
  bool is_ta = false;
  napi_is_typedarray(env, a.argv[4], &is_ta);
  napi_typedarray_type ut = napi_int8_array;
  void* udata = nullptr;
  napi_value ab;
  size_t uoff;
  if (is_ta) napi_get_typedarray_info(env, a.argv[4], &ut, &lu, &udata, &ab, &uoff);
  if (!is_ta || ut != napi_float64_array) {
    throw_err(env, "batcoder kernels: argument 4 must be a Float64Array");
    return nullptr;
  }
  const double* uni = static_cast<const double*>(udata);
  int32_t* otok = i32arr(a, 5, &lt);
  float* olp = f32(a, 6, &ll);
  if (!a.ok || !check(a, lz >= size_t(R * V) && lp >= size_t(R * 3) && lu >= size_t(R) && lt >= size_t(R) && ll >= size_t(R), "sampleRows: sizes"))
    return nullptr;
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
    for (int64_t j = 0; j < V; j++) s1 += fexp(row[j] - m);
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
        // the nucleus is a prefix of the tokens sorted by weight: widen a threshold until the candidates hold enough mass
        double need = double(topP) * total;
        float thr = 1e-3f;
        for (;;) {
          ids.clear();
          double mass = 0;
          for (int64_t j = 0; j < V; j++)
            if (w[size_t(j)] >= thr && w[size_t(j)] > 0.f) {
              ids.push_back(int32_t(j));
              mass += w[size_t(j)];
            }
          if (mass >= need || thr == 0.f) break;
          thr = thr < 1e-30f ? 0.f : thr * 1e-3f;
        }
        std::sort(ids.begin(), ids.end(), [&](int32_t x, int32_t y) { return w[size_t(x)] > w[size_t(y)] || (w[size_t(x)] == w[size_t(y)] && x < y); });
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
        for (size_t i = 0; i < cut; i++) tot2 += w[size_t(ids[i])];
        double x = u * tot2;
        tok = ids[cut - 1];
        for (size_t i = 0; i < cut; i++) {
          x -= w[size_t(ids[i])];
          if (x < 0) {
            tok = ids[i];
            break;
          }
        }
      } else {
        double x = u * total;
        int64_t last = arg;
        tok = -1;
        for (int64_t j = 0; j < V; j++) {
          if (w[size_t(j)] == 0.f) continue;
          last = j;
          x -= w[size_t(j)];
          if (x < 0) {
            tok = j;
            break;
          }
        }
        if (tok < 0) tok = last;
      }
    }
    otok[r] = int32_t(tok);
    if (T > 0.f && T != 1.f) {
      // log softmax(z / T)[tok]: the sampling temperature's distribution (TRL / verl), before top-k / top-p
      float invT = 1.f / T;
      float sT = 0.f;
#pragma omp simd reduction(+ : sT)
      for (int64_t j = 0; j < V; j++) sT += fexp((row[j] - m) * invT);
      olp[r] = (row[tok] - m) * invT - std::log(sT);
    } else {
      olp[r] = row[tok] - lse;
    }
  }
  return undef(env);
}

// adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2): decoupled weight decay (p *= 1 - lr*wd), bias-corrected moments
napi_value Adamw(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 12)) return nullptr;
  size_t l[4];
  float* p = f32(a, 0, &l[0]);
  float* g = f32(a, 1, &l[1]);
  float* m = f32(a, 2, &l[2]);
  float* v = f32(a, 3, &l[3]);
  int64_t n = inum(a, 4);
  float lr = float(num(a, 5)), b1 = float(num(a, 6)), b2 = float(num(a, 7)), eps = float(num(a, 8)), wd = float(num(a, 9));
  float bc1 = float(num(a, 10)), bc2 = float(num(a, 11));
  if (!a.ok) return nullptr;
  for (int i = 0; i < 4; i++)
    if (!check(a, l[i] >= size_t(n), "adamw: sizes")) return nullptr;
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
  return undef(env);
}

// sumsq(x, n) -> double
napi_value Sumsq(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 2)) return nullptr;
  size_t l;
  float* x = f32(a, 0, &l);
  int64_t n = inum(a, 1);
  if (!a.ok || !check(a, l >= size_t(n), "sumsq: sizes")) return nullptr;
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++) s += double(x[i]) * double(x[i]);
  napi_value r;
  napi_create_double(env, s, &r);
  return r;
}

// axpy(y, x, alpha, n): y += alpha x
napi_value Axpy(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 4)) return nullptr;
  size_t ly, lx;
  float* y = f32(a, 0, &ly);
  float* x = f32(a, 1, &lx);
  float al = float(num(a, 2));
  int64_t n = inum(a, 3);
  if (!a.ok || !check(a, ly >= size_t(n) && lx >= size_t(n), "axpy: sizes")) return nullptr;
  parallel_for(n, 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) y[i] += al * x[i];
  });
  return undef(env);
}

// scale(x, alpha, n): x *= alpha
napi_value Scale(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 3)) return nullptr;
  size_t l;
  float* x = f32(a, 0, &l);
  float al = float(num(a, 1));
  int64_t n = inum(a, 2);
  if (!a.ok || !check(a, l >= size_t(n), "scale: sizes")) return nullptr;
  for (int64_t i = 0; i < n; i++) x[i] *= al;
  return undef(env);
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  const char* cfg = openblas_get_config();
  napi_create_string_utf8(env, cfg ? cfg : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "blasConfig", v);
  const char* core = openblas_get_corename();
  napi_create_string_utf8(env, core ? core : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "blasCore", v);
  napi_create_int32(env, openblas_get_num_threads(), &v);
  napi_set_named_property(env, obj, "blasThreads", v);
  napi_create_int32(env, g_threads, &v);
  napi_set_named_property(env, obj, "threads", v);
  return obj;
}

// setThreads(n): threads for OpenBLAS and for the element-wise kernels
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return nullptr;
  int n = int(inum(a, 0));
  if (!a.ok) return nullptr;
  if (n < 1) n = 1;
  g_threads = n;
  openblas_set_num_threads(n);
  return undef(env);
}

napi_value Init(napi_env env, napi_value exports) {
  struct {
    const char* name;
    napi_callback fn;
  } fns[] = {{"sgemm", Sgemm},         {"rmsnormFwd", RmsnormFwd}, {"rmsnormBwd", RmsnormBwd},       {"rope", Rope},
             {"attnFwd", AttnFwd},     {"attnBwd", AttnBwd},       {"attnCached", AttnCached},       {"swigluFwd", SwigluFwd},
             {"swigluBwd", SwigluBwd}, {"logsoftmaxFwd", LogsoftmaxFwd}, {"logsoftmaxBwd", LogsoftmaxBwd}, {"adamw", Adamw},
             {"sumsq", Sumsq},         {"axpy", Axpy},             {"scale", Scale},                 {"info", Info},
             {"setThreads", SetThreads},   {"sampleRows", SampleRows}};
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  unsigned hc = std::thread::hardware_concurrency();
  g_threads = hc > 0 ? int(std::min(hc, 8u)) : 2;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
