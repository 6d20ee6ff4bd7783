#include "fma_peak.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace attune::bench {
namespace {

// 16 independent 512-bit FMA chains with distinct start values (identical chains would be
// merged by the compiler): enough to cover FMA latency x throughput on current x86 cores.
__attribute__((target("avx512f"))) float fma_chains(long iterations) {
  constexpr int kChains = 16;
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * float(c + 1));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long n = 0; n < iterations; ++n)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  return _mm512_reduce_add_ps(sum);
}

double measure_once(int threads, long iterations) {
  std::vector<std::thread> pool;
  std::vector<float> sink(static_cast<size_t>(threads));
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[size_t(t)] = fma_chains(iterations); });
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile float keep = sink[0];
  (void)keep;
  return double(threads) * iterations * 16 /*chains*/ * 16 /*lanes*/ * 2 /*flops*/ / s * 1e-9;
}

}  // namespace

double fma_peak_gflops() {
  static const double peak = [] {
    const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
    double best = 0;
    for (int r = 0; r < 5; ++r) best = std::max(best, measure_once(threads, 20'000'000));
    return best;
  }();
  return peak;
}

}  // namespace attune::bench
