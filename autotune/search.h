// Search strategies over a schedule Space: propose configs, learn from measurements.
#pragma once

#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "schedules/space.h"

namespace attune::autotune {

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  virtual std::string name() const = 0;
  // Up to n configs whose canonical JSON is not in `seen`.
  virtual std::vector<schedules::Config> propose(size_t n, const std::set<std::string>& seen) = 0;
  // A measurement: gflops > 0, or 0 for a failed candidate.
  virtual void observe(const schedules::Config& c, double gflops) = 0;
  // The measurements of a related workload (configs in this space's form), for strategies that
  // learn from them (the cost model ranks with them before this workload has its own).
  virtual void observe_related(const std::vector<std::pair<schedules::Config, double>>& measured) { (void)measured; }
};

// "random", "evolutionary" or "model" (Ansor-style: a learned cost model ranks candidates).
std::unique_ptr<SearchStrategy> make_strategy(const std::string& name, const schedules::Space& space,
                                              std::uint64_t seed);

}  // namespace attune::autotune
