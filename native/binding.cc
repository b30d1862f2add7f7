// N-API glue of the batcoder kernels: unpacks each JavaScript call's arguments (typed arrays used in place, no
// copies), checks their types, sizes and index ranges, and calls the pure function in kernels.h. A bad call throws
// a JavaScript Error naming the kernel and what is wrong. Argument orders are documented on the `Kernels`
// interface in src/engine/kernels.ts.
#include <node_api.h>

#include <algorithm>
#include <initializer_list>
#include <string>

#include "kernels.h"
#include "parallel.h"

extern "C" {
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_num_threads(void);
}

namespace {

using namespace batcoder;

// One call's arguments. Getters record the first error (and throw it once); later getters then return null/0, so a
// wrapper unpacks everything, then returns early when !ok.
struct Args {
  napi_env env;
  const char* fn;
  size_t argc = 20;
  napi_value argv[20];
  bool ok = true;

  Args(napi_env e, napi_callback_info info, const char* name, size_t want) : env(e), fn(name) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    if (argc < want)
      fail("expected " + std::to_string(want) + " arguments, got " + std::to_string(argc));
  }

  void fail(const std::string& what) {
    if (!ok)
      return;
    ok = false;
    napi_throw_error(env, nullptr, (std::string("batcoder kernels: ") + fn + ": " + what).c_str());
  }

  // Condition check: throws "<fn>: <what>" when false.
  bool check(bool cond, const char* what) {
    if (ok && !cond)
      fail(what);
    return ok;
  }

  bool is_nullish(size_t i) {
    napi_valuetype vt;
    napi_typeof(env, argv[i], &vt);
    return vt == napi_null || vt == napi_undefined;
  }

  // Data and length of a typed array of the given type at argument i (null when nullable and null/undefined).
  void* typed(size_t i, napi_typedarray_type want, const char* tname, size_t* len, bool nullable) {
    *len = 0;
    if (!ok)
      return nullptr;
    if (nullable && is_nullish(i))
      return nullptr;
    bool is_ta = false;
    napi_is_typedarray(env, argv[i], &is_ta);
    napi_typedarray_type t = napi_int8_array;
    void* data = nullptr;
    napi_value ab;
    size_t off;
    if (is_ta)
      napi_get_typedarray_info(env, argv[i], &t, len, &data, &ab, &off);
    if (!is_ta || t != want) {
      fail("argument " + std::to_string(i) + " must be " + (nullable ? "null or " : "") + "a" + tname);
      return nullptr;
    }
    return data;
  }
  float* f32(size_t i, size_t* len, bool nullable = false) {
    return static_cast<float*>(typed(i, napi_float32_array, " Float32Array", len, nullable));
  }
  int32_t* i32(size_t i, size_t* len) {
    return static_cast<int32_t*>(typed(i, napi_int32_array, "n Int32Array", len, false));
  }
  double* f64(size_t i, size_t* len) {
    return static_cast<double*>(typed(i, napi_float64_array, " Float64Array", len, false));
  }
  uint16_t* u16(size_t i, size_t* len) {
    return static_cast<uint16_t*>(typed(i, napi_uint16_array, " Uint16Array", len, false));
  }
  uint8_t* u8(size_t i, size_t* len) {
    return static_cast<uint8_t*>(typed(i, napi_uint8_array, " Uint8Array", len, false));
  }

