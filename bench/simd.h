// The widest fp32 vector this build targets (-march=native: the benchmark is built where it
// runs), for the read-bandwidth and register-tile probes (the FMA peak is autotune/fma_peak.h,
// per target ISA).
#pragma once

#include <immintrin.h>

namespace attune::bench::simd {

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
inline Vec splat(float x) { return _mm512_set1_ps(x); }
inline Vec load(const float* p) { return _mm512_loadu_ps(p); }
inline Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
#elif defined(__FMA__) && defined(__AVX2__)
using Vec = __m256;
constexpr int kLanes = 8;
inline Vec splat(float x) { return _mm256_set1_ps(x); }
inline Vec load(const float* p) { return _mm256_loadu_ps(p); }
inline Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
#else
#error "attune_bench needs a CPU with FMA (AVX2/AVX-512); it is compiled with -march=native"
#endif

inline float reduce(Vec v) {
  float lanes[kLanes];
  __builtin_memcpy(lanes, &v, sizeof lanes);
  float sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

}  // namespace attune::bench::simd
