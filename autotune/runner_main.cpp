// attune-runner: loads one compiled candidate (a shared library from the builder), checks
// its output against the double reference on the workload (and a small odd shape), then
// times it. Runs in its own process, started by the tuner with time and memory limits, so
// a candidate that crashes, hangs or eats memory takes only this process down.
// Prints one JSON line on stdout: {"status": "ok"|"wrong", "error": ..., "times_ms": [...]}.
#include <HalideBuffer.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "attune/attention.h"
#include "autotune/batch.h"
#include "autotune/candidate.h"
#include "autotune/machine.h"
#include "autotune/workload.h"
#include "reference/reference.h"
#include "reference/aligned.h"
#include "runtime/src/halide_hooks.h"

namespace {

using attune::autotune::Workload;
using Halide::Runtime::Buffer;
using SdpaFn = int (*)(halide_buffer_t*, halide_buffer_t*, halide_buffer_t*, halide_buffer_t*,
                       float, halide_buffer_t*);
using LinearFn = int (*)(halide_buffer_t*, halide_buffer_t*, halide_buffer_t*, halide_buffer_t*);
using AnyFn = void (*)();

// Where the double reference's outputs are kept between runner processes (--reference-cache):
// a tune or batch checks every candidate of a workload against the same inputs, and the
// reference of a long sequence costs seconds. Kept only from a run that passed its check: a
// candidate scribbling over its inputs must not poison the reference of the next ones.
std::string g_reference_cache;

bool load_doubles(const std::string& path, std::vector<double>& v, size_t n) {
  if (path.empty()) return false;
  std::ifstream in(path, std::ios::binary);
  v.resize(n);
  return in && in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(double))) &&
         in.peek() == std::char_traits<char>::eof();
}

void store_doubles(const std::string& path, const std::vector<double>& v) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp" + std::to_string(getpid());  // complete files only (rename)
  std::ofstream(tmp, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
  std::filesystem::rename(tmp, path);
}

// One call of the candidate on random inputs, and its error against the double reference.
class Problem {
 public:
  virtual ~Problem() = default;
  virtual int run(AnyFn fn) = 0;
  // Max relative error of the last run; the reference is cached when it is at most `tolerance`.
  virtual double error(double tolerance) = 0;
  virtual int sync() { return 0; }  // wait for a GPU pipeline's kernels (CPU: nothing to wait for)
};