  double num(size_t i) {
    double v = 0;
    if (ok && napi_get_value_double(env, argv[i], &v) != napi_ok)
      fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  int64_t inum(size_t i) {
    double v = num(i);
    if (ok && !(v >= 0 && v <= 9007199254740991.0 && v == double(int64_t(v))))
      fail("argument " + std::to_string(i) + " must be a count >= 0");
    return int64_t(v);
  }
  bool boolean(size_t i) {
    bool v = false;
    napi_get_value_bool(env, argv[i], &v);
    return v;
  }
  // "bf16" | "f16" at argument i
  Half half(size_t i) {
    char buf[8] = {0};
    size_t n = 0;
    if (ok && napi_get_value_string_utf8(env, argv[i], buf, sizeof buf, &n) != napi_ok)
      fail("argument " + std::to_string(i) + " must be a string");
    std::string s(buf, n);
    if (ok && s != "bf16" && s != "f16")
      fail("argument " + std::to_string(i) + " must be \"bf16\" or \"f16\", got \"" + s + "\"");
    return s == "f16" ? Half::F16 : Half::BF16;
  }
};

napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

bool fits(size_t len, int64_t need) {
  return need <= 0 || len >= size_t(need);
}

// Every index in idx[0..n) lies in [0, limit).
bool all_in_range(const int32_t* idx, int64_t n, int64_t limit) {
  for (int64_t i = 0; i < n; i++)
    if (idx[i] < 0 || idx[i] >= limit)
      return false;
  return true;
}

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a(env, info, "sgemm", 13);
  bool ta = a.boolean(0), tb = a.boolean(1);
  int64_t M = a.inum(2), N = a.inum(3), K = a.inum(4);
  float alpha = float(a.num(5));
  size_t la, lb, lc;
  float* A = a.f32(6, &la);
  int64_t lda = a.inum(7);
  float* B = a.f32(8, &lb);
  int64_t ldb = a.inum(9);
  float beta = float(a.num(10));
  float* C = a.f32(11, &lc);
  int64_t ldc = a.inum(12);
  if (!a.ok)
    return nullptr;
  if (M == 0 || N == 0)
    return undef(env);
  // bounds: last element touched in each matrix
  int64_t needA = ta ? (K - 1) * lda + M : (M - 1) * lda + K;
  int64_t needB = tb ? (N - 1) * ldb + K : (K - 1) * ldb + N;
  if (K > 0 && !a.check(fits(la, needA) && fits(lb, needB), "A or B too small"))
    return nullptr;
  if (!a.check(fits(lc, (M - 1) * ldc + N), "C too small"))
    return nullptr;
  sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return undef(env);
}

// linearFwd(x, W, bias|null, out, N, inDim, outDim, accumulate?)
napi_value LinearFwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "linearFwd", 7);
  size_t lx, lw, lb, lo;
  float* x = a.f32(0, &lx);
  float* W = a.f32(1, &lw);
  float* bias = a.f32(2, &lb, true);
  float* out = a.f32(3, &lo);
  int64_t N = a.inum(4), in = a.inum(5), outDim = a.inum(6);
  if (!a.check(fits(lx, N * in) && fits(lw, outDim * in) && fits(lo, N * outDim) && (!bias || fits(lb, outDim)),
               "sizes"))
    return nullptr;
  linear_forward(x, W, bias, out, N, in, outDim, a.boolean(7));
  return undef(env);
}

// linearBwd(dout, x, W, dx, dW|null, dbias|null, N, inDim, outDim, accumulate)
napi_value LinearBwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "linearBwd", 10);
  size_t ld, lx, lw, ldx, ldw, ldb;
  float* dout = a.f32(0, &ld);
  float* x = a.f32(1, &lx);
  float* W = a.f32(2, &lw);
  float* dx = a.f32(3, &ldx);
  float* dW = a.f32(4, &ldw, true);
  float* db = a.f32(5, &ldb, true);
  int64_t N = a.inum(6), in = a.inum(7), outDim = a.inum(8);
  bool acc = a.boolean(9);
  if (!a.check(fits(ld, N * outDim) && fits(lx, N * in) && fits(lw, outDim * in) && fits(ldx, N * in) &&
                   (!dW || fits(ldw, outDim * in)) && (!db || fits(ldb, outDim)),
               "sizes"))
    return nullptr;
  linear_backward(dout, x, W, dx, dW, db, N, in, outDim, acc);
  return undef(env);
}

// linearFwdHalf(x, W: Uint16Array, "bf16"|"f16", bias|null, out, N, inDim, outDim, accumulate?)
napi_value LinearFwdHalf(napi_env env, napi_callback_info info) {
  Args a(env, info, "linearFwdHalf", 8);
  size_t lx, lw, lb, lo;
  float* x = a.f32(0, &lx);
  uint16_t* W = a.u16(1, &lw);
  Half type = a.half(2);
  float* bias = a.f32(3, &lb, true);
  float* out = a.f32(4, &lo);
  int64_t N = a.inum(5), in = a.inum(6), outDim = a.inum(7);
  if (!a.check(fits(lx, N * in) && fits(lw, outDim * in) && fits(lo, N * outDim) && (!bias || fits(lb, outDim)),
               "sizes"))
    return nullptr;
  linear_forward_half(x, W, type, bias, out, N, in, outDim, a.boolean(8));
  return undef(env);
}

