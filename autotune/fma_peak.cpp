#include "fma_peak.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ATTUNE_X86 1
#endif

namespace attune::autotune {

VectorIsa vector_isa_of(const std::string& target) {
  if (target.rfind("x86", 0) != 0) return VectorIsa::kNone;
  auto has = [&](const char* f) { return target.find(std::string("-") + f) != std::string::npos; };
  if (has("avx512")) return VectorIsa::kAvx512;
  if (has("avx2") && has("fma")) return VectorIsa::kAvx2;
  return VectorIsa::kSse;
}

#ifdef ATTUNE_X86
namespace {

// Independent chains cover FMA latency x throughput (4-5 cycles x 2 pipes = 8-10 in flight on
// current x86), as many as fit in the registers beside the two constants. Every chain starts
// from a DISTINCT value: identical chains are provably equal and the compiler merges them,
// which inflates the figure chain-fold. a, b make the chains converge (no overflow, no denormals).
constexpr long kIterations = 20'000'000;

__attribute__((target("avx512f"))) float chains_avx512(long n) {
  constexpr int kChains = 16;  // of 32 registers
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * float(c + 1));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < n; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  for (int c = 1; c < kChains; ++c) acc[0] = _mm512_fmadd_ps(acc[c], a, acc[0]);
  return _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx2,fma"))) float chains_avx2(long n) {
  constexpr int kChains = 12;  // of 16 registers
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(0.001f * float(c + 1));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < n; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  for (int c = 1; c < kChains; ++c) acc[0] = _mm256_fmadd_ps(acc[c], a, acc[0]);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc[0]);
  return lanes[0] + lanes[7];
}

// No FMA: a multiply and an add per lane and step (what Halide emits for a*b+c there).
float chains_sse(long n) {
  constexpr int kChains = 12;
  __m128 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm_set1_ps(0.001f * float(c + 1));
  const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
  for (long i = 0; i < n; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm_add_ps(_mm_mul_ps(acc[c], a), b);
  for (int c = 1; c < kChains; ++c) acc[0] = _mm_add_ps(acc[c], acc[0]);
  return _mm_cvtss_f32(acc[0]);
}

bool supported(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::kAvx512: return __builtin_cpu_supports("avx512f");
    case VectorIsa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case VectorIsa::kSse: return true;
    case VectorIsa::kNone: return false;
  }
  return false;
}

}  // namespace

VectorIsa host_vector_isa() {
  for (VectorIsa isa : {VectorIsa::kAvx512, VectorIsa::kAvx2})
    if (supported(isa)) return isa;
  return VectorIsa::kSse;
}

double run_fma_chains(VectorIsa isa, int threads) {
  if (!supported(isa)) return 0;
  // FLOPs per step and chain: 2 per lane (FMA, or mul + add).
  const double flops_per_step = isa == VectorIsa::kAvx512 ? 16 * 16 * 2 : isa == VectorIsa::kAvx2 ? 12 * 8 * 2 : 12 * 4 * 2;
  threads = on_every_thread(threads, [isa](int) {
    return isa == VectorIsa::kAvx512 ? chains_avx512(kIterations)
           : isa == VectorIsa::kAvx2 ? chains_avx2(kIterations)
                                     : chains_sse(kIterations);
  });
  return double(threads) * kIterations * flops_per_step;
}

#else  // not x86: no probe

VectorIsa host_vector_isa() { return VectorIsa::kNone; }
double run_fma_chains(VectorIsa, int) { return 0; }

#endif

double fma_peak_gflops(VectorIsa isa, int threads, int rounds) {
  double best = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const double flops = run_fma_chains(isa, threads);
    if (flops == 0) return 0;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flops / seconds * 1e-9);
  }
  return best;
}

}  // namespace attune::autotune
