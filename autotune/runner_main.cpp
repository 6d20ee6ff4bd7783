// attune-runner: loads one compiled candidate (a shared library from the builder), checks
// its output against the double reference on the workload (and a small odd shape), then
// times it. Runs in its own process, started by the tuner with time and memory limits, so
// a candidate that crashes, hangs or eats memory takes only this process down.
// Prints one JSON line on stdout: {"status": "ok"|"wrong", "error": ..., "times_ms": [...]}.
#include <HalideBuffer.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "attune/attention.h"
#include "autotune/workload.h"
#include "reference/reference.h"
#include "reference/aligned.h"

namespace {

using attune::autotune::Workload;
using Halide::Runtime::Buffer;
using SdpaFn = int (*)(halide_buffer_t*, halide_buffer_t*, halide_buffer_t*, halide_buffer_t*,
                       float, halide_buffer_t*);
using LinearFn = int (*)(halide_buffer_t*, halide_buffer_t*, halide_buffer_t*, halide_buffer_t*);
using AnyFn = void (*)();

// One call of the candidate on random inputs, and its error against the double reference.
class Problem {
 public:
  virtual ~Problem() = default;
  virtual int run(AnyFn fn) = 0;
  virtual double error() const = 0;
};

class SdpaProblem : public Problem {
 public:
  SdpaProblem(const Workload& wl, unsigned seed) : w(wl) {
    const size_t nq = size_t(w.batch) * w.num_heads * w.seq_q * w.head_dim;
    const size_t nk = size_t(w.batch) * w.kv_heads() * w.seq_kv * w.head_dim;
    q.resize(nq); k.resize(nk); v.resize(nk);
    out.assign(probs() ? size_t(w.batch) * w.num_heads * w.seq_q * w.seq_kv : nq, 0.f);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    for (auto* t : {&q, &k, &v})
      for (float& x : *t) x = normal(rng);
    mask.assign(size_t(w.batch) * w.seq_kv, 1);
    if (w.mask) {
      std::bernoulli_distribution keep(0.8);
      for (auto& m : mask) m = keep(rng);
    }
  }

  int run(AnyFn fn) override {
    const int D = w.head_dim;
    Buffer<float> qb(q.data(), D, w.seq_q, w.num_heads, w.batch);
    Buffer<float> kb(k.data(), D, w.seq_kv, w.kv_heads(), w.batch);
    Buffer<float> vb(v.data(), D, w.seq_kv, w.kv_heads(), w.batch);
    Buffer<float> ob(out.data(), probs() ? w.seq_kv : D, w.seq_q, w.num_heads, w.batch);
    Buffer<std::uint8_t> mb(mask.data(), w.seq_kv, w.batch);
    return reinterpret_cast<SdpaFn>(fn)(qb.raw_buffer(), kb.raw_buffer(), vb.raw_buffer(), mb.raw_buffer(),
                                        1.0f / std::sqrt(float(D)), ob.raw_buffer());
  }

  double error() const override {
    attune::reference::SdpaProblem p;
    p.batch = w.batch; p.num_heads = w.num_heads; p.num_kv_heads = w.kv_heads();
    p.seq_q = w.seq_q; p.seq_kv = w.seq_kv; p.head_dim = w.head_dim; p.causal = w.causal;
    p.key_padding_mask = w.mask ? mask.data() : nullptr;
    std::vector<double> expected, expected_probs;
    attune::reference::sdpa(p, q.data(), k.data(), v.data(), expected, probs() ? &expected_probs : nullptr);
    return attune::reference::relative_max_error(out.data(), probs() ? expected_probs : expected);
  }

 private:
  Workload w;
  attune::reference::AlignedVector<float> q, k, v, out;
  std::vector<std::uint8_t> mask;
  bool probs() const { return w.kernel == "attention_probs"; }
};

// The MHA input projection (see Workload): x [B, S, H·D] · Wᵀ + b into the head layout [B, H, S, D].
class LinearProblem : public Problem {
 public:
  LinearProblem(const Workload& wl, unsigned seed) : w(wl), features(wl.num_heads * wl.head_dim) {
    x.resize(size_t(w.batch) * w.seq_q * features);
    weights.resize(size_t(features) * features);
    bias.resize(size_t(features));
    y.assign(x.size(), 0.f);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    for (auto* t : {&x, &weights, &bias})
      for (float& e : *t) e = normal(rng);
  }

  int run(AnyFn fn) override {
    Buffer<float> xb(x.data(), features, w.seq_q, 1, w.batch);
    Buffer<float> wb(weights.data(), features, w.head_dim, w.num_heads);  // row h·D + n of W
    Buffer<float> bb(bias.data(), w.head_dim, w.num_heads);
    Buffer<float> yb(y.data(), w.head_dim, w.seq_q, w.num_heads, w.batch);
    return reinterpret_cast<LinearFn>(fn)(xb.raw_buffer(), wb.raw_buffer(), bb.raw_buffer(), yb.raw_buffer());
  }