// linearBwdHalf(dout, W: Uint16Array, "bf16"|"f16", dx, N, inDim, outDim, accumulate)
napi_value LinearBwdHalf(napi_env env, napi_callback_info info) {
  Args a(env, info, "linearBwdHalf", 8);
  size_t ld, lw, ldx;
  float* dout = a.f32(0, &ld);
  uint16_t* W = a.u16(1, &lw);
  Half type = a.half(2);
  float* dx = a.f32(3, &ldx);
  int64_t N = a.inum(4), in = a.inum(5), outDim = a.inum(6);
  bool acc = a.boolean(7);
  if (!a.check(fits(ld, N * outDim) && fits(lw, outDim * in) && fits(ldx, N * in), "sizes"))
    return nullptr;
  linear_backward_half(dout, W, type, dx, N, in, outDim, acc);
  return undef(env);
}

// halfToF32(src: Uint16Array, "bf16"|"f16", dst, n)
napi_value HalfToF32(napi_env env, napi_callback_info info) {
  Args a(env, info, "halfToF32", 4);
  size_t ls, ld;
  uint16_t* src = a.u16(0, &ls);
  Half type = a.half(1);
  float* dst = a.f32(2, &ld);
  int64_t n = a.inum(3);
  if (!a.check(fits(ls, n) && fits(ld, n), "sizes"))
    return nullptr;
  half_to_f32(src, type, dst, n);
  return undef(env);
}

// f32ToHalf(src, "bf16"|"f16", dst: Uint16Array, n)
napi_value F32ToHalf(napi_env env, napi_callback_info info) {
  Args a(env, info, "f32ToHalf", 4);
  size_t ls, ld;
  float* src = a.f32(0, &ls);
  Half type = a.half(1);
  uint16_t* dst = a.u16(2, &ld);
  int64_t n = a.inum(3);
  if (!a.check(fits(ls, n) && fits(ld, n), "sizes"))
    return nullptr;
  f32_to_half(src, type, dst, n);
  return undef(env);
}

// dequantize(ggmlType, src: Uint8Array, dst, n): n a whole number of blocks
napi_value Dequantize(napi_env env, napi_callback_info info) {
  Args a(env, info, "dequantize", 4);
  int64_t type = a.inum(0);
  size_t ls, ld;
  uint8_t* src = a.u8(1, &ls);
  float* dst = a.f32(2, &ld);
  int64_t n = a.inum(3);
  if (!a.ok)
    return nullptr;
  int64_t vals = ggml_block_values(int(type)), bytes = ggml_block_bytes(int(type));
  if (!a.check(vals > 0, "unsupported ggml type (supported: F32=0, F16=1, Q8_0=8, Q4_K=12, Q6_K=14, BF16=30)"))
    return nullptr;
  if (!a.check(n % vals == 0, "n is not a whole number of blocks"))
    return nullptr;
  if (!a.check(fits(ls, n / vals * bytes) && fits(ld, n), "sizes"))
    return nullptr;
  dequantize(int(type), src, dst, n);
  return undef(env);
}

// rmsnormFwd(x, w, out, rstd, N, d, eps)
napi_value RmsnormFwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsnormFwd", 7);
  size_t lx, lw, lo, lr;
  float* x = a.f32(0, &lx);
  float* w = a.f32(1, &lw);
  float* out = a.f32(2, &lo);
  float* rstd = a.f32(3, &lr);
  int64_t N = a.inum(4), d = a.inum(5);
  float eps = float(a.num(6));
  if (!a.check(fits(lx, N * d) && fits(lo, N * d) && fits(lw, d) && fits(lr, N), "sizes"))
    return nullptr;
  rmsnorm_forward(x, w, out, rstd, N, d, eps);
  return undef(env);
}

// rmsnormBwd(dout, x, w, rstd, dx, dw, N, d)
napi_value RmsnormBwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsnormBwd", 8);
  size_t l0, l1, l2, l3, l4, l5;
  float* dout = a.f32(0, &l0);
  float* x = a.f32(1, &l1);
  float* w = a.f32(2, &l2);
  float* rstd = a.f32(3, &l3);
  float* dx = a.f32(4, &l4);
  float* dw = a.f32(5, &l5);
  int64_t N = a.inum(6), d = a.inum(7);
  if (!a.check(fits(l0, N * d) && fits(l1, N * d) && fits(l4, N * d) && fits(l2, d) && fits(l5, d) && fits(l3, N),
               "sizes"))
    return nullptr;
  rmsnorm_backward(dout, x, w, rstd, dx, dw, N, d);
  return undef(env);
}

