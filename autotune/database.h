// Tuning database: append-only JSONL, one record per measured (or failed) candidate.
// Each append is one write(2) of a whole line followed by fsync, so a tuner killed at any
// moment leaves at most a torn last line, which load() skips with a warning.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "schedules/config.h"

namespace attune::autotune {

struct Record {
  std::string workload_key;   // Workload::key()
  nlohmann::json workload;    // Workload as JSON
  std::string target;         // Halide target string
  std::string cpu;            // the measuring machine (machine_name(); an offline batch: its GPU's name)
  std::string cpu_features;   // the measuring host as a Halide target (its ISA); empty: not known (imported)
  nlohmann::json config;      // Config as JSON
  std::string config_hash;
  std::string strategy;       // random, evolutionary, model, autoscheduler:NAME, default
  std::string status;         // ok, wrong, crash, timeout, build_error, ...
  std::string error;
  std::vector<double> times_ms;
  double median_ms = 0, spread = 0, gflops = 0;
  double peak_gflops = 0;     // the machine's fp32 FMA peak for the target's vectors (0: unknown)
  int trial = 0;
  double elapsed_s = 0;       // since the start of the tuning session
  std::string halide_version, attune_version, timestamp;
  int kernel_version = schedules::kKernelVersion;  // records before the field: 1

  nlohmann::json to_json() const;
  static Record from_json(const nlohmann::json& j);
  bool ok() const { return status == "ok"; }
  bool measured_on(const std::string& machine) const { return machine.empty() || cpu == machine; }  // "": any
};

class Database {
 public:
  // Loads existing records, skipping torn lines. Records of other kernel versions stay in the
  // file but are not loaded (counted in other_versions()): their timings describe other code.
  explicit Database(std::string path);
  const std::vector<Record>& records() const { return records_; }
  size_t other_versions() const { return other_versions_; }
  void append(const Record& r);         // durable when it returns

  // Queries take the machine whose measurements count (Record::cpu); "" = every machine's.
  bool measured(const std::string& workload_key, const std::string& target, const std::string& hash,
                const std::string& machine = "") const;
  // The decision: best ok records of schedule configs (not autoscheduler baselines) for a
  // workload and target, one per config. Configs re-measured together at the end of a tune
  // ("final", interleaved so drift hits them alike) rank first, by their latest re-measurement;
  // the fastest of many noisy search measurements is biased low (winner's curse), so it ranks a
  // config only when it has no re-measurement.
  std::vector<Record> best(const std::string& workload_key, const std::string& target, size_t n,
                           const std::string& machine = "") const;
  // Each config's fastest ok measurement of any kind, fastest first: who enters the next
  // end-of-tune re-measurement (a config found faster since the last one must get its chance).
  std::vector<Record> fastest(const std::string& workload_key, const std::string& target, size_t n,
                              const std::string& machine = "") const;
  // The best of each workload measured for `target` (as best(key, target, 1)), by workload key.
  std::vector<Record> best_per_workload(const std::string& target, const std::string& machine = "") const;
  // The machines with records for `target`, sorted.
  std::vector<std::string> machines(const std::string& target) const;
  const std::string& path() const { return path_; }

 private:
  std::vector<Record> per_config(const std::string& workload_key, const std::string& target, size_t n,
                                 const std::string& machine, bool finalists_first) const;

  std::string path_;
  std::vector<Record> records_;
  size_t other_versions_ = 0;
};

}  // namespace attune::autotune
