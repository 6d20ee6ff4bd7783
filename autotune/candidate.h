// Builder and runner of one tuning candidate (MetaSchedule's split): the builder runs the
// generator executable (the same one the AOT build uses) with the candidate's Config and
// links a shared library; the runner loads it in an isolated attune-runner process that
// checks the output against the double reference before timing it.
#pragma once

#include <string>
#include <vector>

#include "autotune/process.h"
#include "autotune/workload.h"
#include "schedules/config.h"

namespace attune::autotune {

struct Toolchain {
  std::string generator_exe;   // attune_generators
  std::string runner_exe;      // attune-runner
  std::string compiler = "c++";
  std::string target = "host"; // Halide target string
  std::string pin_cpus;        // e.g. "0-1": the runner is started under taskset -c (empty: no pinning)
};

struct BuildResult {
  bool ok = false;
  std::string error;     // compile error / time-out, with the tail of the generator's stderr
  std::string library;   // .so path
  std::string function;  // symbol to call
  // Run-time settings the config asks of the runner (CUDA: --max-registers N, the driver's
  // register cap when it loads the kernels).
  std::vector<std::string> runner_args;
  double seconds = 0;
};

// The median of `xs` (the upper one of an even count); 0 for none.
double median(std::vector<double> xs);

struct RunResult {
  std::string status;    // "ok", "wrong", "crash", "timeout", "run_error", "load_error"
  std::string error;
  std::vector<double> times_ms;
  double median_ms() const;
};

// The generator executable's command line compiling workload w's kernel for `target` as the C
// function `function` (object + header in out_dir), scheduled by `config` (nullptr: the caller
// adds the schedule, e.g. an autoscheduler). Shared by candidate builds and kernel packs.
std::vector<std::string> generator_command(const std::string& generator_exe, const Workload& w,
                                           const std::string& target, const std::string& function,
                                           const std::string& out_dir, const schedules::Config* config);

// `autoscheduler` (Mullapudi2016, Adams2019, Li2018): schedule with that Halide 14
// autoscheduler plugin instead of the config (the tuner's baselines).
BuildResult build_candidate(const Toolchain& tc, const Workload& w, const schedules::Config& c,
                            const std::string& work_dir, double timeout_s = 180,
                            const std::string& autoscheduler = "");

// `odd_shape_check`: also check a small odd shape (off for autoscheduler baselines, whose
// schedules only hold for the shapes they were estimated for).
RunResult run_candidate(const Toolchain& tc, const BuildResult& b, const Workload& w,
                        double timeout_s = 60, long long memory_bytes = 8ll << 30,
                        double min_time_s = 0.3, int repetitions = 5, bool odd_shape_check = true,
                        const std::vector<std::string>& extra_runner_args = {});

}  // namespace attune::autotune