// rope(x, N, nHeads, hd, positions, cos, sin, sign)
napi_value Rope(napi_env env, napi_callback_info info) {
  Args a(env, info, "rope", 8);
  size_t lx, lp, lc, ls;
  float* x = a.f32(0, &lx);
  int64_t N = a.inum(1), H = a.inum(2), hd = a.inum(3);
  int32_t* pos = a.i32(4, &lp);
  float* cs = a.f32(5, &lc);
  float* sn = a.f32(6, &ls);
  float sign = float(a.num(7));
  if (!a.check(fits(lx, N * H * hd) && fits(lp, N) && hd % 2 == 0 && hd > 0 && ls == lc, "sizes"))
    return nullptr;
  if (!a.check(all_in_range(pos, N, int64_t(lc) / (hd / 2)), "position out of range"))
    return nullptr;
  batcoder::rope(x, N, H, hd, pos, cs, sn, sign);
  return undef(env);
}

// Checks shared by attnFwd and attnBwd: segment arrays of one length, head counts, and every segment inside the
// q-shaped ([N, H*hd]), kv-shaped ([N, Hkv*hd]) and lse ([N, H]) arrays.
bool check_segments(Args& a, size_t ls1, size_t ls2, const int32_t* segStart, const int32_t* segLen, int64_t H,
                    int64_t Hkv, int64_t hd, std::initializer_list<size_t> qLens, std::initializer_list<size_t> kvLens,
                    size_t lseLen) {
  if (!a.check(ls1 == ls2 && H > 0 && Hkv > 0 && H % Hkv == 0, "bad segments or head counts"))
    return false;
  for (size_t s = 0; s < ls1; s++) {
    int64_t s0 = segStart[s], T = segLen[s], end = s0 + T;
    bool ok = s0 >= 0 && T >= 0 && fits(lseLen, end * H);
    for (size_t l : qLens)
      ok = ok && fits(l, end * H * hd);
    for (size_t l : kvLens)
      ok = ok && fits(l, end * Hkv * hd);
    if (!a.check(ok, "segment out of range"))
      return false;
  }
  return true;
}

// attnFwd(q, k, v, out, lse, segStart, segLen, H, Hkv, hd)
napi_value AttnFwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "attnFwd", 10);
  size_t lq, lk, lv, lo, ll, ls1, ls2;
  float* q = a.f32(0, &lq);
  float* k = a.f32(1, &lk);
  float* v = a.f32(2, &lv);
  float* out = a.f32(3, &lo);
  float* lse = a.f32(4, &ll);
  int32_t* segStart = a.i32(5, &ls1);
  int32_t* segLen = a.i32(6, &ls2);
  int64_t H = a.inum(7), Hkv = a.inum(8), hd = a.inum(9);
  if (!a.ok || !check_segments(a, ls1, ls2, segStart, segLen, H, Hkv, hd, {lq, lo}, {lk, lv}, ll))
    return nullptr;
  attention_forward(q, k, v, out, lse, segStart, segLen, int64_t(ls1), H, Hkv, hd);
  return undef(env);
}

// attnBwd(dout, q, k, v, out, lse, dq, dk, dv, segStart, segLen, H, Hkv, hd)
napi_value AttnBwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "attnBwd", 14);
  size_t l[9], ls1, ls2;
  float* dout = a.f32(0, &l[0]);
  float* q = a.f32(1, &l[1]);
  float* k = a.f32(2, &l[2]);
  float* v = a.f32(3, &l[3]);
  float* out = a.f32(4, &l[4]);
  float* lse = a.f32(5, &l[5]);
  float* dq = a.f32(6, &l[6]);
  float* dk = a.f32(7, &l[7]);
  float* dv = a.f32(8, &l[8]);
  int32_t* segStart = a.i32(9, &ls1);
  int32_t* segLen = a.i32(10, &ls2);
  int64_t H = a.inum(11), Hkv = a.inum(12), hd = a.inum(13);
  if (!a.ok || !check_segments(a, ls1, ls2, segStart, segLen, H, Hkv, hd, {l[0], l[1], l[4], l[6]},
                               {l[2], l[3], l[7], l[8]}, l[5]))
    return nullptr;
  attention_backward(dout, q, k, v, out, lse, dq, dk, dv, segStart, segLen, int64_t(ls1), H, Hkv, hd);
  return undef(env);
}

