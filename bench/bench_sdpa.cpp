// attune vs unfused oneDNN peers in one run, with the FMA peak measured in this binary (machines
// of the same kind differ, so only ratios measured together mean something).
//
// Names: sdpa/<impl>/<workload> for the head-to-head rows (attune and both peers),
// family/attune/<workload> for the workloads the peers do not cover. Counters: GFLOP/s (visible
// query-key pairs x 4 x head_dim per call) and pct_peak (the same rate as % of the FMA peak).
// Both are rates, which the console prints with a "/s" suffix.
#include <attune/attention.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "autotune/fma_peak.h"
#include "autotune/workload.h"
#include "bandwidth.h"
#include "halide_autoschedulers.h"
#include "peers.h"
#include "register_tile.h"
#include "reference/aligned.h"
#include "reference/reference.h"

namespace {

// attune::sdpa and the peers share this signature.
using SdpaFn = void (*)(const float*, const float*, const float*, float*, int, int, int, int, int,
                        const attune::SdpaOptions&);

struct Impl {
  const char* name;
  SdpaFn fn;
};

const Impl kAttune{"attune", attune::sdpa};
const Impl kPeers[] = {{"onednn_unfused", attune::bench::onednn_unfused},
                       {"onednn_unfused_strong", attune::bench::onednn_unfused_strong}};
// Not checked (it computes no softmax): the GEMM ceiling of the head-to-head workloads.
const Impl kGemmsOnly{"onednn_gemms_only", attune::bench::onednn_gemms_only};
// Halide 14's autoschedulers on attune's generator, scheduled for its estimates (S=1024).
const Impl kAutoscheduled[] = {{"halide_mullapudi2016", attune::bench::halide_mullapudi2016},
                               {"halide_li2018", attune::bench::halide_li2018},
                               {"halide_adams2019", attune::bench::halide_adams2019}};

struct Workload {
  const char* name;
  int batch, heads, kv_heads, seq_q, seq_kv, head_dim;
  bool causal;
  bool with_peers;  // head-to-head (group "sdpa") or attune only (group "family")

