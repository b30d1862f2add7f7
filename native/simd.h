// A few float vector operations for the half-precision kernels, on AVX-512, AVX2+FMA+F16C or plain scalars (chosen
// at compile time; the addon is built with -march=native on the machine that runs it). Also the exact scalar
// half -> f32 widenings used for tails and by the scalar build.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__) && defined(__F16C__))
// GCC 12's AVX-512 headers trip its own uninitialised-variable warnings (their _mm512_undefined_* helpers)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace batcoder {
namespace simd {

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
  if (e == 0) {
    float f = float(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
    std::memcpy(&u, &f, sizeof u);
    u |= sign;
  } else if (e == 31) {
    u = sign | 0x7f800000u | (m << 13);
  } else {
    u = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

#if defined(__AVX512F__)
constexpr int VW = 16;
using vf = __m512;
inline vf vzero() {
  return _mm512_setzero_ps();
}
inline vf vload(const float* p) {
  return _mm512_loadu_ps(p);
}
inline void vstore(float* p, vf a) {
  _mm512_storeu_ps(p, a);
}
inline vf vfma(vf a, vf b, vf c) {
  return _mm512_fmadd_ps(a, b, c);
}
inline vf vadd(vf a, vf b) {
  return _mm512_add_ps(a, b);
}
inline float vsum(vf a) {
  return _mm512_reduce_add_ps(a);
}
inline vf vload_bf16(const uint16_t* p) {
  __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline vf vload_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
constexpr int VW = 8;
using vf = __m256;
inline vf vzero() {
  return _mm256_setzero_ps();
}
inline vf vload(const float* p) {
  return _mm256_loadu_ps(p);
}
inline void vstore(float* p, vf a) {
  _mm256_storeu_ps(p, a);
}
inline vf vfma(vf a, vf b, vf c) {
  return _mm256_fmadd_ps(a, b, c);
}
inline vf vadd(vf a, vf b) {
  return _mm256_add_ps(a, b);
}
inline float vsum(vf a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}
inline vf vload_bf16(const uint16_t* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline vf vload_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#else
constexpr int VW = 1;
using vf = float;
inline vf vzero() {
  return 0.f;
}
inline vf vload(const float* p) {
  return *p;
}
inline void vstore(float* p, vf a) {
  *p = a;
}
inline vf vfma(vf a, vf b, vf c) {
  return a * b + c;
}
inline vf vadd(vf a, vf b) {
  return a + b;
}
inline float vsum(vf a) {
  return a;
}
inline vf vload_bf16(const uint16_t* p) {
  return bf16_to_f32(*p);
}
inline vf vload_f16(const uint16_t* p) {
  return f16_to_f32(*p);
}
#endif

}  // namespace simd
}  // namespace batcoder