// attnCached(q, kc, vc, rowSlot, rowPos, out, H, Hkv, hd, maxLen)
napi_value AttnCached(napi_env env, napi_callback_info info) {
  Args a(env, info, "attnCached", 10);
  size_t lq, lk, lv, ls, lp, lo;
  float* q = a.f32(0, &lq);
  float* kc = a.f32(1, &lk);
  float* vc = a.f32(2, &lv);
  int32_t* slot = a.i32(3, &ls);
  int32_t* pos = a.i32(4, &lp);
  float* out = a.f32(5, &lo);
  int64_t H = a.inum(6), Hkv = a.inum(7), hd = a.inum(8), maxLen = a.inum(9);
  if (!a.check(ls == lp && fits(lq, int64_t(ls) * H * hd) && fits(lo, int64_t(ls) * H * hd) && Hkv > 0 && H % Hkv == 0,
               "sizes"))
    return nullptr;
  int64_t R = int64_t(ls), slotFloats = maxLen * Hkv * hd;
  int64_t slots = slotFloats > 0 ? int64_t(std::min(lk, lv)) / slotFloats : 0;
  if (!a.check(all_in_range(pos, R, maxLen) && all_in_range(slot, R, slots), "slot/position out of range"))
    return nullptr;
  attention_cached(q, kc, vc, slot, pos, R, out, H, Hkv, hd, maxLen);
  return undef(env);
}

// swigluFwd(g, u, out, n)
napi_value SwigluFwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluFwd", 4);
  size_t l0, l1, l2;
  float* g = a.f32(0, &l0);
  float* u = a.f32(1, &l1);
  float* o = a.f32(2, &l2);
  int64_t n = a.inum(3);
  if (!a.check(fits(l0, n) && fits(l1, n) && fits(l2, n), "sizes"))
    return nullptr;
  swiglu_forward(g, u, o, n);
  return undef(env);
}

// swigluBwd(dout, g, u, dg, du, n)
napi_value SwigluBwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluBwd", 6);
  size_t l[5];
  float* d = a.f32(0, &l[0]);
  float* g = a.f32(1, &l[1]);
  float* u = a.f32(2, &l[2]);
  float* dg = a.f32(3, &l[3]);
  float* du = a.f32(4, &l[4]);
  int64_t n = a.inum(5);
  if (!a.check(fits(l[0], n) && fits(l[1], n) && fits(l[2], n) && fits(l[3], n) && fits(l[4], n), "sizes"))
    return nullptr;
  swiglu_backward(d, g, u, dg, du, n);
  return undef(env);
}

// logsoftmaxFwd(logits, N, V, targets, logp, lse, ent|null)
napi_value LogsoftmaxFwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "logsoftmaxFwd", 7);
  size_t lz, lt, lp, ll, le;
  float* z = a.f32(0, &lz);
  int64_t N = a.inum(1), V = a.inum(2);
  int32_t* tgt = a.i32(3, &lt);
  float* logp = a.f32(4, &lp);
  float* lse = a.f32(5, &ll);
  float* ent = a.f32(6, &le, true);
  if (!a.check(fits(lz, N * V) && fits(lt, N) && fits(lp, N) && fits(ll, N) && (!ent || fits(le, N)), "sizes"))
    return nullptr;
  if (!a.check(all_in_range(tgt, N, V), "target id out of range"))
    return nullptr;
  logsoftmax_forward(z, N, V, tgt, logp, lse, ent);
  return undef(env);
}

// logsoftmaxBwd(logits, N, V, targets, lse, gLogp, ent|null, gEnt|null)
napi_value LogsoftmaxBwd(napi_env env, napi_callback_info info) {
  Args a(env, info, "logsoftmaxBwd", 8);
  size_t lz, lt, ll, lg, le, lge;
  float* z = a.f32(0, &lz);
  int64_t N = a.inum(1), V = a.inum(2);
  int32_t* tgt = a.i32(3, &lt);
  float* lse = a.f32(4, &ll);
  float* glp = a.f32(5, &lg);
  float* ent = a.f32(6, &le, true);
  float* gent = a.f32(7, &lge, true);
  if (!a.check(fits(lz, N * V) && fits(lt, N) && fits(ll, N) && fits(lg, N), "sizes"))
    return nullptr;
  if (ent && gent && !a.check(fits(le, N) && fits(lge, N), "entropy sizes"))
    return nullptr;
  if (!a.check(all_in_range(tgt, N, V), "target id out of range"))
    return nullptr;
  logsoftmax_backward(z, N, V, tgt, lse, glp, ent, gent);
  return undef(env);
}