class SdpaProblem : public Problem {
 public:
  SdpaProblem(const Workload& wl, unsigned seed) : w(wl), seed_(seed) {
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

  // The buffers live as long as the problem: a GPU pipeline copies the inputs to the device on
  // the first call only (they are marked host-dirty once) and leaves its output there, so the
  // timed calls measure the kernels, not the transfers.
  int run(AnyFn fn) override {
    const int D = w.head_dim;
    if (!qb.data()) {
      qb = Buffer<float>(q.data(), D, w.seq_q, w.num_heads, w.batch);
      kb = Buffer<float>(k.data(), D, w.seq_kv, w.kv_heads(), w.batch);
      vb = Buffer<float>(v.data(), D, w.seq_kv, w.kv_heads(), w.batch);
      ob = Buffer<float>(out.data(), probs() ? w.seq_kv : D, w.seq_q, w.num_heads, w.batch);
      mb = Buffer<std::uint8_t>(mask.data(), w.seq_kv, w.batch);
      for (auto* b : {&qb, &kb, &vb}) b->set_host_dirty();
      mb.set_host_dirty();
    }
    return reinterpret_cast<SdpaFn>(fn)(qb.raw_buffer(), kb.raw_buffer(), vb.raw_buffer(), mb.raw_buffer(),
                                        1.0f / std::sqrt(float(D)), ob.raw_buffer());
  }
  int sync() override { return ob.device_sync(); }

  double error(double tolerance) override {
    if (ob.copy_to_host() != 0) return std::numeric_limits<double>::infinity();
    attune::reference::SdpaProblem p;
    p.batch = w.batch; p.num_heads = w.num_heads; p.num_kv_heads = w.kv_heads();
    p.seq_q = w.seq_q; p.seq_kv = w.seq_kv; p.head_dim = w.head_dim; p.causal = w.causal;
    p.key_padding_mask = w.mask ? mask.data() : nullptr;
    std::vector<double> expected, expected_probs;
    std::vector<double>& want = probs() ? expected_probs : expected;
    const std::string cached = g_reference_cache.empty() ? "" : g_reference_cache + "/" + w.key() + "-" + std::to_string(seed_) + ".f64";
    if (load_doubles(cached, want, out.size())) return attune::reference::relative_max_error(out.data(), want);
    attune::reference::sdpa(p, q.data(), k.data(), v.data(), expected, probs() ? &expected_probs : nullptr);
    const double err = attune::reference::relative_max_error(out.data(), want);
    if (err <= tolerance) store_doubles(cached, want);
    return err;
  }

 private:
  Workload w;
  unsigned seed_;
  attune::reference::AlignedVector<float> q, k, v, out;
  std::vector<std::uint8_t> mask;
  Buffer<float> qb, kb, vb, ob;
  Buffer<std::uint8_t> mb;
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

  double error(double) override {
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

// --batch DIR: each candidate of DIR/batch.jsonl checked and timed in its own process (this
// executable again), `rounds` times interleaved; one line per run appended to
// DIR/results.jsonl. Runs already there are skipped: a killed batch resumes where it stopped.
// Results name `machine`, or ("") the one measuring each entry's target here.
int run_batch(const std::string& dir, int rounds, double timeout_s, const std::string& machine, double min_time,
              int reps) {
  using attune::autotune::batch_file;
  if (!std::ifstream(batch_file(dir))) {
    std::fprintf(stderr, "attune-runner: no batch.jsonl in %s\n", dir.c_str());
    return 2;
  }
  const std::vector<nlohmann::json> entries = attune::autotune::read_jsonl(batch_file(dir));
  for (size_t n = 0; n < entries.size(); ++n)
    if (entries[n].is_discarded()) {
      std::fprintf(stderr, "attune-runner: %s: line %zu is not JSON\n", batch_file(dir).c_str(), n + 1);
      return 2;
    }
  std::set<std::pair<size_t, int>> done;
  std::set<size_t> failed;
  const std::string results = attune::autotune::results_file(dir);
  for (const nlohmann::json& r : attune::autotune::read_jsonl(results)) {
    if (r.is_discarded() || !r.contains("line")) continue;  // a torn last line (killed run)
    done.insert({r["line"].get<size_t>(), r.value("round", 0)});
    if (r.value("status", "") != "ok") failed.insert(r["line"].get<size_t>());
  }
  std::ofstream out(results, std::ios::app);
  std::filesystem::create_directories(dir + "/reference");
  attune::autotune::Toolchain tc;
  tc.runner_exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::map<std::string, std::string> measuring;  // target -> machine (asked once: nvidia-smi is slow)
  const auto machine_of = [&](const nlohmann::json& e) {
    const std::string target = e.value("target", "");
    if (!machine.empty()) return machine;
    if (!measuring.count(target)) measuring[target] = attune::autotune::measuring_machine(target);
    return measuring[target];
  };
  for (int round = 0; round < rounds; ++round)
    for (size_t n = 0; n < entries.size(); ++n) {
      if (done.count({n, round}) || failed.count(n)) continue;
      const nlohmann::json& e = entries[n];
      attune::autotune::BuildResult b;
      b.ok = true;
      b.library = dir + "/" + e["library"].get<std::string>();
      b.function = e["function"];
      if (e.contains("runner_args")) b.runner_args = e["runner_args"].get<std::vector<std::string>>();
      const Workload w = Workload::from_json(e["workload"].dump());
      // Checked against the reference in its first round; later rounds only time the same library.
      const std::vector<std::string> extra = {"--reference-cache", dir + "/reference", "--check", round == 0 ? "1" : "0"};
      const auto r = attune::autotune::run_candidate(tc, b, w, timeout_s, e.value("memory_bytes", 0ll), min_time, reps,
                                                     true, extra);
      nlohmann::json line = {{"line", n}, {"round", round}, {"status", r.status}, {"machine", machine_of(e)}};
      if (!r.error.empty()) line["error"] = r.error;
      if (!r.times_ms.empty()) line["times_ms"] = r.times_ms;
      out << line.dump() << "\n" << std::flush;
      if (r.status != "ok") failed.insert(n);
      std::fprintf(stderr, "round %d/%d, candidate %zu/%zu (%s): %s %.4f ms\n", round + 1, rounds, n + 1,
                   entries.size(), w.key().c_str(), r.status.c_str(), r.median_ms());
    }
  return 0;
}

void emit(const nlohmann::json& j) { std::printf("%s\n", j.dump().c_str()); std::fflush(stdout); }

}  // namespace

int main(int argc, char** argv) {
  std::string lib, fn_name, workload_json, batch, machine;
  double min_time = 0.3, tolerance = 1e-4, timeout = 120;
  int reps = 5, rounds = 3;
  bool odd_shape = true, check = true;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string flag = argv[a], val = argv[a + 1];
    if (flag == "--batch") batch = val;
    else if (flag == "--reference-cache") g_reference_cache = val;
    // Halide's CUDA runtime reads its register cap for loading kernels from the environment.
    else if (flag == "--max-registers") setenv("HL_CUDA_JIT_MAX_REGISTERS", val.c_str(), 1);
    else if (flag == "--check") check = val != "0";
    else if (flag == "--rounds") rounds = std::stoi(val);
    else if (flag == "--timeout") timeout = std::stod(val);
    else if (flag == "--machine") machine = val;
    else if (flag == "--library") lib = val;
    else if (flag == "--function") fn_name = val;
    else if (flag == "--workload") workload_json = val;
    else if (flag == "--min-time") min_time = std::stod(val);
    else if (flag == "--repetitions") reps = std::stoi(val);
    else if (flag == "--tolerance") tolerance = std::stod(val);
    else if (flag == "--odd-shape") odd_shape = val != "0";
    else { std::fprintf(stderr, "attune-runner: unknown flag %s\n", flag.c_str()); return 2; }
  }
  if (!batch.empty()) return run_batch(batch, rounds, timeout, machine, min_time, reps);
  if (lib.empty() || fn_name.empty() || workload_json.empty()) {
    std::fprintf(stderr, "usage: attune-runner --library X.so --function NAME --workload JSON "
                         "[--min-time S] [--repetitions N] [--tolerance T]\n"
                         "       attune-runner --batch DIR [--rounds N] [--timeout S] [--machine NAME] [--min-time S]\n");
    return 2;
  }
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) { emit({{"status", "load_error"}, {"error", dlerror()}}); return 1; }
  auto fn = reinterpret_cast<AnyFn>(dlsym(handle, fn_name.c_str()));
  if (!fn) { emit({{"status", "load_error"}, {"error", "missing symbol " + fn_name}}); return 1; }
  // The candidate runs on attune's thread pool and scratch allocator, as the kernels it may
  // become do in the runtime (its own Halide runtime's would time something else).
  attune::detail::install_halide_hooks(handle);

  const Workload w = Workload::from_json(workload_json);
  // Correctness gate: the workload's shape (one head group) and a small odd shape.
  std::vector<Workload> checks;
  if (check) checks.push_back(check_shape(w));
  if (check && odd_shape) checks.push_back(odd_check_shape(w));
  for (const Workload& c : checks) {
    auto p = make_problem(c, 7);
    if (int rc = p->run(fn)) {
      emit({{"status", "run_error"}, {"error", "Halide error " + std::to_string(rc) + ": " + attune::detail::take_halide_error()}});
      return 1;
    }
    const double err = p->error(tolerance);
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
  auto sync = [&] {
    for (auto& p : ps) p->sync();
  };
  run();
  sync();
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  run();
  sync();
  const double once = std::chrono::duration<double>(clock::now() - t0).count();
  const int inner = std::max(1, int(min_time / reps / std::max(once, 1e-6)));
  std::vector<double> times_ms;
  for (int r = 0; r < reps; ++r) {
    t0 = clock::now();
    for (int n = 0; n < inner; ++n) run();
    sync();
    times_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count() / inner);
  }
  emit({{"status", "ok"}, {"times_ms", times_ms}});
  return 0;
}
