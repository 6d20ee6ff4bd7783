#include "search.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "attune/attention.h"

namespace attune::autotune {

using schedules::Config;
using schedules::Space;

namespace {

// Shared bookkeeping: the space, a generator, and every observation so far.
class StrategyBase : public SearchStrategy {
 public:
  StrategyBase(const Space& s, std::uint64_t seed) : space_(s), rng_(seed) {}
  void observe(const Config& c, double gflops) override { history_.push_back({c, gflops}); }

 protected:
  const Space& space_;
  std::mt19937_64 rng_;
  std::vector<std::pair<Config, double>> history_;

  // The best `n` observed configs, fastest first.
  std::vector<Config> elite(size_t n) const {
    auto h = history_;
    std::sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<Config> out;
    for (const auto& [c, g] : h)
      if (g > 0 && out.size() < n) out.push_back(c);
    return out;
  }

  // Draws from `make` until n unseen distinct configs (or too many attempts).
  template <typename Make>
  std::vector<Config> fresh(size_t n, const std::set<std::string>& seen, Make make) {
    std::vector<Config> out;
    std::set<std::string> taken = seen;
    for (int attempt = 0; out.size() < n && attempt < 2000; ++attempt) {
      Config c = make();
      if (taken.insert(c.to_json()).second) out.push_back(c);
    }
    return out;
  }
};

class RandomSearch : public StrategyBase {
 public:
  using StrategyBase::StrategyBase;
  std::string name() const override { return "random"; }
  std::vector<Config> propose(size_t n, const std::set<std::string>& seen) override {
    return fresh(n, seen, [&] { return space_.sample(rng_); });
  }
};

// Evolution seeded from the best measured configs: tournament parents, mutation and
// crossover; a share of random immigrants keeps it from collapsing onto one basin.
class EvolutionarySearch : public StrategyBase {
 public:
  using StrategyBase::StrategyBase;
  std::string name() const override { return "evolutionary"; }
  std::vector<Config> propose(size_t n, const std::set<std::string>& seen) override {
    const auto parents = elite(8);
    return fresh(n, seen, [&] {
      if (parents.empty() || std::bernoulli_distribution(0.15)(rng_)) return space_.sample(rng_);
      auto pick = [&] {  // rank-biased: better parents more often
        const size_t a = std::uniform_int_distribution<size_t>(0, parents.size() - 1)(rng_);
        const size_t b = std::uniform_int_distribution<size_t>(0, parents.size() - 1)(rng_);
        return parents[std::min(a, b)];
      };
      if (parents.size() > 1 && std::bernoulli_distribution(0.3)(rng_))
        return space_.mutate(space_.crossover(pick(), pick(), rng_), rng_);
      return space_.mutate(pick(), rng_);
    });
  }
};

// Cost model: ridge regression of log(GFLOP/s relative to the workload's best) on one-hot
// knob values and pairwise products of the tile knobs, refit on every observation. Each round
// ranks a large pool of evolutionary and random candidates and measures the top ones (plus
// some exploration). Related workloads' measurements are rows too, together weighing as
// kRelatedWeight of this workload's, so the model ranks from the first round and this
// workload's own measurements take over as they come.
class ModelSearch : public EvolutionarySearch {
 public:
  using EvolutionarySearch::EvolutionarySearch;
  std::string name() const override { return "model"; }

  void observe(const Config& c, double gflops) override {
    StrategyBase::observe(c, gflops);
    fit();
  }

  void observe_related(const std::vector<std::pair<Config, double>>& measured) override {
    for (const auto& [c, y] : relative_log_gflops(measured)) related_.emplace_back(features(c), y);
    fit();
  }

  std::vector<Config> propose(size_t n, const std::set<std::string>& seen) override {
    if (history_.size() < 8 && related_.empty()) return EvolutionarySearch::propose(n, seen);
    std::vector<Config> pool = EvolutionarySearch::propose(64, seen);
    for (Config& c : fresh(64, seen, [&] { return space_.sample(rng_); })) pool.push_back(c);
    std::sort(pool.begin(), pool.end(), [&](const Config& a, const Config& b) { return predict(a) > predict(b); });
    std::vector<Config> out;
    std::set<std::string> taken;
    for (const Config& c : pool) {
      if (out.size() >= n) break;
      if (taken.insert(c.to_json()).second) out.push_back(c);
    }
    if (!out.empty() && std::bernoulli_distribution(0.2)(rng_)) out.back() = pool[pool.size() / 2];
    return out;
  }