// sampleRows(z, R, V, params, uniforms: Float64Array, outTok, outLogp); outLogp = log softmax(z / T)[token]
// (temperature T > 0; temperature 1 when greedy), before top-k / top-p
napi_value SampleRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "sampleRows", 7);
  size_t lz, lp, lu, lt, ll;
  float* z = a.f32(0, &lz);
  int64_t R = a.inum(1), V = a.inum(2);
  float* prm = a.f32(3, &lp);
  double* uni = a.f64(4, &lu);
  int32_t* otok = a.i32(5, &lt);
  float* olp = a.f32(6, &ll);
  if (!a.check(fits(lz, R * V) && fits(lp, R * 3) && fits(lu, R) && fits(lt, R) && fits(ll, R) && (R == 0 || V > 0),
               "sizes"))
    return nullptr;
  sample_rows(z, R, V, prm, uni, otok, olp);
  return undef(env);
}

// adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2)
napi_value Adamw(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamw", 12);
  size_t l[4];
  float* p = a.f32(0, &l[0]);
  float* g = a.f32(1, &l[1]);
  float* m = a.f32(2, &l[2]);
  float* v = a.f32(3, &l[3]);
  int64_t n = a.inum(4);
  float lr = float(a.num(5)), b1 = float(a.num(6)), b2 = float(a.num(7)), eps = float(a.num(8)), wd = float(a.num(9));
  float bc1 = float(a.num(10)), bc2 = float(a.num(11));
  if (!a.check(fits(l[0], n) && fits(l[1], n) && fits(l[2], n) && fits(l[3], n), "sizes"))
    return nullptr;
  adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2);
  return undef(env);
}

// sumsq(x, n) -> number
napi_value Sumsq(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumsq", 2);
  size_t l;
  float* x = a.f32(0, &l);
  int64_t n = a.inum(1);
  if (!a.check(fits(l, n), "sizes"))
    return nullptr;
  napi_value r;
  napi_create_double(env, sumsq(x, n), &r);
  return r;
}

// axpy(y, x, alpha, n)
napi_value Axpy(napi_env env, napi_callback_info info) {
  Args a(env, info, "axpy", 4);
  size_t ly, lx;
  float* y = a.f32(0, &ly);
  float* x = a.f32(1, &lx);
  float al = float(a.num(2));
  int64_t n = a.inum(3);
  if (!a.check(fits(ly, n) && fits(lx, n), "sizes"))
    return nullptr;
  axpy(y, x, al, n);
  return undef(env);
}

// scale(x, alpha, n)
napi_value Scale(napi_env env, napi_callback_info info) {
  Args a(env, info, "scale", 3);
  size_t l;
  float* x = a.f32(0, &l);
  float al = float(a.num(1));
  int64_t n = a.inum(2);
  if (!a.check(fits(l, n), "sizes"))
    return nullptr;
  scale(x, al, n);
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
  napi_create_int32(env, threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  return obj;
}

// setThreads(n): threads for OpenBLAS and for our kernels
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "setThreads", 1);
  int64_t n = a.inum(0);
  if (!a.ok)
    return nullptr;
  set_threads(int(std::min<int64_t>(n, 1023)));
  return undef(env);
}

napi_value Init(napi_env env, napi_value exports) {
  struct {
    const char* name;
    napi_callback fn;
  } fns[] = {{"sgemm", Sgemm},
             {"linearFwd", LinearFwd},
             {"linearBwd", LinearBwd},
             {"linearFwdHalf", LinearFwdHalf},
             {"linearBwdHalf", LinearBwdHalf},
             {"halfToF32", HalfToF32},
             {"f32ToHalf", F32ToHalf},
             {"dequantize", Dequantize},
             {"rmsnormFwd", RmsnormFwd},
             {"rmsnormBwd", RmsnormBwd},
             {"rope", Rope},
             {"attnFwd", AttnFwd},
             {"attnBwd", AttnBwd},
             {"attnCached", AttnCached},
             {"swigluFwd", SwigluFwd},
             {"swigluBwd", SwigluBwd},
             {"logsoftmaxFwd", LogsoftmaxFwd},
             {"logsoftmaxBwd", LogsoftmaxBwd},
             {"sampleRows", SampleRows},
             {"adamw", Adamw},
             {"sumsq", Sumsq},
             {"axpy", Axpy},
             {"scale", Scale},
             {"info", Info},
             {"setThreads", SetThreads}};
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
