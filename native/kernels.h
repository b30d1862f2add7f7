// batcoder native kernels: pure functions on raw pointers and sizes (no N-API; binding.cc unpacks and checks the
// JavaScript arguments and calls these). Layouts are row-major. Each function's semantics match the pure-TypeScript
// reference of the same name in src/engine/kernels.ts. Callers guarantee sizes and index ranges (binding.cc checks
// them); nothing here allocates more than per-call scratch.
#pragma once

#include <cstdint>

namespace batcoder {

// ---------------------------------------------------------------- f32 kernels (kernels.cc)

// C = alpha op(A) op(B) + beta C; op(A) is M x K, op(B) is K x N (OpenBLAS; single-threaded for small products).
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Backward of linear_forward (kernels.cc): dx = dout W (dx += when accumulate), dW += dout^T x, dbias += column sums of
// dout. dW and dbias may be null (frozen weight / no bias).
void linear_backward(const float* dout, const float* x, const float* W, float* dx, float* dW, float* dbias, int64_t N,
                     int64_t inDim, int64_t outDim, bool accumulate);

// out[i,:] = x[i,:] * rstd[i] * w, rstd[i] = 1/sqrt(mean(x[i,:]^2) + eps)
void rmsnorm_forward(const float* x, const float* w, float* out, float* rstd, int64_t N, int64_t d, float eps);
// dx += ..., dw += ...
void rmsnorm_backward(const float* dout, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t N, int64_t d);

// Rotate pairs (j, j + hd/2) of each head in place by the angle of positions[i]; cos/sin tables are [maxPos, hd/2];
// sign -1 rotates back (backward pass).
void rope(float* x, int64_t N, int64_t H, int64_t hd, const int32_t* positions, const float* cos, const float* sin,
          float sign);

// Causal attention within each of nseg segments [segStart, segStart + segLen). q/out [N, H*hd], k/v [N, Hkv*hd],
// lse [N, H] (log-sum-exp of the scaled scores, kept for the backward pass).
void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, const int32_t* segStart,
                       const int32_t* segLen, int64_t nseg, int64_t H, int64_t Hkv, int64_t hd);
// Backward of attention_forward: dq written, dk and dv accumulated.
void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
                        const float* lse, float* dq, float* dk, float* dv, const int32_t* segStart,
                        const int32_t* segLen, int64_t nseg, int64_t H, int64_t Hkv, int64_t hd);
// R query rows against a KV cache [slot, maxLen, Hkv*hd]: row r attends to positions 0..rowPos[r] of slot rowSlot[r].
void attention_cached(const float* q, const float* kc, const float* vc, const int32_t* rowSlot, const int32_t* rowPos,
                      int64_t R, float* out, int64_t H, int64_t Hkv, int64_t hd, int64_t maxLen);

// out = silu(g) * u
void swiglu_forward(const float* g, const float* u, float* out, int64_t n);
// dg, du written
void swiglu_backward(const float* dout, const float* g, const float* u, float* dg, float* du, int64_t n);

// Per row of logits [N, V]: lse, logp = logits[target] - lse, and (when ent is not null) the entropy.
void logsoftmax_forward(const float* logits, int64_t N, int64_t V, const int32_t* targets, float* logp, float* lse,
                        float* ent);
// Overwrites logits with dLoss/dlogits given dLoss/dlogp per row (and dLoss/dentropy per row when ent/gEnt given).
void logsoftmax_backward(float* logits, int64_t N, int64_t V, const int32_t* targets, const float* lse,
                         const float* gLogp, const float* ent, const float* gEnt);

// Token choice per row (temperature, top-k, top-p; see Kernels.sampleRows in src/engine/kernels.ts).
void sample_rows(const float* z, int64_t R, int64_t V, const float* params, const double* uniforms, int32_t* outTok,
                 float* outLogp);

// AdamW with decoupled weight decay (p *= 1 - lr*wd) and bias-corrected moments.
void adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2, float eps, float wd,
           float bc1, float bc2);
double sumsq(const float* x, int64_t n);
void axpy(float* y, const float* x, float alpha, int64_t n);  // y += alpha x
void scale(float* x, float alpha, int64_t n);                 // x *= alpha

// ---------------------------------------------------------------- linear layers, f32 and half weights (linear.cc)

// Linear layer with weight W [outDim, inDim] (the HF layout): out [N, outDim] = x [N, inDim] W^T (+ bias); with
// accumulate, out += (a residual add). Up to 8 rows (decoding) use the fused kernel with W's rows split over the
// pool; more rows use OpenBLAS's threads.
void linear_forward(const float* x, const float* W, const float* bias, float* out, int64_t N, int64_t inDim,
                    int64_t outDim, bool accumulate);

enum class Half { BF16, F16 };

// Exact widening of n half values to f32.
void half_to_f32(const uint16_t* src, Half type, float* dst, int64_t n);
// f32 -> half bits, round to nearest even (NaN stays NaN, overflow -> inf for f16).
void f32_to_half(const float* src, Half type, uint16_t* dst, int64_t n);
// linear_forward with W [outDim, inDim] stored as bf16/f16, widened on the fly, f32 accumulation.
void linear_forward_half(const float* x, const uint16_t* W, Half type, const float* bias, float* out, int64_t N,
                         int64_t inDim, int64_t outDim, bool accumulate);
// dx = dout W (dx += when accumulate) with W stored as bf16/f16 (a frozen weight: no dW).
void linear_backward_half(const float* dout, const uint16_t* W, Half type, float* dx, int64_t N, int64_t inDim,
                          int64_t outDim, bool accumulate);

// ---------------------------------------------------------------- GGUF block dequantisation (quant.cc)

// ggml type ids (GGUF tensor-info type field) this file understands.
enum GgmlType : int { GGML_F32 = 0, GGML_F16 = 1, GGML_Q8_0 = 8, GGML_Q4_K = 12, GGML_Q6_K = 14, GGML_BF16 = 30 };

// Values per block and bytes per block of a type (0, 0 for a type not listed above).
int64_t ggml_block_values(int type);
int64_t ggml_block_bytes(int type);
// Dequantises n values (a whole number of blocks) of the given type from src into dst.
void dequantize(int type, const uint8_t* src, float* dst, int64_t n);

}  // namespace batcoder