  attune::SdpaOptions options() const {
    attune::SdpaOptions o;
    o.causal = causal;
    o.num_kv_heads = kv_heads;
    return o;
  }
  // The tuner's workload: its key labels the row (`attune plot --bench` draws the peers of a
  // tuned workload from it), its FLOPs count visible query-key pairs x 4 x head_dim.
  attune::autotune::Workload tuned() const {
    return attune::autotune::Workload::attention(batch, heads, kv_heads, seq_q, seq_kv, head_dim, causal);
  }
  double flops() const { return tuned().flops(); }
};

// fp32, row-major [B, H, S, D]. Add rows here; with_peers only for what the peers compute
// (non-causal, no mask, num_kv_heads == heads).
const Workload kWorkloads[] = {
    //  name                   B  H  KV   Sq    Skv   D   causal peers
    {"S:512",                  1, 8, 8,   512,  512,  64, false, true},
    {"S:1024",                 1, 8, 8,  1024, 1024,  64, false, true},
    {"S:2048",                 1, 8, 8,  2048, 2048,  64, false, true},
    {"S:4096",                 1, 8, 8,  4096, 4096,  64, false, true},
    {"S:8192",                 1, 8, 8,  8192, 8192,  64, false, true},
    {"S:16384",                1, 8, 8, 16384, 16384, 64, false, true},
    // The peers materialise S x S scores per thread (4 GiB each at 32k): attune and the peak only.
    {"S:32768",                1, 8, 8, 32768, 32768, 64, false, false},
    {"d80_S2048",              1, 8, 8,  2048, 2048,  80, false, false},
    {"d128_S2048",             1, 8, 8,  2048, 2048, 128, false, false},
    {"causal_S2048",           1, 8, 8,  2048, 2048,  64, true,  false},
    {"causal_S4096",           1, 8, 8,  4096, 4096,  64, true,  false},
    {"causal_S32768",          1, 8, 8, 32768, 32768, 64, true,  false},
    {"gqa8to2_S2048",          1, 8, 2,  2048, 2048,  64, false, false},
    {"decode_b4_kv4096",       4, 8, 8,     1, 4096,  64, false, false},
    // A decode loop's KV grows a key per token: mostly not a multiple of the split-KV chunk.
    {"decode_b4_kv4097",       4, 8, 8,     1, 4097,  64, false, false},
    {"decode_b4_gqa8to2_kv4096", 4, 8, 2,   1, 4096, 128, false, false},
    // Generation's first tokens (a short KV cache) and a speculative-decoding check of 16
    // draft tokens: decode-bucket calls shorter than one split-KV chunk.
    {"decode_b1_kv256",        1, 8, 8,     1,  256,  64, false, false},
    {"draft16_b1_kv256",       1, 8, 8,    16,  256,  64, false, false},
    {"cross_q256_kv4096",      1, 8, 8,   256, 4096,  64, false, false},
    {"cross_q4096_kv77",       1, 8, 8,  4096,   77,  64, false, false},
    {"b4_S512",                4, 8, 8,   512,  512,  64, false, false},
    {"causal_b4_S512",         4, 8, 8,   512,  512,  64, true,  false},
};

// Inputs of one call. Decode workloads (memory-bound) rotate through copies of K/V that
// together exceed the caches (like the KV caches of a model's layers), so GB/s counts DRAM
// traffic rather than L3 hits.
struct Data {
  attune::reference::AlignedVector<float> q, out;
  std::vector<attune::reference::AlignedVector<float>> k, v;
  size_t next = 0;
  explicit Data(const Workload& w) : q(size_t(w.batch) * w.heads * w.seq_q * w.head_dim), out(q.size()) {
    const size_t kv = size_t(w.batch) * w.kv_heads * w.seq_kv * w.head_dim;
    const size_t copies = w.seq_q <= attune::kDecodeMaxSeqQ ? std::max<size_t>(1, (size_t(512) << 20) / (8 * kv)) : 1;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (float& x : q) x = normal(rng);
    for (size_t c = 0; c < copies; ++c)
      for (auto* t : {&k, &v}) {
        t->emplace_back(kv);
        for (float& x : t->back()) x = normal(rng);
      }
  }
  void run(const Impl& impl, const Workload& w) {
    const size_t c = next++ % k.size();
    impl.fn(q.data(), k[c].data(), v[c].data(), out.data(), w.batch, w.heads, w.seq_q, w.seq_kv, w.head_dim,
            w.options());
  }
};

// The host's fp32 FMA peak (its widest vectors), measured once at startup: best of 5 rounds.
double fma_peak_gflops() {
  static const double peak = attune::autotune::fma_peak_gflops(attune::autotune::host_vector_isa());
  return peak;
}

// The FMA peak now: the best of three short rounds (~0.2 s).
double adjacent_fma_peak_gflops() {
  return attune::autotune::fma_peak_gflops(attune::autotune::host_vector_isa(), 0, 3);
}

void set_counters(benchmark::State& state, double flops_per_iteration) {
  // Rates over the benchmark's own (real) time, so GFLOP/s and pct_peak always agree.
  const double gflop = flops_per_iteration * 1e-9;
  state.counters["GFLOP/s"] = benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pct_peak"] = benchmark::Counter(gflop * 100 / fma_peak_gflops(),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void bm_sdpa(benchmark::State& state, Impl impl, Workload w) {
  Data d(w);
  try {
    d.run(impl, w);  // warm-up (first-touch pages, thread pools); an unsupported workload is skipped
  } catch (const attune::Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  // attune's rows also get the FMA peak measured right before and right after them: on a shared
  // host the peak moves with the neighbours' load (400-470 GFLOP/s within a run here), and
  // pct_adjacent_peak compares the kernel with the machine as it was at the time.
  const bool adjacent = std::string(impl.name) == kAttune.name;
  const double before = adjacent ? adjacent_fma_peak_gflops() : 0;
  for (auto _ : state) d.run(impl, w);
  set_counters(state, w.flops());
  if (adjacent)
    state.counters["pct_adjacent_peak"] = benchmark::Counter(
        w.flops() * 1e-9 * 100 / std::max(before, adjacent_fma_peak_gflops()), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(w.tuned().key());
  // Compulsory memory traffic (q, k, v read once, out written once): decode is bound by it.
  const double gb = 4e-9 * double(d.q.size() + d.k[0].size() + d.v[0].size() + d.out.size());
  state.counters["GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pct_bw"] = benchmark::Counter(gb * 100 / attune::bench::read_bandwidth_gbs(),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// The peak as a benchmark of its own: its spread across repetitions shows how steady the machine was.
// MHA layer, model_dim 512, 8 heads: attune vs the same layer from oneDNN GEMMs + unfused.
struct MhaData {
  int batch = 1, seq, model_dim = 512, heads = 8;
  attune::reference::AlignedVector<float> x, out, w[4], b[4];
  explicit MhaData(int s) : seq(s) {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd;
    x.resize(size_t(batch) * seq * model_dim);
    out.resize(x.size());
    for (float& v : x) v = nd(rng);
    for (int n = 0; n < 4; ++n) {
      w[n].resize(size_t(model_dim) * model_dim);
      b[n].resize(size_t(model_dim));
      for (float& v : w[n]) v = nd(rng) * 0.05f;
      for (float& v : b[n]) v = nd(rng);
    }
  }
  double flops() const {  // 4 projections + attention
    return 4 * 2.0 * batch * seq * double(model_dim) * model_dim + 4.0 * batch * heads * double(seq) * seq * (model_dim / heads);
  }
};

void bm_mha_attune(benchmark::State& state, int seq) {
  MhaData m(seq);
  attune::MhaWeights w;
  w.w_q = m.w[0].data(); w.w_k = m.w[1].data(); w.w_v = m.w[2].data(); w.w_o = m.w[3].data();
  w.b_q = m.b[0].data(); w.b_k = m.b[1].data(); w.b_v = m.b[2].data(); w.b_o = m.b[3].data();
  for (auto _ : state)
    attune::multi_head_attention(m.x.data(), m.x.data(), m.out.data(), m.batch, m.seq, m.seq, m.model_dim, m.heads, w);
  set_counters(state, m.flops());
}

void bm_mha_onednn(benchmark::State& state, int seq) {
  MhaData m(seq);
  for (auto _ : state)
    attune::bench::onednn_mha(m.x.data(), m.out.data(), m.batch, m.seq, m.model_dim, m.heads, m.w[0].data(),
                              m.w[1].data(), m.w[2].data(), m.w[3].data(), m.b[0].data(), m.b[1].data(),
                              m.b[2].data(), m.b[3].data());
  set_counters(state, m.flops());
}

// attune's inner-loop shape alone: B rows of `keys` x `row_floats` (L1: 256 x one tile slice;
// L2: 1024 keys x 64 floats, 256 KiB with AVX2, walked a slice at a time as PV walks head_dim).
void bm_register_tile(benchmark::State& state, int keys, int row_floats) {
  double flops = 0;
  for (auto _ : state) flops = attune::bench::run_register_tile(keys, row_floats, 20'000'000 / keys);
  set_counters(state, flops);
}

void bm_fma_peak(benchmark::State& state) {
  double flops = 0;
  for (auto _ : state) flops = attune::autotune::run_fma_chains(attune::autotune::host_vector_isa());
  set_counters(state, flops);
}

// The read-bandwidth ceiling of the decode rows, re-measured between them (1 GiB per pass).
void bm_read_bandwidth(benchmark::State& state, bool prefetch) {
  double bytes = 0;
  for (auto _ : state) bytes += attune::bench::read_pass(prefetch);
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
}

// Every implementation must compute attention: checked once against the double reference,
// on a small shape with batch > 1 and seq_q != seq_kv (catches layout and stride mistakes).
void check_against_reference() {
  const Workload w{"check", 2, 3, 3, 70, 90, 64, false, true};
  attune::reference::SdpaProblem p;
  p.batch = w.batch;
  p.num_heads = w.heads;
  p.seq_q = w.seq_q;
  p.seq_kv = w.seq_kv;
  p.head_dim = w.head_dim;
  Data d(w);
  std::vector<double> expected;
  attune::reference::sdpa(p, d.q.data(), d.k[0].data(), d.v[0].data(), expected);
  std::vector<Impl> impls{kAttune};
  impls.insert(impls.end(), std::begin(kPeers), std::end(kPeers));
  for (const Impl& impl : impls) {
    std::fill(d.out.begin(), d.out.end(), 0.0f);
    try {
      d.run(impl, w);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "attune_bench: %s failed on the check shape: %s\n", impl.name, e.what());
      std::exit(1);
    }
    const double err = attune::reference::relative_max_error(d.out.data(), expected);
    if (!(err <= 1e-4)) {  // the autotuner's correctness gate
      std::fprintf(stderr, "attune_bench: %s is wrong: relative max error %g vs the reference (limit 1e-4)\n",
                   impl.name, err);
      std::exit(1);
    }
  }
}

// An autoscheduled baseline is timed only if it is correct on its workload (checked against
// attune, itself checked against the double reference above); else it is reported and skipped.
bool check_at(const Impl& impl, const Workload& w) {
  Data d(w);
  std::vector<float> expected(d.out.size());
  attune::sdpa(d.q.data(), d.k[0].data(), d.v[0].data(), expected.data(), w.batch, w.heads, w.seq_q, w.seq_kv,
               w.head_dim, w.options());
  try {
    d.run(impl, w);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attune_bench: %s skipped: %s\n", impl.name, e.what());
    return false;
  }
  float err = 0, mag = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    err = std::max(err, std::abs(d.out[i] - expected[i]));
    mag = std::max(mag, std::abs(expected[i]));
  }
  if (err > 1e-4f * mag) std::fprintf(stderr, "attune_bench: %s skipped: wrong (max error %g)\n", impl.name, err);
  return err <= 1e-4f * mag;
}

void register_benchmarks() {
  // Real time: the work is multi-threaded. ~0.5 s per measurement; run.sh adds repetitions.
  auto configure = [](benchmark::internal::Benchmark* b) { b->UseRealTime()->MinTime(0.5); };
  configure(benchmark::RegisterBenchmark("fma_peak", bm_fma_peak));
  configure(benchmark::RegisterBenchmark("ceiling/register_tile/L1", bm_register_tile, 256, 0));
  configure(benchmark::RegisterBenchmark("ceiling/register_tile/L2", bm_register_tile, 1024, 64));
  configure(benchmark::RegisterBenchmark("ceiling/read_bandwidth/hw_prefetch", bm_read_bandwidth, false));
  configure(benchmark::RegisterBenchmark("ceiling/read_bandwidth/sw_prefetch", bm_read_bandwidth, true));
  for (const Workload& w : kWorkloads) {
    const std::string group = w.with_peers ? "sdpa/" : "family/";
    configure(benchmark::RegisterBenchmark((group + kAttune.name + "/" + w.name).c_str(), bm_sdpa, kAttune, w));
    if (!w.with_peers) continue;
    for (const Impl& peer : kPeers)
      configure(benchmark::RegisterBenchmark((group + peer.name + "/" + w.name).c_str(), bm_sdpa, peer, w));
    configure(benchmark::RegisterBenchmark((group + kGemmsOnly.name + "/" + w.name).c_str(), bm_sdpa, kGemmsOnly, w));
    if (std::string(w.name) != "S:1024") continue;
    for (const Impl& as : kAutoscheduled)
      if (check_at(as, w))
        configure(benchmark::RegisterBenchmark((group + as.name + "/" + w.name).c_str(), bm_sdpa, as, w));
  }
  // MHA layer (model_dim 512, 8 heads): its peer, oneDNN GEMMs + the strong unfused attention,
  // is reported in the "strong" column.
  configure(benchmark::RegisterBenchmark("mha/attune/S:1024", bm_mha_attune, 1024));
  configure(benchmark::RegisterBenchmark("mha/onednn_unfused_strong/S:1024", bm_mha_onednn, 1024));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  check_against_reference();
  const double peak = fma_peak_gflops();
  std::fprintf(stderr, "attune_bench: fp32 FMA peak %.1f GFLOP/s on %u threads\n", peak,
               std::thread::hardware_concurrency());
  benchmark::AddCustomContext("fma_peak_gflops", std::to_string(peak));
  const double bw = attune::bench::read_bandwidth_gbs();
  std::fprintf(stderr, "attune_bench: read bandwidth %.1f GB/s\n", bw);
  benchmark::AddCustomContext("read_bandwidth_gbs", std::to_string(bw));
  benchmark::AddCustomContext("threads", std::to_string(std::thread::hardware_concurrency()));
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
