#include "fma_peak.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "simd.h"

namespace attune::bench {
namespace {

using namespace simd;

// Independent chains to cover FMA latency x throughput (4-5 cycles x 2 pipes = 8-10 on current
// x86), as many as fit in the vector registers beside the two constants: 16 with AVX-512's 32
// registers, 12 with AVX2's 16 (more would spill and halve the figure).
constexpr int kChains = kRegisters == 32 ? 16 : 12;
constexpr long kIterations = 20'000'000;  // 10 GFLOP per thread: 0.04-0.1 s at 100-250 GFLOP/s per core

// Every chain starts from a DISTINCT value: identical chains are provably equal and the
// compiler merges them into one, which inflates the figure kChains-fold.
float fma_chains(long iterations) {
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = splat(0.001f * float(c + 1));
  const Vec a = splat(0.999999f), b = splat(1e-7f);  // converges to 0.1: no overflow, no denormals
  for (long n = 0; n < iterations; ++n)
    for (int c = 0; c < kChains; ++c) acc[c] = fma(acc[c], a, b);
  // Use every chain so none is dead code.
  for (int c = 1; c < kChains; ++c) acc[0] = fma(acc[c], a, acc[0]);
  return reduce(acc[0]);
}

}  // namespace

double run_fma_chains() {
  const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  std::vector<float> sink(size_t(threads), 0.0f);
  for (int t = 0; t < threads; ++t) pool.emplace_back([&sink, t] { sink[size_t(t)] = fma_chains(kIterations); });
  for (auto& th : pool) th.join();
  volatile float keep = sink[0];  // the result is observable
  (void)keep;
  return double(threads) * kIterations * kChains * kLanes * 2 /*flops per FMA*/;
}

double fma_peak_gflops() {
  static const double peak = [] {
    double best = 0;
    for (int round = 0; round < 5; ++round) {
      const auto t0 = std::chrono::steady_clock::now();
      const double flops = run_fma_chains();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, flops / seconds * 1e-9);
    }
    return best;
  }();
  return peak;
}

}  // namespace attune::bench