  double error() const override {
    std::vector<double> plain, expected(y.size());
    attune::reference::linear(x.data(), weights.data(), bias.data(), w.batch * w.seq_q, features, features, plain);
    const int D = w.head_dim;
    size_t n = 0;  // y's order: [b, h, s, d]
    for (int b = 0; b < w.batch; ++b)
      for (int h = 0; h < w.num_heads; ++h)
        for (int s = 0; s < w.seq_q; ++s)
          for (int d = 0; d < D; ++d) expected[n++] = plain[(size_t(b) * w.seq_q + s) * features + h * D + d];
    return attune::reference::relative_max_error(y.data(), expected);
  }

 private:
  Workload w;
  int features;
  attune::reference::AlignedVector<float> x, weights, bias, y;
};

std::unique_ptr<Problem> make_problem(const Workload& w, unsigned seed) {
  if (w.kernel == "linear") return std::make_unique<LinearProblem>(w, seed);
  return std::make_unique<SdpaProblem>(w, seed);
}

// The reference is O(B·H·Sq·Skv·D) (linear: O(B·S·F²)) in double: check big workloads on one
// head group (linear: up to 256 rows of one batch) only.
Workload check_shape(Workload w) {
  w.batch = 1;
  if (w.kernel == "linear") {
    w.seq_q = w.seq_kv = std::min(w.seq_q, 256);
    return w;
  }
  const int group = w.num_heads / w.kv_heads();
  w.num_kv_heads = 1;
  w.num_heads = group;
  return w;
}

// A small shape with odd sizes: tails of every tile (linear: 21 features in 3 heads of 7).
Workload odd_check_shape(Workload w) {
  w.batch = 2;
  if (w.kernel == "linear") {
    w.seq_q = w.seq_kv = 13;
    w.num_heads = w.num_kv_heads = 3;
    w.head_dim = 7;
    return w;
  }
  w.seq_q = std::min(w.seq_q, 13);
  w.seq_kv = 77;
  w.num_heads = w.num_heads / w.kv_heads();
  w.num_kv_heads = 1;
  return w;
}

void emit(const nlohmann::json& j) { std::printf("%s\n", j.dump().c_str()); std::fflush(stdout); }

}  // namespace

int main(int argc, char** argv) {
  std::string lib, fn_name, workload_json;
  double min_time = 0.3, tolerance = 1e-4;
  int reps = 5;
  bool odd_shape = true;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string flag = argv[a], val = argv[a + 1];
    if (flag == "--library") lib = val;
    else if (flag == "--function") fn_name = val;
    else if (flag == "--workload") workload_json = val;
    else if (flag == "--min-time") min_time = std::stod(val);
    else if (flag == "--repetitions") reps = std::stoi(val);
    else if (flag == "--tolerance") tolerance = std::stod(val);
    else if (flag == "--odd-shape") odd_shape = val != "0";
    else { std::fprintf(stderr, "attune-runner: unknown flag %s\n", flag.c_str()); return 2; }
  }
  if (lib.empty() || fn_name.empty() || workload_json.empty()) {
    std::fprintf(stderr, "usage: attune-runner --library X.so --function NAME --workload JSON "
                         "[--min-time S] [--repetitions N] [--tolerance T]\n");
    return 2;
  }
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) { emit({{"status", "load_error"}, {"error", dlerror()}}); return 1; }
  auto fn = reinterpret_cast<AnyFn>(dlsym(handle, fn_name.c_str()));
  if (!fn) { emit({{"status", "load_error"}, {"error", "missing symbol " + fn_name}}); return 1; }

  const Workload w = Workload::from_json(workload_json);
  // Correctness gate: the workload's shape (one head group) and a small odd shape.
  std::vector<Workload> checks = {check_shape(w)};
  if (odd_shape) checks.push_back(odd_check_shape(w));
  for (const Workload& c : checks) {
    auto p = make_problem(c, 7);
    if (int rc = p->run(fn)) { emit({{"status", "run_error"}, {"error", "Halide error " + std::to_string(rc)}}); return 1; }
    const double err = p->error();
    if (!(err <= tolerance)) {
      emit({{"status", "wrong"}, {"error", "max relative error " + std::to_string(err) + " on " + c.key()}});
      return 1;
    }
  }

  // Timing: warm-up, then `reps` samples each at least min_time/reps long. Decode workloads
  // (memory-bound) rotate through copies of their inputs beyond the caches, as the KV caches of
  // a model's layers would be: otherwise the tuner would optimise for L3 hits.
  std::vector<std::unique_ptr<Problem>> ps;
  ps.push_back(make_problem(w, 11));
  if (w.kernel != "linear" && w.seq_q <= attune::kDecodeMaxSeqQ) {
    const double bytes = 8.0 * w.batch * w.kv_heads() * w.seq_kv * w.head_dim;
    while (ps.size() < size_t(std::max(1.0, std::ceil((256 << 20) / bytes)))) ps.push_back(make_problem(w, 11));
  }
  size_t next = 0;
  auto run = [&] { ps[next++ % ps.size()]->run(fn); };
  run();
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  run();
  const double once = std::chrono::duration<double>(clock::now() - t0).count();
  const int inner = std::max(1, int(min_time / reps / std::max(once, 1e-6)));
  std::vector<double> times_ms;
  for (int r = 0; r < reps; ++r) {
    t0 = clock::now();
    for (int n = 0; n < inner; ++n) run();
    times_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count() / inner);
  }
  emit({{"status", "ok"}, {"times_ms", times_ms}});
  return 0;
}
