#include "database.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "attune/attention.h"

namespace attune::autotune {

nlohmann::json Record::to_json() const {
  return {{"workload_key", workload_key}, {"workload", workload}, {"target", target}, {"cpu", cpu},
          {"cpu_features", cpu_features},
          {"config", config}, {"config_hash", config_hash}, {"strategy", strategy}, {"status", status},
          {"error", error}, {"times_ms", times_ms}, {"median_ms", median_ms}, {"spread", spread},
          {"gflops", gflops}, {"peak_gflops", peak_gflops}, {"trial", trial}, {"elapsed_s", elapsed_s},
          {"halide_version", halide_version}, {"attune_version", attune_version}, {"timestamp", timestamp},
          {"kernel_version", kernel_version}};
}

Record Record::from_json(const nlohmann::json& j) {
  Record r;
  r.workload_key = j.at("workload_key");
  r.workload = j.value("workload", nlohmann::json::object());
  r.target = j.at("target");
  r.cpu = j.value("cpu", "");
  r.cpu_features = j.value("cpu_features", "");
  r.config = j.at("config");
  r.config_hash = j.at("config_hash");
  r.strategy = j.value("strategy", "");
  r.status = j.at("status");
  r.error = j.value("error", "");
  r.times_ms = j.value("times_ms", std::vector<double>{});
  r.median_ms = j.value("median_ms", 0.0);
  r.spread = j.value("spread", 0.0);
  r.gflops = j.value("gflops", 0.0);
  r.peak_gflops = j.value("peak_gflops", 0.0);
  r.trial = j.value("trial", 0);
  r.elapsed_s = j.value("elapsed_s", 0.0);
  r.halide_version = j.value("halide_version", "");
  r.attune_version = j.value("attune_version", "");
  r.timestamp = j.value("timestamp", "");
  r.kernel_version = j.value("kernel_version", 1);
  return r;
}

Database::Database(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    try {
      Record r = Record::from_json(nlohmann::json::parse(line));
      if (r.kernel_version == schedules::kernel_version_for(r.target)) records_.push_back(std::move(r));
      else ++other_versions_;
    } catch (const std::exception&) {
      std::fprintf(stderr, "attune: warning: %s:%d: skipping unreadable record (torn write?)\n",
                   path_.c_str(), line_no);
    }
  }
  if (other_versions_)
    std::fprintf(stderr, "attune: note: %s: %zu records measured with other kernel versions are not used "
                 "(this build's kernels are version %d, GPU kernels %d); tune again to refresh them\n",
                 path_.c_str(), other_versions_, schedules::kKernelVersion, schedules::kGpuKernelVersion);
}

void Database::append(const Record& r) {
  // A torn last line (killed mid-write) must not swallow this record: start on a new line.
  std::string line = r.to_json().dump() + "\n";
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND, 0644);
  if (fd < 0) throw Error("tuning database: cannot open " + path_);
  off_t size = lseek(fd, 0, SEEK_END);
  if (size > 0) {
    char last = '\n';
    if (pread(fd, &last, 1, size - 1) == 1 && last != '\n') line = "\n" + line;
  }
  const bool ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw Error("tuning database: write to " + path_ + " failed");
  records_.push_back(r);
}

bool Database::measured(const std::string& key, const std::string& target, const std::string& hash,
                        const std::string& machine) const {
  return std::any_of(records_.begin(), records_.end(), [&](const Record& r) {
    return r.workload_key == key && r.target == target && r.config_hash == hash && r.measured_on(machine);
  });
}

std::vector<Record> Database::per_config(const std::string& key, const std::string& target, size_t n,
                                         const std::string& machine, bool finalists_first) const {
  struct Entry {
    Record rec;  // the record that ranks the config
    bool final = false;
  };
  std::vector<Entry> per_config;
  for (const Record& r : records_) {  // autoscheduler baselines are references, not configs
    if (!r.ok() || r.workload_key != key || r.target != target || !r.measured_on(machine) ||
        r.strategy.rfind("autoscheduler:", 0) == 0)
      continue;
    auto it = std::find_if(per_config.begin(), per_config.end(),
                           [&](const Entry& e) { return e.rec.config_hash == r.config_hash; });
    const bool final = finalists_first && r.strategy == "final";
    if (it == per_config.end()) per_config.push_back({r, final});
    else if (final || (!it->final && r.median_ms < it->rec.median_ms)) *it = {r, final};
  }
  std::stable_sort(per_config.begin(), per_config.end(), [](const Entry& a, const Entry& b) {
    return a.final != b.final ? a.final : a.rec.median_ms < b.rec.median_ms;
  });
  std::vector<Record> out;
  for (size_t i = 0; i < per_config.size() && i < n; ++i) out.push_back(per_config[i].rec);
  return out;
}

std::vector<Record> Database::best(const std::string& key, const std::string& target, size_t n,
                                   const std::string& machine) const {
  return per_config(key, target, n, machine, true);
}

std::vector<Record> Database::fastest(const std::string& key, const std::string& target, size_t n,
                                      const std::string& machine) const {
  return per_config(key, target, n, machine, false);
}

std::vector<Record> Database::best_per_workload(const std::string& target, const std::string& machine) const {
  std::set<std::string> keys;
  for (const Record& r : records_)
    if (r.target == target && r.measured_on(machine)) keys.insert(r.workload_key);
  std::vector<Record> out;
  for (const std::string& key : keys)
    for (const Record& b : best(key, target, 1, machine)) out.push_back(b);
  return out;
}

std::vector<std::string> Database::machines(const std::string& target) const {
  std::set<std::string> names;
  for (const Record& r : records_)
    if (r.target == target) names.insert(r.cpu);
  return {names.begin(), names.end()};
}

}  // namespace attune::autotune
