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

struct Problem {
  Workload w;
  attune::reference::AlignedVector<float> q, k, v, out;
  std::vector<std::uint8_t> mask;

  explicit Problem(const Workload& wl, unsigned seed) : w(wl) {
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

  bool probs() const { return w.kernel == "attention_probs"; }

  int run(SdpaFn fn) {
    const int D = w.head_dim;
    Buffer<float> qb(q.data(), D, w.seq_q, w.num_heads, w.batch);
    Buffer<float> kb(k.data(), D, w.seq_kv, w.kv_heads(), w.batch);
    Buffer<float> vb(v.data(), D, w.seq_kv, w.kv_heads(), w.batch);
    Buffer<float> ob(out.data(), probs() ? w.seq_kv : D, w.seq_q, w.num_heads, w.batch);
    Buffer<std::uint8_t> mb(mask.data(), w.seq_kv, w.batch);
    return fn(qb.raw_buffer(), kb.raw_buffer(), vb.raw_buffer(), mb.raw_buffer(),
              1.0f / std::sqrt(float(D)), ob.raw_buffer());
  }

  double error() const {
    attune::reference::SdpaProblem p;
    p.batch = w.batch; p.num_heads = w.num_heads; p.num_kv_heads = w.kv_heads();
    p.seq_q = w.seq_q; p.seq_kv = w.seq_kv; p.head_dim = w.head_dim; p.causal = w.causal;
    p.key_padding_mask = w.mask ? mask.data() : nullptr;
    std::vector<double> expected, expected_probs;
    attune::reference::sdpa(p, q.data(), k.data(), v.data(), expected, probs() ? &expected_probs : nullptr);
    return attune::reference::relative_max_error(out.data(), probs() ? expected_probs : expected);
  }
};

// The reference is O(B·H·Sq·Skv·D) in double: check big workloads on one head only.
Workload check_shape(Workload w) {
  w.batch = 1;
  const int group = w.num_heads / w.kv_heads();
  w.num_kv_heads = 1;
  w.num_heads = group;
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
  auto fn = reinterpret_cast<SdpaFn>(dlsym(handle, fn_name.c_str()));
  if (!fn) { emit({{"status", "load_error"}, {"error", "missing symbol " + fn_name}}); return 1; }

  const Workload w = Workload::from_json(workload_json);
  // Correctness gate: the workload's shape (one head group) and a small odd shape.
  Workload odd = w;
  odd.batch = 2; odd.seq_q = std::min(w.seq_q, 13); odd.seq_kv = 77;
  odd.num_kv_heads = 1; odd.num_heads = w.num_heads / w.kv_heads();
  std::vector<Workload> checks = {check_shape(w)};
  if (odd_shape) checks.push_back(odd);
  for (const Workload& c : checks) {
    Problem p(c, 7);
    if (int rc = p.run(fn)) { emit({{"status", "run_error"}, {"error", "Halide error " + std::to_string(rc)}}); return 1; }
    const double err = p.error();
    if (!(err <= tolerance)) {
      emit({{"status", "wrong"}, {"error", "max relative error " + std::to_string(err) + " on " + c.key()}});
      return 1;
    }
  }

  // Timing: warm-up, then `reps` samples each at least min_time/reps long. Decode workloads
  // (memory-bound) rotate through copies of their inputs beyond the caches, as the KV caches of
  // a model's layers would be: otherwise the tuner would optimise for L3 hits.
  std::vector<Problem> ps(1, Problem(w, 11));
  if (w.seq_q <= attune::kDecodeMaxSeqQ) {
    const double bytes = 8.0 * w.batch * w.kv_heads() * w.seq_kv * w.head_dim;
    ps.resize(size_t(std::max(1.0, std::ceil((256 << 20) / bytes))), ps[0]);
  }
  size_t next = 0;
  auto run = [&] { ps[next++ % ps.size()].run(fn); };
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
