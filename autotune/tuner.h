// The tuning loop: propose (strategy) -> build in parallel (builder) -> run one at a time in
// isolated processes (runner) -> record (database). Resumes from the database; a failed
// candidate is a record with its reason, never an abort.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

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
  // A candidate run's time-out: run_timeout_s plus what the workload's size needs (run_timeout()).
  double build_timeout_s = 180, run_timeout_s = 60;
  long long memory_bytes = 8ll << 30;
  int final_remeasure = 3;   // top candidates re-measured interleaved at the end
  int final_rounds = 3;      // interleaved rounds of that re-measurement (more on a noisy machine)
  std::vector<schedules::Config> configs;  // measured first (before the default), e.g. hand-picked ones
  // The config this build runs for the workload (`attune which`), if it has a tuned one:
  // measured right after the default (strategy "shipped"), and re-measured with the winners at
  // the end, so that a tune says what it gained over the kernels already shipped.
  std::optional<schedules::Config> shipped;
  // Transfer from up to this many other workloads of the database (same kernel and target,
  // nearest shapes first): their best configs are measured after the default, and all their
  // measurements teach the strategy's cost model (the model strategy).
  int transfer = 4;
  // A slice of a longer tune (tune_all): false = no search, only the final re-measurement; the
  // trials and seconds the workload had before, where its records' trial and elapsed_s go on.
  bool search = true;
  int trials_before = 0;
  double seconds_before = 0;
  // Where the runner keeps the double reference between candidates ("": in work_dir, removed
  // with it; tune_all keeps one across its slices).
  std::string reference_dir;
};

struct TuneProgress {
  int trials = 0, budget_trials = 0, failures = 0;
  double elapsed_s = 0, budget_s = 0, best_gflops = 0;
  double peak_gflops = 0;  // this machine's FMA peak for the target (0: not measured, e.g. GPU)
  int final_configs = 0;   // > 0: the search is over; this many configs are re-timed interleaved now
  int final_rounds = 0;
};

struct TuneResult {
  bool found = false;
  Record best;
  // The default config's time in the final interleaved round (median_ms 0: not re-measured),
  // the baseline "the tune beats the default" is judged against under the same conditions.
  Record default_final;
  Record shipped_final;  // the same for options.shipped
  int trials = 0, failures = 0;
  bool interrupted = false;  // a stop was requested (stop_on_signals): what it cut short is not recorded
  bool exhausted = false;    // the space had no config left to measure
};

// The Halide target string that "host" means on this machine.
std::string resolve_target(const std::string& target);


// Stops early when a stop is requested (autotune/process.h): the candidate being built or run
// then is not recorded (a resumed tune measures it) and there is no final re-measurement.
TuneResult tune(const TuneOptions& options, Database& db,
                const std::function<void(const TuneProgress&)>& progress = {});

// Several workloads under one budget (attune tune --preset standard --total-budget 1h), handed
// out in slices as Ansor's task scheduler does: each workload a warm-up slice (a tune resumes,
// so a slice goes on from the last), then each slice to the workload whose best improved the
// most in its last slice (ties, once all stall: the one with the fewest slices). Each
// workload's final re-measurement comes at the end, outside the budget, as for one tune.
struct SliceHistory {
  int slices = 0, trials = 0;
  double seconds = 0, best_gflops = 0;
  double gain = 0;         // relative improvement of the best in the last slice (1: a first valid config)
  bool exhausted = false;  // its space has no config left to measure (or its last slice measured none)
  void add(const TuneResult& slice, double slice_seconds, double best_after);
};
constexpr size_t kNoSlice = size_t(-1);
size_t next_slice(const std::vector<SliceHistory>& tasks);  // kNoSlice: every task exhausted
struct TotalBudget {
  int max_trials = 0;
  double max_seconds = 0;
};
std::vector<TuneResult> tune_all(const std::vector<TuneOptions>& tasks, const TotalBudget& budget, Database& db,
                                 const std::function<void(size_t task, const TuneProgress&)>& progress = {});

// Offline batches, for a machine without Halide (a GPU box): here, the strategy proposes
// options.max_trials candidates (the default config first, then what the database teaches it)
// and builds them into `dir` with attune-runner and run.sh; there, `run.sh` checks and times
// each candidate in its own process, in interleaved rounds (attune-runner --batch); back here,
// import_batch() records the results. Further batches continue the search from the database.
struct BatchSummary {
  int built = 0, failed = 0;  // failed builds are recorded in the database at once
};
BatchSummary prepare_batch(const TuneOptions& options, Database& db, const std::string& dir);
struct ImportSummary {
  int imported = 0, failed = 0, already = 0, not_run = 0;
};
ImportSummary import_batch(const std::string& dir, Database& db);

// One database record of a measurement of `c` (the caller sets trial and elapsed_s).
Record make_record(const Workload& w, const std::string& target, const std::string& machine,
                   const schedules::Config& c, const std::string& strategy, const std::string& status,
                   const std::string& error, const std::vector<double>& times_ms);

// The runner's address-space cap for `target`: none for GPU targets (drivers reserve more
// address space than they use).
long long run_memory_cap(const std::string& target, long long memory_bytes);

}  // namespace attune::autotune
