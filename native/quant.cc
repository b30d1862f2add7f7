// Dequantisation of GGUF tensor data (ggml block layouts, little-endian) into f32.
//
//   Q8_0: blocks of 32 values, 34 bytes: f16 scale d, then 32 int8 q;            y = q * d
//   Q4_K: super-blocks of 256 values, 144 bytes: f16 d, f16 dmin, 12 bytes of packed 6-bit (scale, min) pairs for
//         8 sub-blocks of 32, then 128 bytes of 4-bit q (each 64-value half: 32 bytes, low nibbles = first 32
//         values, high nibbles = next 32);                                         y = (d*sc) * q - (dmin*m)
//   Q6_K: super-blocks of 256 values, 210 bytes: 128 bytes low 4 bits (ql), 64 bytes high 2 bits (qh), 16 int8
//         scales (one per 16 values), f16 d;                                       y = (d*sc) * (q - 32)
//
// The arithmetic is ggml's reference order in f32 with no fused multiply-add (hence fp-contract=off for this file),
// so the values are bit-identical to ggml's dequantize_row_* (test/engine/quant.test.ts checks that against the
// ggml library node-llama-cpp ships).
#pragma GCC optimize("fp-contract=off")

#include <cstring>

#include "kernels.h"
#include "parallel.h"
#include "simd.h"

namespace batcoder {
namespace {

constexpr int64_t QK8_0 = 32, Q8_0_BYTES = 2 + 32;
constexpr int64_t QK_K = 256, Q4_K_BYTES = 2 + 2 + 12 + 128, Q6_K_BYTES = 128 + 64 + 16 + 2;

inline float read_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return simd::f16_to_f32(h);
}

void dequant_q8_0(const uint8_t* b, float* y) {
  float d = read_f16(b);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < QK8_0; j++)
    y[j] = float(q[j]) * d;
}

// The j-th (scale, min) pair of a Q4_K super-block: 8 pairs of 6-bit numbers packed in 12 bytes. Pairs 0..3 are the
// low 6 bits of bytes j and j+4; pairs 4..7 take their low 4 bits from byte j+4 (scale: low nibble, min: high
// nibble) and their top 2 bits from the top bits of bytes j-4 (scale) and j (min).
inline void q4k_scale_min(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = uint8_t((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
    *m = uint8_t((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

void dequant_q4_k(const uint8_t* b, float* y) {
  float d = read_f16(b), dmin = read_f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int half = 0; half < 4; half++) {  // 4 chunks of 64 values: 32 bytes of nibbles each
    uint8_t sc, m;
    q4k_scale_min(2 * half, scales, &sc, &m);
    float d1 = d * float(sc), m1 = dmin * float(m);
    q4k_scale_min(2 * half + 1, scales, &sc, &m);
    float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; l++)
      y[l] = d1 * float(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; l++)
      y[32 + l] = d2 * float(q[l] >> 4) - m2;
    q += 32;
    y += 64;
  }
}

void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  float d = read_f16(b + 208);
  for (int part = 0; part < 2; part++) {  // 2 halves of 128 values: 64 bytes of ql, 32 of qh, 8 scales each
    for (int g = 0; g < 2; g++) {         // values l = 16g .. 16g+15 of each quarter share their scales
      float s1 = d * float(sc[g]), s2 = d * float(sc[g + 2]), s3 = d * float(sc[g + 4]), s4 = d * float(sc[g + 6]);
      for (int l = 16 * g; l < 16 * g + 16; l++) {
        int q1 = int((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        int q2 = int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = s1 * float(q1);
        y[l + 32] = s2 * float(q2);
        y[l + 64] = s3 * float(q3);
        y[l + 96] = s4 * float(q4);
      }
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

template <typename F>
void per_block(const uint8_t* src, float* dst, int64_t n, int64_t vals, int64_t bytes, F fn) {
  int64_t blocks = n / vals;
  parallel_for(blocks, vals * 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++)
      fn(src + i * bytes, dst + i * vals);
  });
}

}  // namespace

int64_t ggml_block_values(int type) {
  switch (type) {
    case GGML_F32:
    case GGML_F16:
    case GGML_BF16: return 1;
    case GGML_Q8_0: return QK8_0;
    case GGML_Q4_K:
    case GGML_Q6_K: return QK_K;
    default: return 0;
  }
}

int64_t ggml_block_bytes(int type) {
  switch (type) {
    case GGML_F32: return 4;
    case GGML_F16:
    case GGML_BF16: return 2;
    case GGML_Q8_0: return Q8_0_BYTES;
    case GGML_Q4_K: return Q4_K_BYTES;
    case GGML_Q6_K: return Q6_K_BYTES;
    default: return 0;
  }
}

void dequantize(int type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case GGML_F32: std::memcpy(dst, src, size_t(n) * 4); break;
    case GGML_F16:
    case GGML_BF16: {
      // the source of a GGUF tensor may be unaligned for uint16_t: widen through an aligned copy per chunk
      Half h = type == GGML_F16 ? Half::F16 : Half::BF16;
      if (reinterpret_cast<uintptr_t>(src) % 2 == 0)
        half_to_f32(reinterpret_cast<const uint16_t*>(src), h, dst, n);
      else
        for (int64_t i = 0; i < n; i++) {
          uint16_t v;
          std::memcpy(&v, src + 2 * i, 2);
          dst[i] = h == Half::F16 ? simd::f16_to_f32(v) : simd::bf16_to_f32(v);
        }
      break;
    }
    case GGML_Q8_0: per_block(src, dst, n, QK8_0, Q8_0_BYTES, dequant_q8_0); break;
    case GGML_Q4_K: per_block(src, dst, n, QK_K, Q4_K_BYTES, dequant_q4_k); break;
    case GGML_Q6_K: per_block(src, dst, n, QK_K, Q6_K_BYTES, dequant_q6_k); break;
    default: break;
  }
}

}  // namespace batcoder
