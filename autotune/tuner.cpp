#include "tuner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "Halide.h"
#include "attune/attention.h"
#include "autotune/batch.h"
#include "autotune/fma_peak.h"
#include "autotune/machine.h"
#include "autotune/process.h"
#include "autotune/search.h"
#include "schedules/apply.h"

#ifndef ATTUNE_HALIDE_VERSION
#define ATTUNE_HALIDE_VERSION "unknown"
#endif
#ifndef ATTUNE_VERSION
#define ATTUNE_VERSION "unknown"
#endif

namespace attune::autotune {

using schedules::Config;

std::string resolve_target(const std::string& target) {
  const Halide::Target t = target == "host" ? Halide::get_host_target() : Halide::Target(target);
  return t.to_string();
}

namespace {

std::string now_iso8601() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

double spread_of(const std::vector<double>& t) {
  if (t.empty()) return 0;
  const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
  return (*hi - *lo) / *lo;
}

// A config as the search knows it: completed (a record older than a knob lacks it) and
// canonical (knobs its algorithm ignores fixed), so that one kernel is one entry of `seen`.
Config searched_form(const schedules::Space& space, const Config& c) { return space.canonical(space.complete(c)); }
Config searched_form(const schedules::Space& space, const nlohmann::json& config) {
  return searched_form(space, Config::from_json(config.dump()));
}

// A record of workload `key` on `target` made by the search (an autoscheduler baseline's
// config is a marker, not a point of the space).
bool searched_record(const Record& r, const std::string& key, const std::string& target) {
  return r.workload_key == key && r.target == target && r.strategy.rfind("autoscheduler:", 0) != 0;
}

// Resume: everything the database has for this workload x target measured on `machine` ("":
// on any) is seen, and teaches the strategy.
std::set<std::string> resume(const Database& db, const Workload& w, const std::string& target,
                             const std::string& machine, const schedules::Space& space, SearchStrategy& strategy) {
  std::set<std::string> seen;
  for (const Record& r : db.records())
    if (searched_record(r, w.key(), target) && r.measured_on(machine)) {
      const Config c = searched_form(space, r.config);
      if (seen.insert(c.to_json()).second) strategy.observe(c, r.ok() ? r.gflops : 0.0);
    }
  return seen;
}

bool is_decode(const Workload& w) { return w.seq_q <= kDecodeMaxSeqQ; }

// The space searched for `w`: its shape known, canonical() folds the knobs it makes dead.
schedules::Space space_of(const Workload& w, const std::string& target) {
  schedules::SpaceParams p =
      schedules::space_for_target(w.kernel, Halide::Target(target), w.head_dim, w.causal, is_decode(w)).params();
  p.seq_kv = w.seq_kv;
  p.kv_group = w.num_heads / w.kv_heads();
  return schedules::Space(p);
}

// How far apart two workloads are for transfer: causality and head_dim first, then GQA and
// masking, then the ratios of their lengths and batch.
double workload_distance(const Workload& a, const Workload& b) {
  const auto log_ratio = [](int x, int y) { return std::abs(std::log2(double(x) / double(y))); };
  const auto gqa = [](const Workload& w) { return w.kv_heads() < w.num_heads; };
  return 8.0 * (a.causal != b.causal) + 4.0 * (a.head_dim != b.head_dim) + 2.0 * (gqa(a) != gqa(b)) +
         1.0 * (a.mask != b.mask) + log_ratio(a.seq_q, b.seq_q) + log_ratio(a.seq_kv, b.seq_kv) +
         log_ratio(a.batch, b.batch);
}

// Records a tune learns from before it measures: a workload's records on one machine ("": any).
struct TransferSource {
  std::string key, machine;
};

// The n workloads of the database nearest to `w` (same kernel and target; decode and prefill
// apart: split-KV chunks against query tiles), nearest first.
std::vector<std::string> related_workloads(const Database& db, const Workload& w, const std::string& target, int n) {
  std::map<std::string, double> distance;
  for (const Record& r : db.records())
    if (r.target == target && r.workload_key != w.key() && !distance.count(r.workload_key)) {
      const Workload other = Workload::from_json(r.workload.dump());
      if (other.kernel == w.kernel && is_decode(other) == is_decode(w))
        distance[r.workload_key] = workload_distance(w, other);
    }
  std::vector<std::pair<double, std::string>> near;
  for (const auto& [key, d] : distance) near.emplace_back(d, key);
  std::sort(near.begin(), near.end());
  std::vector<std::string> out;
  for (const auto& [d, key] : near)
    if (out.size() < size_t(std::max(0, n))) out.push_back(key);
  return out;
}

// Up to n sources for a tune of `w` on `machine`: other machines' tunes of `w` itself first
// (their winners often carry over, their timings do not: measured again here), then the
// nearest other workloads.
std::vector<TransferSource> transfer_sources(const Database& db, const Workload& w, const std::string& target,
                                             const std::string& machine, int n) {
  std::vector<TransferSource> out;
  if (!machine.empty())
    for (const std::string& other : db.machines(target))
      if (other != machine && !db.best(w.key(), target, 1, other).empty() && int(out.size()) < n)
        out.push_back({w.key(), other});
  for (const std::string& key : related_workloads(db, w, target, n - int(out.size()))) out.push_back({key, ""});
  return out;
}

// Transfer, as a person re-tuning seeds a new shape with the last best: all measurements of
// the related workloads teach the strategy (its cost model ranks with them before this
// workload has its own), and their best configs, as far as they are valid in this workload's
// space (in its canonical form), are returned to be measured first.
std::vector<Config> transfer_from(const Database& db, const std::vector<TransferSource>& sources,
                                  const std::string& target, const schedules::Space& space, SearchStrategy& strategy) {
  std::vector<Config> best;
  for (const auto& [key, machine] : sources) {
    std::vector<std::pair<Config, double>> measured;
    for (const Record& r : db.records())
      if (searched_record(r, key, target) && r.measured_on(machine) && r.strategy != "final") {
        const Config c = searched_form(space, r.config);
        if (!space.validate(c)) measured.emplace_back(c, r.ok() ? r.gflops : 0.0);
      }
    strategy.observe_related(measured);
    for (const Record& r : db.best(key, target, 1, machine)) {
      const Config c = searched_form(space, r.config);
      if (!space.validate(c) && std::find(best.begin(), best.end(), c) == best.end()) best.push_back(c);
    }
  }
  return best;
}

// The shipped config as the search knows it; none if this workload's space rejects it.
std::optional<Config> shipped_in(const schedules::Space& space, const std::optional<Config>& shipped) {
  if (!shipped) return std::nullopt;
  const Config c = space.complete(*shipped);
  if (space.validate(c)) return std::nullopt;
  return space.canonical(c);
}

// The next candidates: the caller's `given` configs (asked for by name: measured even with a
// budget of one), the default config (the baseline every tune must match or beat), the shipped
// one, the transferred configs, then the strategy's proposals.
std::vector<Config> next_candidates(const schedules::Space& space, SearchStrategy& strategy, std::set<std::string>& seen,
                                    size_t want, const std::vector<Config>& given, const std::optional<Config>& shipped,
                                    const std::vector<Config>& transfer) {
  std::vector<Config> queue;
  const auto add = [&](const Config& c) {
    if (queue.size() < want && !seen.count(c.to_json()) && std::find(queue.begin(), queue.end(), c) == queue.end())
      queue.push_back(c);
  };
  for (const Config& g : given) {
    const Config c = space.complete(g);
    if (auto why = space.validate(c)) throw Error("attune tune --config: invalid config: " + *why);
    add(space.canonical(c));
  }
  add(space.default_config());
  if (shipped) add(*shipped);
  for (const Config& c : transfer) add(c);
  for (const Config& c : strategy.propose(want, seen))
    if (queue.size() < want) queue.push_back(c);
  for (const Config& c : queue) seen.insert(c.to_json());
  return queue;
}

// The strategy label of a candidate's record: "default", "given" (--config), "transfer" or
// the strategy's.
std::string label_of(const Config& c, const schedules::Space& space, const std::vector<Config>& given,
                     const std::optional<Config>& shipped, const std::vector<Config>& transfer,
                     const SearchStrategy& strategy) {
  if (c == space.default_config()) return "default";
  for (const Config& g : given)
    if (searched_form(space, g) == c) return "given";
  if (shipped == c) return "shipped";
  if (std::find(transfer.begin(), transfer.end(), c) != transfer.end()) return "transfer";
  return strategy.name();
}

// Builds `queue` with at most `jobs` generator processes at a time.
std::vector<BuildResult> build_all(const Toolchain& tc, const Workload& w, const std::vector<Config>& queue, int jobs,
                                   const std::string& work_dir, double timeout_s) {
  std::vector<BuildResult> builds(queue.size());
  for (size_t first = 0; first < queue.size(); first += size_t(std::max(1, jobs))) {
    std::vector<std::thread> builders;
    for (size_t n = first; n < std::min(queue.size(), first + size_t(std::max(1, jobs))); ++n)
      builders.emplace_back([&, n] { builds[n] = build_candidate(tc, w, queue[n], work_dir, timeout_s); });
    for (auto& t : builders) t.join();
  }
  return builds;
}

// Removes a tune's work directory (the candidates' builds) however the tune ends.
struct WorkDirCleanup {
  const std::string& dir;
  ~WorkDirCleanup() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

// A candidate run's time-out: the base, plus its calls (checks, warm-up, repetitions) at a speed
// below which no candidate is worth keeping, plus the double reference of the check shape (one
// head group) where no earlier run cached it. S=32768 calls take seconds each even when fast.
double run_timeout(const TuneOptions& o, const Workload& w) {
  const double calls = o.repetitions + 4, slowest_gflops = 50, reference_gflops = 1;
  const double check_flops = w.flops() / (double(w.batch) * w.kv_heads());
  return o.run_timeout_s + (calls * w.flops() / slowest_gflops + check_flops / reference_gflops) * 1e-9;
}

long long run_memory_cap(const std::string& target, long long memory_bytes) {
  // A GPU driver reserves address space far beyond the memory it uses (CUDA's unified
  // addressing): an address-space cap would fail its initialisation, not a runaway candidate.
  return schedules::is_gpu_target(target) ? 0 : memory_bytes;
}

BatchSummary prepare_batch(const TuneOptions& o, Database& db, const std::string& dir) {
  if (o.max_trials <= 0) throw Error("attune tune --batch-out: give the batch size as a trial budget (--budget 40)");
  const WorkDirCleanup cleanup{o.work_dir};
  const Workload& w = o.workload;
  Toolchain tc = o.toolchain;
  tc.target = resolve_target(tc.target);
  const schedules::Space space = space_of(w, tc.target);
  const std::optional<Config> shipped = shipped_in(space, o.shipped);
  auto strategy = make_strategy(o.strategy, space, o.seed);
  // The batch runs elsewhere: the search goes on from every machine's records of the target.
  std::set<std::string> seen = resume(db, w, tc.target, "", space, *strategy);
  // Candidates already in this batch (several workloads may share one; not imported yet) are
  // not built twice, and new ones number on after them.
  const std::vector<nlohmann::json> existing = read_jsonl(batch_file(dir));
  for (const nlohmann::json& e : existing)
    if (!e.is_discarded() && e.value("target", "") == tc.target && e.contains("workload") &&
        Workload::from_json(e["workload"].dump()).key() == w.key())
      seen.insert(searched_form(space, e["config"]).to_json());
  const std::vector<Config> transferred =
      transfer_from(db, transfer_sources(db, w, tc.target, "", o.transfer), tc.target, space, *strategy);
  const std::vector<Config> queue = next_candidates(space, *strategy, seen, size_t(o.max_trials), o.configs, shipped, transferred);
  const std::vector<BuildResult> builds = build_all(tc, w, queue, o.jobs, o.work_dir, o.build_timeout_s);

  std::filesystem::create_directories(dir + "/candidates");
  size_t line = existing.size();
  std::ofstream out(batch_file(dir), std::ios::app);
  BatchSummary summary;
  for (size_t n = 0; n < queue.size(); ++n) {
    const std::string strat = label_of(queue[n], space, o.configs, shipped, transferred, *strategy);
    if (!builds[n].ok) {
      Record r = make_record(w, tc.target, machine_name(), queue[n], strat, "build_error", builds[n].error, {});
      db.append(r);
      ++summary.failed;
      continue;
    }
    const std::string lib = "candidates/c" + std::to_string(line++) + ".so";
    std::filesystem::copy_file(builds[n].library, dir + "/" + lib, std::filesystem::copy_options::overwrite_existing);
    const nlohmann::json entry = {{"workload", nlohmann::json::parse(w.to_json())}, {"target", tc.target},
                                  {"config", nlohmann::json::parse(queue[n].to_json())},
                                  {"strategy", strat}, {"library", lib}, {"function", builds[n].function},
                                  {"memory_bytes", run_memory_cap(tc.target, o.memory_bytes)},
                                  {"runner_args", builds[n].runner_args}};
    out << entry.dump() << "\n";
    ++summary.built;
  }
  out.flush();
  std::filesystem::copy_file(tc.runner_exe, dir + "/attune-runner", std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir + "/run.sh") << "#!/bin/sh\n"
      "# Checks and times this batch's candidates on this machine, each in its own process:\n"
      "# results in results.jsonl (then, where the batch was built: attune import DIR).\n"
      "# Flags: --rounds N (interleaved rounds, default 3), --timeout S, --min-time S.\n"
      "here=$(cd \"$(dirname \"$0\")\" && pwd)\n"
      "# Halide's CUDA runtime loads libcuda.so; drivers often install only libcuda.so.1.\n"
      "if ! ldconfig -p | grep -q 'libcuda\\.so '; then\n"
      "  cuda=$(ldconfig -p | sed -n 's/.*libcuda\\.so\\.1 .*=> //p' | head -n 1)\n"
      "  if [ -n \"$cuda\" ]; then\n"
      "    mkdir -p \"$here/lib\" && ln -sf \"$cuda\" \"$here/lib/libcuda.so\"\n"
      "    export LD_LIBRARY_PATH=\"$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\"\n"
      "  fi\n"
      "fi\n"
      "# The runner names the measuring machine (a GPU target's GPU, else the CPU); --machine NAME overrides.\n"
      "exec \"$here/attune-runner\" --batch \"$here\" \"$@\"\n";
  std::filesystem::permissions(dir + "/run.sh", std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                                    std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                                    std::filesystem::perms::others_exec);
  return summary;
}

Record make_record(const Workload& w, const std::string& target, const std::string& machine, const Config& c,
                   const std::string& strategy, const std::string& status, const std::string& error,
                   const std::vector<double>& times_ms) {
  Record r;
  r.workload_key = w.key();
  r.workload = nlohmann::json::parse(w.to_json());
  r.target = target;
  r.cpu = machine;
  r.config = nlohmann::json::parse(c.to_json());
  r.config_hash = c.hash_hex();
  r.strategy = strategy;
  r.status = status;
  r.error = error;
  r.times_ms = times_ms;
  if (!times_ms.empty()) {
    r.median_ms = median(times_ms);
    r.spread = spread_of(times_ms);
    r.gflops = w.flops() / (r.median_ms * 1e-3) * 1e-9;
  }
  r.kernel_version = schedules::kernel_version_for(target);
  r.halide_version = ATTUNE_HALIDE_VERSION;
  r.attune_version = ATTUNE_VERSION;
  r.timestamp = now_iso8601();
  return r;
}

TuneResult tune(const TuneOptions& o, Database& db, const std::function<void(const TuneProgress&)>& progress) {
  if (o.search && o.max_trials <= 0 && o.max_seconds <= 0) throw Error("attune tune: give a budget (--budget)");
  const WorkDirCleanup cleanup{o.work_dir};
  const Workload& w = o.workload;
  Toolchain tc = o.toolchain;
  tc.target = resolve_target(tc.target);
  const schedules::Space space = space_of(w, tc.target);
  const std::optional<Config> shipped = shipped_in(space, o.shipped);
  auto strategy = make_strategy(o.strategy.rfind("autoscheduler:", 0) == 0 ? "random" : o.strategy, space, o.seed);
  // This machine's records are resumed from and ranked; other machines' teach, as transfer.
  const std::string machine = measuring_machine(tc.target);
  std::set<std::string> seen = resume(db, w, tc.target, machine, space, *strategy);
  const std::vector<Config> transferred =
      transfer_from(db, transfer_sources(db, w, tc.target, machine, o.transfer), tc.target, space, *strategy);
  const long long memory_bytes = run_memory_cap(tc.target, o.memory_bytes);

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  TuneResult result;
  TuneProgress p;
  p.budget_trials = o.max_trials;
  p.budget_s = o.max_seconds;
  // The ceiling for this target on this machine, with the kernels' threads (HL_NUM_THREADS, as
  // the runner's Halide runtime reads it): every record carries it, `attune show` gives % of it.
  // Probed again before the final round, keeping the higher: a busy moment lowers a probe.
  const auto probe_peak = [&] {
    if (schedules::is_gpu_target(tc.target)) return;
    const char* threads = std::getenv("HL_NUM_THREADS");
    p.peak_gflops = std::max(p.peak_gflops, fma_peak_gflops(vector_isa_of(tc.target), threads ? std::atoi(threads) : 0));
  };
  probe_peak();
  for (const Record& r : db.best(w.key(), tc.target, 1, machine)) p.best_gflops = r.gflops;
  // Records name the measuring CPU by its features too: the model name can be as vague as
  // "AMD EPYC" across generations (AVX2 Zen 3, AVX-512 Zen 5).
  const std::string host_features = Halide::get_host_target().to_string();

  auto record = [&](const Config& c, const std::string& strat, const std::string& status,
                    const std::string& error, const std::vector<double>& times) {
    Record r = make_record(w, tc.target, machine, c, strat, status, error, times);
    r.cpu_features = host_features;
    r.peak_gflops = p.peak_gflops;
    r.trial = o.trials_before + result.trials;
    r.elapsed_s = o.seconds_before + elapsed();
    db.append(r);
    return r;
  };

  auto budget_left = [&] {
    if (stop_requested()) return false;
    if (o.max_trials > 0 && result.trials >= o.max_trials) return false;
    if (o.max_seconds > 0 && elapsed() >= o.max_seconds) return false;
    return true;
  };

  // Baseline: one of Halide's autoschedulers on the same generator (one trial).
  const std::string as_prefix = "autoscheduler:";
  if (o.strategy.rfind(as_prefix, 0) == 0) {
    const std::string name = o.strategy.substr(as_prefix.size());
    Config marker;
    marker.kernel = w.kernel;
    marker.knobs["autoscheduler_" + name] = 1;  // identity of the baseline in the database
    if (!db.measured(w.key(), tc.target, marker.hash_hex(), machine)) {
      ++result.trials;
      const BuildResult b = build_candidate(tc, w, marker, o.work_dir, std::max(o.build_timeout_s, 600.0), name);
      RunResult rr{"build_error", b.error, {}};
      if (b.ok) rr = run_candidate(tc, b, w, run_timeout(o, w) * 5, memory_bytes, o.min_time_s, o.repetitions, false);
      if (!stop_requested() && record(marker, o.strategy, rr.status, rr.error, rr.times_ms).status != "ok")
        ++result.failures;
    }
    for (const Record& r : db.records())
      if (r.workload_key == w.key() && r.target == tc.target && r.measured_on(machine) && r.strategy == o.strategy && r.ok())
        result.found = true, result.best = r;
    result.interrupted = stop_requested();
    return result;
  }

  const Config def = space.default_config();
  const double run_timeout_s = run_timeout(o, w);
  // Every candidate is checked against the same double reference (same inputs): computed once.
  const std::string reference_dir = o.reference_dir.empty() ? o.work_dir + "/reference" : o.reference_dir;
  const std::vector<std::string> reference_cache = {"--reference-cache", reference_dir};
  std::filesystem::create_directories(reference_dir);
  while (o.search && budget_left()) {
    const std::vector<Config> queue =
        next_candidates(space, *strategy, seen, size_t(std::max(1, o.jobs)), o.configs, shipped, transferred);
    if (queue.empty()) {
      result.exhausted = true;
      break;
    }
    // Build in parallel (each build is its own process), then run one at a time.
    const std::vector<BuildResult> builds = build_all(tc, w, queue, o.jobs, o.work_dir, o.build_timeout_s);

    for (size_t n = 0; n < queue.size() && budget_left(); ++n) {
      const Config& c = queue[n];
      const std::string strat = label_of(c, space, o.configs, shipped, transferred, *strategy);
      if (!builds[n].ok) {
        ++result.trials;
        record(c, strat, "build_error", builds[n].error, {});
        strategy->observe(c, 0);
        ++result.failures;
      } else {
        const RunResult rr = run_candidate(tc, builds[n], w, run_timeout_s, memory_bytes, o.min_time_s, o.repetitions,
                                           true, reference_cache);
        if (stop_requested()) break;
        ++result.trials;
        const Record r = record(c, strat, rr.status, rr.error, rr.times_ms);
        strategy->observe(c, r.ok() ? r.gflops : 0.0);
        if (!r.ok()) ++result.failures;
        p.best_gflops = std::max(p.best_gflops, r.gflops);
      }
      p.trials = result.trials;
      p.failures = result.failures;
      p.elapsed_s = elapsed();
      if (progress) progress(p);
    }
  }

  // Noise control: re-measure the best few interleaved, so drift hits all of them alike. The
  // default config joins them: "the tune matches or beats the default" is then decided under
  // the same conditions, not against a measurement taken minutes earlier on a drifting machine.
  auto top = o.final_remeasure > 1 && !stop_requested() ? db.fastest(w.key(), tc.target, size_t(o.final_remeasure), machine) : std::vector<Record>{};
  // The baselines join them: the default config and the caller's given configs (such as the
  // incumbent a re-tune is seeded with), so a winner beats them under the same conditions.
  // (Compared as resume does: a record older than a knob lacks it in its hash.)
  if (!top.empty()) {
    std::set<std::string> in_top;
    for (const Record& r : top) in_top.insert(searched_form(space, r.config).to_json());
    std::map<std::string, Record> fastest_of;  // searched form -> its fastest record
    for (const Record& r : db.fastest(w.key(), tc.target, std::numeric_limits<size_t>::max(), machine))
      fastest_of.emplace(searched_form(space, r.config).to_json(), r);
    std::vector<Config> baselines = {def};
    if (shipped) baselines.push_back(*shipped);
    for (const Config& g : o.configs) baselines.push_back(searched_form(space, g));
    for (const Config& b : baselines) {
      const auto m = fastest_of.find(b.to_json());
      if (m != fastest_of.end() && in_top.insert(m->first).second) top.push_back(m->second);
    }
  }
  if (top.size() > 1) {
    if (progress) {
      TuneProgress f = p;
      f.final_configs = int(top.size());
      f.final_rounds = std::max(1, o.final_rounds);
      progress(f);
    }
    probe_peak();
    std::vector<BuildResult> builds;
    for (const Record& r : top) builds.push_back(build_candidate(tc, w, Config::from_json(r.config.dump()), o.work_dir));
    std::vector<std::vector<double>> times(top.size());
    // Three rounds by default: a burst of load during one round slows a third of a config's
    // times, which the median of all of them then ignores (with two rounds it would be half).
    for (int round = 0; round < std::max(1, o.final_rounds); ++round)
      for (size_t n = 0; n < top.size(); ++n)
        if (builds[n].ok) {
          // Checked again in the first round only: the same configs passed when they were searched.
          std::vector<std::string> extra = reference_cache;
          if (round > 0) extra.insert(extra.end(), {"--check", "0"});
          const RunResult rr = run_candidate(tc, builds[n], w, run_timeout_s, memory_bytes, o.min_time_s, 3, true, extra);
          times[n].insert(times[n].end(), rr.times_ms.begin(), rr.times_ms.end());
        }
    for (size_t n = 0; n < top.size() && !stop_requested(); ++n) {
      if (times[n].empty()) continue;
      const Config c = Config::from_json(top[n].config.dump());
      const Record r = record(c, "final", "ok", "", times[n]);
      if (searched_form(space, c) == def) result.default_final = r;  // def is canonical (default_config)
      if (searched_form(space, c) == shipped) result.shipped_final = r;
    }
  }

  const auto best = db.best(w.key(), tc.target, 1, machine);
  if (!best.empty()) {
    result.found = true;
    result.best = best.front();
  }
  result.interrupted = stop_requested();  // also when the stop came during the final round
  return result;
}

void SliceHistory::add(const TuneResult& slice, double slice_seconds, double best_after) {
  gain = best_gflops > 0 ? best_after / best_gflops - 1 : (best_after > 0 ? 1.0 : 0.0);
  best_gflops = std::max(best_gflops, best_after);
  exhausted = slice.exhausted || slice.trials == 0;  // no progress: no more slices (no spinning)
  ++slices;
  trials += slice.trials;
  seconds += slice_seconds;
}

size_t next_slice(const std::vector<SliceHistory>& tasks) {
  size_t pick = kNoSlice;
  for (size_t t = 0; t < tasks.size(); ++t) {
    const SliceHistory& h = tasks[t];
    if (h.slices == 0) return t;  // warm-up, in order
    if (h.exhausted) continue;
    const SliceHistory* p = pick == kNoSlice ? nullptr : &tasks[pick];
    if (!p || h.gain > p->gain || (h.gain == p->gain && h.slices < p->slices)) pick = t;
  }
  return pick;
}

std::vector<TuneResult> tune_all(const std::vector<TuneOptions>& tasks, const TotalBudget& budget, Database& db,
                                 const std::function<void(size_t, const TuneProgress&)>& progress) {
  if (budget.max_trials <= 0 && budget.max_seconds <= 0) throw Error("attune tune: give a total budget");
  const size_t n = tasks.size();
  std::vector<SliceHistory> history(n);
  std::vector<TuneResult> results(n);
  // Half the budget warms every workload up, the other half goes where the search still pays.
  const double slice_s = budget.max_seconds > 0 ? std::max(10.0, budget.max_seconds / double(2 * n)) : 0;
  const int slice_trials = budget.max_trials > 0 ? std::max(1, budget.max_trials / int(2 * n)) : 0;
  // One reference per workload for all its slices (a slice's tune removes its work directory).
  const std::string reference_dir = n ? tasks.front().work_dir + "-reference" : "";
  const WorkDirCleanup cleanup{reference_dir};
  const auto start = std::chrono::steady_clock::now();
  const auto since = [](auto t0) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  int trials = 0;
  while (!stop_requested()) {
    const double left_s = budget.max_seconds > 0 ? budget.max_seconds - since(start) : 1e300;
    const int left_trials = budget.max_trials > 0 ? budget.max_trials - trials : std::numeric_limits<int>::max();
    const size_t t = next_slice(history);
    if (left_s <= 0 || left_trials <= 0 || t == kNoSlice) break;
    TuneOptions o = tasks[t];
    o.max_seconds = slice_s > 0 ? std::min(slice_s, left_s) : 0;
    o.max_trials = slice_trials > 0 ? std::min(slice_trials, left_trials) : 0;
    o.final_remeasure = 0;
    o.reference_dir = reference_dir;
    o.trials_before = history[t].trials;
    o.seconds_before = history[t].seconds;
    const auto t0 = std::chrono::steady_clock::now();
    const TuneResult r = tune(o, db, [&](const TuneProgress& p) { if (progress) progress(t, p); });
    // The best search-time measurement (a final re-measurement of an earlier run would not move).
    double best = 0;
    const std::string target = resolve_target(o.toolchain.target);
    for (const Record& b : db.fastest(o.workload.key(), target, 1, measuring_machine(target))) best = b.gflops;
    history[t].add(r, since(t0), best);
    trials += r.trials;
    results[t].trials += r.trials;
    results[t].failures += r.failures;
    if (r.interrupted) {
      results[t].interrupted = true;
      return results;
    }
  }
  for (size_t t = 0; t < n && !stop_requested(); ++t) {
    if (history[t].slices == 0) continue;
    TuneOptions o = tasks[t];
    o.search = false;
    o.reference_dir = reference_dir;
    o.trials_before = history[t].trials;
    o.seconds_before = history[t].seconds;
    const TuneResult r = tune(o, db, [&](const TuneProgress& p) { if (progress) progress(t, p); });
    results[t].found = r.found;
    results[t].best = r.best;
    results[t].default_final = r.default_final;
    results[t].shipped_final = r.shipped_final;
    results[t].interrupted = r.interrupted;
  }
  return results;
}

}  // namespace attune::autotune