 private:
  std::vector<double> weights_;

  std::vector<double> features(const Config& c) const {
    std::vector<double> f{1.0};
    std::vector<double> ordinal;
    for (const auto& k : space_.knobs()) {
      for (auto v : k.values) f.push_back(c.get(k.name) == v ? 1.0 : 0.0);
      const auto pos = std::find(k.values.begin(), k.values.end(), c.get(k.name)) - k.values.begin();
      ordinal.push_back(k.values.size() > 1 ? double(pos) / double(k.values.size() - 1) : 0.0);
    }
    for (size_t a = 0; a < ordinal.size(); ++a)
      for (size_t b = a + 1; b < ordinal.size(); ++b) f.push_back(ordinal[a] * ordinal[b]);
    return f;
  }

  double predict(const Config& c) const {
    if (weights_.empty()) return 0;
    const auto f = features(c);
    double y = 0;
    for (size_t i = 0; i < f.size(); ++i) y += weights_[i] * f[i];
    return y;
  }

  static constexpr double kRelatedWeight = 16;  // all related rows together, in this workload's rows
  std::vector<std::pair<std::vector<double>, double>> related_;  // features, relative log GFLOP/s

  // log(GFLOP/s / the best of them); failures at half the slowest (they rank low).
  static std::vector<std::pair<Config, double>> relative_log_gflops(const std::vector<std::pair<Config, double>>& measured) {
    double best = 0, worst = 0;
    for (const auto& [c, g] : measured)
      if (g > 0) best = std::max(best, g), worst = worst > 0 ? std::min(worst, g) : g;
    std::vector<std::pair<Config, double>> out;
    if (best > 0)
      for (const auto& [c, g] : measured) out.emplace_back(c, std::log((g > 0 ? g : worst * 0.5) / best));
    return out;
  }

  void fit() {
    const size_t m = features(space_.default_config()).size();
    std::vector<double> A(m * m, 0.0), rhs(m, 0.0);
    const auto add_row = [&](const std::vector<double>& f, double y, double weight) {
      for (size_t i = 0; i < m; ++i) {
        rhs[i] += weight * f[i] * y;
        for (size_t j = 0; j < m; ++j) A[i * m + j] += weight * f[i] * f[j];
      }
    };
    for (const auto& [c, y] : relative_log_gflops(history_)) add_row(features(c), y, 1.0);
    const double related_weight = std::min(1.0, kRelatedWeight / double(std::max<size_t>(1, related_.size())));
    for (const auto& [f, y] : related_) add_row(f, y, related_weight);
    for (size_t i = 0; i < m; ++i) A[i * m + i] += 0.1;  // ridge
    // Gaussian elimination with partial pivoting (m is a few dozen).
    for (size_t col = 0; col < m; ++col) {
      size_t piv = col;
      for (size_t r = col + 1; r < m; ++r)
        if (std::abs(A[r * m + col]) > std::abs(A[piv * m + col])) piv = r;
      for (size_t j = 0; j < m; ++j) std::swap(A[col * m + j], A[piv * m + j]);
      std::swap(rhs[col], rhs[piv]);
      for (size_t r = col + 1; r < m; ++r) {
        const double factor = A[r * m + col] / A[col * m + col];
        for (size_t j = col; j < m; ++j) A[r * m + j] -= factor * A[col * m + j];
        rhs[r] -= factor * rhs[col];
      }
    }
    weights_.assign(m, 0.0);
    for (size_t i = m; i-- > 0;) {
      double s = rhs[i];
      for (size_t j = i + 1; j < m; ++j) s -= A[i * m + j] * weights_[j];
      weights_[i] = s / A[i * m + i];
    }
  }
};

}  // namespace

std::unique_ptr<SearchStrategy> make_strategy(const std::string& name, const Space& space, std::uint64_t seed) {
  if (name == "random") return std::make_unique<RandomSearch>(space, seed);
  if (name == "evolutionary") return std::make_unique<EvolutionarySearch>(space, seed);
  if (name == "model") return std::make_unique<ModelSearch>(space, seed);
  throw Error("unknown search strategy '" + name + "' (random, evolutionary, model)");
}

}  // namespace attune::autotune
