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
  std::string cpu;            // CPU model
  nlohmann::json config;      // Config as JSON
  std::string config_hash;
  std::string strategy;       // random, evolutionary, model, autoscheduler:NAME, default
  std::string status;         // ok, wrong, crash, timeout, build_error, ...
  std::string error;
  std::vector<double> times_ms;
  double median_ms = 0, spread = 0, gflops = 0;
  int trial = 0;
  double elapsed_s = 0;       // since the start of the tuning session
  std::string halide_version, attune_version, timestamp;
  int kernel_version = schedules::kKernelVersion;  // records before the field: 1

  nlohmann::json to_json() const;
  static Record from_json(const nlohmann::json& j);
  bool ok() const { return status == "ok"; }
};

class Database {
 public:
  // Loads existing records, skipping torn lines. Records of other kernel versions stay in the
  // file but are not loaded (counted in other_versions()): their timings describe other code.
  explicit Database(std::string path);
  const std::vector<Record>& records() const { return records_; }
  size_t other_versions() const { return other_versions_; }
  void append(const Record& r);         // durable when it returns
  bool measured(const std::string& workload_key, const std::string& target, const std::string& hash) const;
  // Best ok records of schedule configs (not autoscheduler baselines) for a workload and
  // target, fastest first, one per config: its latest "final" re-measurement if it has one,
  // else its fastest record.
  std::vector<Record> best(const std::string& workload_key, const std::string& target, size_t n) const;
  // The best of each workload measured for `target` (as best(key, target, 1)), by workload key.
  std::vector<Record> best_per_workload(const std::string& target) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<Record> records_;
  size_t other_versions_ = 0;
};

}  // namespace attune::autotune
