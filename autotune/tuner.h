// The tuning loop: propose (strategy) -> build in parallel (builder) -> run one at a time in
// isolated processes (runner) -> record (database). Resumes from the database; a failed
// candidate is a record with its reason, never an abort.
#pragma once

#include <functional>
#include <string>

#include "autotune/candidate.h"
#include "autotune/database.h"
#include "autotune/workload.h"

namespace attune::autotune {

struct TuneOptions {
  Workload workload;
  Toolchain toolchain;
  std::string strategy = "evolutionary";
  int max_trials = 0;        // 0 = no limit (then max_seconds must be set)
  double max_seconds = 0;    // 0 = no limit
  int jobs = 2;              // parallel builds
  std::uint64_t seed = 1;
  std::string work_dir = "/tmp/attune-tune";
  double min_time_s = 0.3;   // measured time per candidate
  int repetitions = 5;
  double build_timeout_s = 180, run_timeout_s = 60;
  long long memory_bytes = 8ll << 30;
  int final_remeasure = 3;   // top candidates re-measured interleaved at the end
};

struct TuneProgress {
  int trials = 0, budget_trials = 0, failures = 0;
  double elapsed_s = 0, budget_s = 0, best_gflops = 0;
};

struct TuneResult {
  bool found = false;
  Record best;
  int trials = 0, failures = 0;
};

// The Halide target string that "host" means on this machine.
std::string resolve_target(const std::string& target);
std::string cpu_model();

TuneResult tune(const TuneOptions& options, Database& db,
                const std::function<void(const TuneProgress&)>& progress = {});

}  // namespace attune::autotune
