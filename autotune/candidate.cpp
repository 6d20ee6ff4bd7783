#include "candidate.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attune/attention.h"

namespace attune::autotune {

double median(std::vector<double> xs) {
  if (xs.empty()) return 0;
  std::nth_element(xs.begin(), xs.begin() + xs.size() / 2, xs.end());
  return xs[xs.size() / 2];
}

double RunResult::median_ms() const { return median(times_ms); }

std::vector<std::string> generator_command(const std::string& generator_exe, const Workload& w,
                                           const std::string& target, const std::string& function,
                                           const std::string& out_dir, const schedules::Config* config) {
  std::vector<std::string> gen = {generator_exe, "-g", w.kernel, "-f", function, "-e", "object,c_header", "-o", out_dir,
                                  "target=" + target};
  if (w.kernel != "linear")  // the projection GEMM takes any feature counts: no variant params
    gen.insert(gen.end(), {"head_dim=" + std::to_string(w.head_dim), std::string("causal=") + (w.causal ? "true" : "false"),
                           std::string("has_mask=") + (w.mask ? "true" : "false")});
  if (w.kernel == "sdpa") gen.push_back(std::string("decode=") + (w.seq_q <= attune::kDecodeMaxSeqQ ? "true" : "false"));
  if (config) gen.push_back("config=" + config->to_json());
  return gen;
}

BuildResult build_candidate(const Toolchain& tc, const Workload& w, const schedules::Config& c,
                            const std::string& work_dir, double timeout_s, const std::string& autoscheduler) {
  BuildResult b;
  const std::string dir = work_dir + "/" + (autoscheduler.empty() ? c.hash_hex() : autoscheduler);
  std::filesystem::create_directories(dir);
  b.function = "attune_candidate";
  std::vector<std::string> gen =
      generator_command(tc.generator_exe, w, tc.target, b.function, dir, autoscheduler.empty() ? &c : nullptr);
  if (!autoscheduler.empty()) {
    std::string lower = autoscheduler;
    for (char& ch : lower) ch = char(std::tolower(ch));
    gen.insert(gen.end(), {"-p", std::string(ATTUNE_HALIDE_PLUGIN_DIR) + "/libautoschedule_" + lower + ".so",
                           "-s", autoscheduler, "auto_schedule=true", "machine_params=2,16777216,40"});
  }
  ProcessResult g = run_process(gen, {timeout_s, 0});
  b.seconds = g.seconds;
  if (!g.ok()) {
    b.error = "generator " + g.describe() + ": " + g.err;
    return b;
  }
  b.library = dir + "/candidate.so";
  ProcessResult l = run_process(
      {tc.compiler, "-shared", "-o", b.library, dir + "/" + b.function + ".o", "-lpthread", "-ldl"},
      {60, 0});
  b.seconds += l.seconds;
  if (!l.ok()) {
    b.error = "link " + l.describe() + ": " + l.err;
    return b;
  }
  if (c.knobs.count("max_registers")) b.runner_args = {"--max-registers", std::to_string(c.get("max_registers"))};
  b.ok = true;
  return b;
}

RunResult run_candidate(const Toolchain& tc, const BuildResult& b, const Workload& w,
                        double timeout_s, long long memory_bytes, double min_time_s, int repetitions,
                        bool odd_shape_check, const std::vector<std::string>& extra_runner_args) {
  RunResult r;
  std::vector<std::string> argv = {tc.runner_exe, "--library", b.library, "--function", b.function,
                                   "--workload", w.to_json(), "--min-time", std::to_string(min_time_s),
                                   "--repetitions", std::to_string(repetitions), "--odd-shape",
                                   odd_shape_check ? "1" : "0"};
  argv.insert(argv.end(), b.runner_args.begin(), b.runner_args.end());
  argv.insert(argv.end(), extra_runner_args.begin(), extra_runner_args.end());
  if (!tc.pin_cpus.empty()) argv.insert(argv.begin(), {"taskset", "-c", tc.pin_cpus});
  // No load-time warm-up in the runner: its background prefault would run beside the
  // candidate's first repetitions, and the tuner measures repeated calls.
  argv.insert(argv.begin(), {"env", "ATTUNE_WARMUP_MB=0"});
  ProcessResult p = run_process(argv, {timeout_s, memory_bytes});
  if (p.timed_out) {
    r.status = "timeout";
    r.error = p.describe();
    return r;
  }
  const auto line = p.out.substr(0, p.out.find('\n'));
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (p.signal != 0 || j.is_discarded() || !j.is_object()) {
    r.status = "crash";
    r.error = p.describe() + (p.err.empty() ? "" : ": " + p.err);
    return r;
  }
  r.status = j.value("status", "crash");
  r.error = j.value("error", "");
  if (j.contains("times_ms")) r.times_ms = j["times_ms"].get<std::vector<double>>();
  return r;
}

}  // namespace attune::autotune
