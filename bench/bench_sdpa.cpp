// attune vs unfused oneDNN peers, in one run, with the FMA peak measured in this binary.
// Counters: GFLOP/s (visible query-key pairs x 4 x head_dim) and pct_peak.
#include <attune/attention.h>
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "fma_peak.h"
#include "peers.h"
#include "reference/reference.h"

namespace {

using attune::bench::Softmax;

struct Workload {
  std::string name;
  int batch, heads, kv_heads, seq_q, seq_kv, head_dim;
  bool causal;
  double flops() const {
    double pairs = double(seq_q) * seq_kv;
    if (causal) {
      pairs = 0;
      for (int i = 0; i < seq_q; ++i) pairs += std::min<double>(seq_kv, std::max(0, i + 1 + seq_kv - seq_q));
    }
    return 4.0 * batch * heads * pairs * head_dim;
  }
};

struct Data {
  std::vector<float> q, k, v, out;
  explicit Data(const Workload& w) {
    q.resize(size_t(w.batch) * w.heads * w.seq_q * w.head_dim);
    k.resize(size_t(w.batch) * w.kv_heads * w.seq_kv * w.head_dim);
    v.resize(k.size());
    out.resize(q.size());
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    for (auto* t : {&q, &k, &v}) for (float& x : *t) x = nd(rng);
  }
};

void set_counters(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  // Same rate, as a percentage of the FMA peak measured in this binary.
  state.counters["pct_peak"] = benchmark::Counter(flops * 1e-9 * 100 / attune::bench::fma_peak_gflops(),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void bm_attune(benchmark::State& state, Workload w) {
  Data d(w);
  attune::SdpaOptions o;
  o.causal = w.causal;
  o.num_kv_heads = w.kv_heads;
  for (auto _ : state)
    attune::sdpa(d.q.data(), d.k.data(), d.v.data(), d.out.data(), w.batch, w.heads, w.seq_q, w.seq_kv, w.head_dim, o);
  set_counters(state, w.flops());
}

void bm_peer(benchmark::State& state, Workload w, Softmax softmax) {
  Data d(w);
  for (auto _ : state)
    attune::bench::onednn_unfused(d.q.data(), d.k.data(), d.v.data(), d.out.data(), w.batch, w.heads,
                                  w.seq_q, w.seq_kv, w.head_dim, softmax);
  set_counters(state, w.flops());
}

void bm_fma_peak(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(attune::bench::fma_peak_gflops());
  state.counters["peak_GFLOP/s"] = attune::bench::fma_peak_gflops();
}

// The peers must compute attention too: checked once against the double reference.
void check_peers() {
  const Workload w{"check", 1, 2, 2, 70, 90, 64, false};
  for (Softmax s : {Softmax::kPlainLoop, Softmax::kOneDnnPrimitive}) {
    Data d(w);
    attune::bench::onednn_unfused(d.q.data(), d.k.data(), d.v.data(), d.out.data(), 1, 2, 70, 90, 64, s);
    attune::reference::SdpaProblem p;
    p.num_heads = 2; p.seq_q = 70; p.seq_kv = 90; p.head_dim = 64;
    std::vector<double> expected;
    attune::reference::sdpa(p, d.q.data(), d.k.data(), d.v.data(), expected);
    if (!(attune::reference::relative_max_error(d.out.data(), expected) <= 1e-4)) {
      std::fprintf(stderr, "peer check failed\n");
      std::exit(1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  check_peers();
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("fma_peak_gflops", std::to_string(attune::bench::fma_peak_gflops()));
  benchmark::RegisterBenchmark("fma_peak", bm_fma_peak)->Iterations(1)->UseRealTime();
  // Head-to-head with the peers: B=1, H=8, D=64.
  for (int s : {512, 1024, 2048, 4096}) {
    const Workload w{"S:" + std::to_string(s), 1, 8, 8, s, s, 64, false};
    benchmark::RegisterBenchmark(("sdpa/attune/" + w.name).c_str(), bm_attune, w)->UseRealTime()->MinTime(0.5);
    benchmark::RegisterBenchmark(("sdpa/onednn_unfused/" + w.name).c_str(), bm_peer, w, Softmax::kPlainLoop)
        ->UseRealTime()->MinTime(0.5);
    benchmark::RegisterBenchmark(("sdpa/onednn_unfused_strong/" + w.name).c_str(), bm_peer, w,
                                 Softmax::kOneDnnPrimitive)->UseRealTime()->MinTime(0.5);
  }
  // The kernel family (attune only; the peers do not support these options).
  const Workload family[] = {
      {"d80_S2048", 1, 8, 8, 2048, 2048, 80, false},   {"d128_S2048", 1, 8, 8, 2048, 2048, 128, false},
      {"gqa8x2_S2048", 1, 8, 2, 2048, 2048, 64, false}, {"causal_S2048", 1, 8, 8, 2048, 2048, 64, true},
      {"causal_S4096", 1, 8, 8, 4096, 4096, 64, true},  {"noncausal_S4096", 1, 8, 8, 4096, 4096, 64, false},
      {"b4_S512", 4, 8, 8, 512, 512, 64, false},        {"cross_q256_k4096", 1, 8, 8, 256, 4096, 64, false},
  };
  for (const Workload& w : family)
    benchmark::RegisterBenchmark(("family/attune/" + w.name).c_str(), bm_attune, w)->UseRealTime()->MinTime(0.5);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
