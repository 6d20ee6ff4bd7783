// The tuner survives candidates that crash, hang, eat memory, miscompile or give wrong
// answers; its database survives SIGKILL and a resumed tune measures nothing twice; a short
// real tune matches or beats the default config.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "autotune/database.h"
#include "autotune/fma_peak.h"
#include "autotune/machine.h"
#include "autotune/process.h"
#include "autotune/search.h"
#include "autotune/tuner.h"
#include "schedules/apply.h"

namespace attune::autotune {
namespace {

std::string temp_path(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/attune_tuner_" + name + "_" + std::to_string(getpid());
  std::filesystem::remove_all(p);
  return p;
}

// An ok record of workload "sdpa:w" on target "host", as the tuner writes one.
Record make_record(const std::string& hash, const std::string& strategy, double median_ms) {
  Record r;
  r.workload_key = "sdpa:w";
  r.target = "host";
  r.config = nlohmann::json::object();
  r.config_hash = hash;
  r.strategy = strategy;
  r.status = "ok";
  r.median_ms = median_ms;
  return r;
}

// The config hash of the (last) record of `strategy` in `db`; empty if none.
std::string hash_of(const Database& db, const std::string& strategy) {
  std::string hash;
  for (const Record& r : db.records())
    if (r.strategy == strategy) hash = r.config_hash;
  return hash;
}

// A quick tune of a small workload with the real generator and runner (tests adjust it).
TuneOptions quick_tune(const std::string& name) {
  TuneOptions o;
  o.workload.num_heads = 2;
  o.workload.seq_q = o.workload.seq_kv = 256;
  o.toolchain = {ATTUNE_GENERATOR_EXE, ATTUNE_RUNNER_EXE};
  o.min_time_s = 0.02;
  o.repetitions = 2;
  o.work_dir = temp_path(name + "_work");
  return o;
}

// The generator with injected faults (tests/fault_injection/fake_generator.sh: q_tile 8
// segfaults, 16 hangs, 24 allocates without bound, 96 returns wrong numbers, 128 fails to build).
std::string faulty_generator() {
  const std::string wrapper = temp_path("gen.sh");
  std::ofstream(wrapper) << "#!/bin/sh\nexec " << ATTUNE_FAULT_GENERATOR << " " << ATTUNE_GENERATOR_EXE << " \"$@\"\n";
  std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
  return wrapper;
}

TEST(Tuner, SurvivesFaultyCandidates) {
  Database db(temp_path("faults.jsonl"));
  TuneOptions o = quick_tune("faults");
  o.toolchain.generator_exe = faulty_generator();
  o.strategy = "random";
  o.max_trials = 24;
  o.run_timeout_s = 5;
  o.memory_bytes = 1ll << 30;
  o.seed = 7;
  const TuneResult r = tune(o, db);
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.best.status, "ok");
  std::map<std::string, std::string> by_qtile;  // q_tile -> status seen
  for (const Record& rec : db.records())
    by_qtile[std::to_string(rec.config["knobs"]["q_tile"].get<int>())] = rec.status + ": " + rec.error;
  // Every injected fault that was drawn is a failed record with its reason.
  // Unbounded allocation dies at the memory cap, or at the time-out when paging is slow.
  const std::map<std::string, std::vector<std::string>> expected = {
      {"8", {"crash"}}, {"16", {"timeout"}}, {"24", {"crash", "timeout"}}, {"96", {"wrong"}},
      {"128", {"build_error"}}};
  int faults_seen = 0;
  for (const auto& [q, statuses] : expected)
    if (by_qtile.count(q)) {
      ++faults_seen;
      const bool matched = std::any_of(statuses.begin(), statuses.end(),
                                       [&](const std::string& s) { return by_qtile[q].rfind(s, 0) == 0; });
      EXPECT_TRUE(matched) << "q_tile " << q << ": " << by_qtile[q];
    }
  EXPECT_GE(faults_seen, 3) << "random search should draw most fault classes in 24 trials";
  EXPECT_GT(r.failures, 0);
}

// A tune computes the double reference once and checks every candidate against it, but keeps
// it only from a run that passed its check: a wrong candidate leaves no reference behind.
TEST(Tuner, ReferenceCacheKeepsOnlyCheckedReferences) {
  TuneOptions o = quick_tune("refcache");
  Toolchain tc = o.toolchain;
  tc.generator_exe = faulty_generator();
  tc.target = resolve_target("host");
  schedules::Config wrong = schedules::space_for_target("sdpa", Halide::Target(tc.target), 64, false).default_config();
  const schedules::Config good = wrong;
  wrong.knobs["q_tile"] = 96;
  const std::string cache = temp_path("refcache_dir");
  std::filesystem::create_directories(cache);
  const std::vector<std::string> cached = {"--reference-cache", cache};
  const auto files = [&] { return std::distance(std::filesystem::directory_iterator(cache), {}); };
  const BuildResult bad = build_candidate(tc, o.workload, wrong, o.work_dir);
  ASSERT_TRUE(bad.ok) << bad.error;
  EXPECT_EQ(run_candidate(tc, bad, o.workload, 60, 1ll << 30, 0.02, 2, true, cached).status, "wrong");
  EXPECT_EQ(files(), 0);
  const BuildResult ok = build_candidate(tc, o.workload, good, o.work_dir);
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(run_candidate(tc, ok, o.workload, 60, 1ll << 30, 0.02, 2, true, cached).status, "ok");
  EXPECT_EQ(files(), 2);  // the workload's check shape and the small odd one
  EXPECT_EQ(run_candidate(tc, bad, o.workload, 60, 1ll << 30, 0.02, 2, true, cached).status, "wrong")
      << "judged against the cached reference";
  std::filesystem::remove_all(o.work_dir);
}

TEST(Tuner, KilledTuneResumesWithoutLossOrRepeats) {
  const std::string db_path = temp_path("resume.jsonl");
  const pid_t pid = fork();
  if (pid == 0) {  // child: an endless tune, killed below
    Database db(db_path);
    TuneOptions o = quick_tune("resume_child");
    o.max_seconds = 3600;
    tune(o, db);
    _exit(0);
  }
  // Kill it once a few records exist, mid-flight.
  for (int waited = 0; waited < 600; ++waited) {
    usleep(100000);
    if (Database(db_path).records().size() >= 3) break;
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  std::ofstream(db_path, std::ios::app) << "{\"workload_key\": \"torn";  // a torn last line
  const Database before(db_path);
  const size_t n_before = before.records().size();
  ASSERT_GE(n_before, 3u);

  Database db(db_path);
  TuneOptions o = quick_tune("resume");
  o.max_trials = 4;
  o.final_remeasure = 0;
  tune(o, db);
  const Database after(db_path);
  ASSERT_EQ(after.records().size(), n_before + 4);
  for (size_t n = 0; n < n_before; ++n) EXPECT_EQ(after.records()[n].config_hash, before.records()[n].config_hash);
  std::set<std::string> hashes;
  for (const Record& r : after.records())
    if (r.strategy != "final") EXPECT_TRUE(hashes.insert(r.config_hash).second) << "measured twice: " << r.config_hash;
}

// Ctrl-C (SIGINT) stops a tune cleanly: the candidate it cut short (being built or timed) is
// not recorded as a failure, there is no final re-measurement, the work directory is gone, and
// the tune returns (the CLI then says how to resume).
TEST(Tuner, InterruptedTuneStopsCleanly) {
  const std::string db_path = temp_path("interrupt.jsonl");
  TuneOptions o = quick_tune("interrupt");
  o.max_seconds = 3600;
  o.min_time_s = 0.5;  // long runs: the signal often lands mid-measurement
  const pid_t pid = fork();
  if (pid == 0) {
    stop_on_signals();
    Database db(db_path);
    const TuneResult r = tune(o, db);
    _exit(r.interrupted && !std::filesystem::exists(o.work_dir) ? 42 : 1);
  }
  for (int waited = 0; waited < 600; ++waited) {
    usleep(100000);
    if (Database(db_path).records().size() >= 2) break;
  }
  kill(pid, SIGINT);
  int status = 0;
  for (int waited = 0; waited < 600 && waitpid(pid, &status, WNOHANG) == 0; ++waited) usleep(100000);
  if (kill(pid, 0) == 0) {  // still running after a minute: a stop that does not stop
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "the tune did not stop within a minute of SIGINT";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 42) << "not reported as interrupted, or the work directory is left";
  const Database db(db_path);
  ASSERT_GE(db.records().size(), 2u);
  for (const Record& r : db.records()) {
    EXPECT_NE(r.strategy, "final");
    EXPECT_EQ(r.error.find("interrupted"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find("signal 9"), std::string::npos) << r.error;
  }
}

// A kernel is measured once: a config that differs from a measured one only in knobs its
// algorithm ignores (split-KV tiles chunks, not q_tile rows) is not measured again, even when
// asked for by name; the tune goes on to the next candidate (the default config).
TEST(Tuner, ConfigsOfAMeasuredKernelAreNotMeasuredAgain) {
  const std::string db_path = temp_path("canonical.jsonl");
  Database db(db_path);
  TuneOptions o = quick_tune("canonical");
  o.final_remeasure = 0;
  o.max_trials = 1;
  schedules::Config split =
      schedules::space_for_target("sdpa", Halide::get_host_target(), 64, false).default_config();
  split.knobs["algorithm"] = 2;
  split.knobs["pv_kblock"] = 0;
  split.knobs["q_tile"] = 64;
  split.knobs["qk_rows"] = 2;  // split-KV QK tiles: 2 rows x 4 vectors of keys
  split.knobs["kv_block"] = 64;
  o.configs = {split};
  tune(o, db);
  ASSERT_EQ(db.records().size(), 1u);
  EXPECT_EQ(db.records()[0].strategy, "given");
  split.knobs["q_tile"] = 32;
  o.configs = {split};
  tune(o, db);
  ASSERT_EQ(db.records().size(), 2u);
  EXPECT_EQ(db.records()[1].strategy, "default") << db.records()[1].config.dump();
  // Records name the measuring CPU by its features (the ISA the host target has).
  EXPECT_EQ(Database(db_path).records()[1].cpu_features, Halide::get_host_target().to_string());
}

// A new workload starts from what the database learned on others: after the default, the
// best config of another workload of the same kernel and target is measured ("transfer");
// workloads of another target or algorithm class (decode) are not transferred, and
// --transfer 0 measures the strategy's proposals instead.
TEST(Tuner, NewWorkloadStartsFromTheBestOfOtherWorkloads) {
  Database db(temp_path("transfer.jsonl"));
  TuneOptions o = quick_tune("transfer");
  o.final_remeasure = 0;
  o.max_trials = 4;
  o.strategy = "random";
  const std::string target = resolve_target("host");
  const schedules::Space space = schedules::space_for_target("sdpa", Halide::Target(target), 64, false);
  schedules::Config near = space.default_config(), far = near, decode = near, elsewhere = near;
  near.knobs["q_tile"] = 24;
  far.knobs["q_tile"] = 96;
  decode.knobs["pv_kblock"] = 256;
  elsewhere.knobs["pv_kblock"] = 64;
  const auto measured = [&](const Workload& w, const std::string& on, const schedules::Config& c, double ms) {
    db.append(make_record(w, on, "test", c, "given", "ok", "", {ms}));
  };
  Workload longer = o.workload, longest = o.workload, one_row = o.workload;
  longer.seq_q = longer.seq_kv = 512;
  longest.seq_q = longest.seq_kv = 4096;
  one_row.seq_q = 1;
  measured(longest, target, far, 1.0);
  measured(longer, target, near, 1.0);
  measured(one_row, target, decode, 0.01);                  // decode: another algorithm class
  measured(longer, "x86-64-linux-sse41", elsewhere, 0.5);  // another target
  tune(o, db);
  ASSERT_EQ(db.records().size(), 8u);
  const auto config_of = [&](size_t n) { return schedules::Config::from_json(db.records()[n].config.dump()); };
  EXPECT_EQ(db.records()[4].strategy, "default");
  EXPECT_EQ(db.records()[5].strategy, "transfer");
  EXPECT_EQ(config_of(5), near) << db.records()[5].config.dump();
  EXPECT_EQ(db.records()[6].strategy, "transfer");
  EXPECT_EQ(config_of(6), far) << db.records()[6].config.dump();
  EXPECT_EQ(db.records()[7].strategy, "random");

  o.transfer = 0;
  o.max_trials = 2;
  o.workload.seq_q = o.workload.seq_kv = 128;
  tune(o, db);
  ASSERT_EQ(db.records().size(), 10u);
  EXPECT_EQ(db.records()[8].strategy, "default");
  EXPECT_EQ(db.records()[9].strategy, "random");
}

// The config the build ships for the workload is measured right after the default and
// re-measured with the winners, so the tune reports what it gained over it.
TEST(Tuner, ShippedConfigIsMeasuredAndReTimedAgainstTheWinner) {
  Database db(temp_path("shipped.jsonl"));
  TuneOptions o = quick_tune("shipped");
  o.max_trials = 3;
  o.strategy = "random";
  o.transfer = 0;
  const schedules::Space space = schedules::space_for_target("sdpa", Halide::get_host_target(), 64, false);
  schedules::Config shipped = space.default_config();
  shipped.knobs["q_tile"] = 24;
  o.shipped = shipped;
  const TuneResult r = tune(o, db);
  ASSERT_GE(db.records().size(), 3u);
  EXPECT_EQ(db.records()[0].strategy, "default");
  EXPECT_EQ(db.records()[1].strategy, "shipped");
  EXPECT_EQ(schedules::Config::from_json(db.records()[1].config.dump()), shipped);
  EXPECT_EQ(db.records()[2].strategy, "random");
  EXPECT_GT(r.shipped_final.median_ms, 0) << "not re-measured in the final round";
  EXPECT_EQ(r.shipped_final.config_hash, shipped.hash_hex());
}

// Timings of another machine say nothing of this one: a database holding another machine's tune
// of the workload is not resumed from (its configs, the default included, are measured again
// here), but its best config is measured first, as transfer; results are ranked per machine.
TEST(Tuner, OtherMachinesTunesAreTransferredNotResumed) {
  Database db(temp_path("machines.jsonl"));
  TuneOptions o = quick_tune("machines");
  o.final_remeasure = 0;
  o.max_trials = 3;
  o.strategy = "random";
  const std::string target = resolve_target("host"), here = machine_name(), there = "Other CPU (family 1, model 2)";
  ASSERT_NE(here, there);
  EXPECT_EQ(measuring_machine(target), here);
  // A GPU target is measured by the GPU nvidia-smi names, else (none here) by the CPU.
  const std::string gpu = gpu_name();
  EXPECT_EQ(measuring_machine("x86-64-linux-avx2-cuda-cuda_capability_80"), gpu.empty() ? here : gpu);
  const schedules::Space space = schedules::space_for_target("sdpa", Halide::Target(target), 64, false);
  const schedules::Config def = space.default_config();
  schedules::Config theirs = def;
  theirs.knobs["q_tile"] = 24;
  db.append(make_record(o.workload, target, there, def, "default", "ok", "", {5.0}));
  db.append(make_record(o.workload, target, there, theirs, "random", "ok", "", {0.001}));
  const TuneResult r = tune(o, db);
  ASSERT_EQ(db.records().size(), 5u);
  const auto config_of = [&](size_t n) { return schedules::Config::from_json(db.records()[n].config.dump()); };
  EXPECT_EQ(db.records()[2].strategy, "default");
  EXPECT_EQ(db.records()[3].strategy, "transfer");
  EXPECT_EQ(config_of(3), theirs) << db.records()[3].config.dump();
  for (size_t n = 2; n < 5; ++n) EXPECT_EQ(db.records()[n].cpu, here);
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.best.cpu, here) << "ranked with the other machine's (faster) timing";
  std::vector<std::string> both = {here, there};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(db.machines(target), both);
  ASSERT_EQ(db.best(o.workload.key(), target, 1, there).size(), 1u);
  EXPECT_EQ(db.best(o.workload.key(), target, 1, there)[0].median_ms, 0.001);
  EXPECT_TRUE(db.measured(o.workload.key(), target, theirs.hash_hex(), here));
  EXPECT_FALSE(db.measured(o.workload.key(), target, config_of(4).hash_hex(), there));
}

// One budget for a set of workloads: every workload warms up first (in order), then each slice
// goes to the workload whose best improved the most in its last slice; once all stall, to the
// one with the fewest slices; a workload with nothing left to measure gets none.
TEST(Tuner, TotalBudgetSlicesGoWhereTheSearchStillPays) {
  std::vector<SliceHistory> tasks(3);
  EXPECT_EQ(next_slice(tasks), 0u);
  TuneResult slice;
  slice.trials = 5;
  tasks[0].add(slice, 10, 100);
  EXPECT_DOUBLE_EQ(tasks[0].gain, 1.0);  // a first valid config
  EXPECT_EQ(next_slice(tasks), 1u);
  tasks[1].add(slice, 10, 50);
  tasks[2].add(slice, 10, 80);
  tasks[0].add(slice, 10, 101);  // +1%
  tasks[1].add(slice, 10, 60);   // +20%
  tasks[2].add(slice, 10, 80);   // stalled
  EXPECT_NEAR(tasks[1].gain, 0.2, 1e-12);
  EXPECT_EQ(next_slice(tasks), 1u);
  tasks[1].add(slice, 10, 60);
  tasks[0].add(slice, 10, 101);
  EXPECT_EQ(next_slice(tasks), 2u) << "all stalled: the fewest slices";
  slice.exhausted = true;
  tasks[2].add(slice, 10, 80);
  EXPECT_EQ(next_slice(tasks), 0u);
  EXPECT_EQ(tasks[2].trials, 15);
  tasks[0].add(slice, 10, 101);
  tasks[1].add(slice, 10, 60);
  EXPECT_EQ(next_slice(tasks), kNoSlice);
}

// tune_all spends exactly the total trial budget over the workloads, each at least a warm-up
// slice; a workload's slices read as one tune (trial numbers go on), and each ends with its
// final re-measurement; the double reference the slices share is removed at the end.
TEST(Tuner, TotalBudgetTunesEveryWorkloadOnce) {
  Database db(temp_path("total.jsonl"));
  TuneOptions a = quick_tune("total"), b = a;
  a.strategy = b.strategy = "random";
  b.workload.seq_q = b.workload.seq_kv = 128;
  const std::vector<TuneResult> results = tune_all({a, b}, {8, 0}, db);
  ASSERT_EQ(results.size(), 2u);
  std::map<std::string, std::vector<int>> trials;  // workload -> trial numbers of its search records
  std::map<std::string, int> finals;
  for (const Record& r : db.records()) {
    if (r.strategy == "final") ++finals[r.workload_key];
    else trials[r.workload_key].push_back(r.trial);
  }
  int total = 0;
  for (const TuneOptions* o : {&a, &b}) {
    const std::vector<int>& t = trials[o->workload.key()];
    EXPECT_GE(t.size(), 2u) << o->workload.key();
    for (size_t n = 0; n < t.size(); ++n) EXPECT_EQ(t[n], int(n) + 1) << o->workload.key();
    EXPECT_GE(finals[o->workload.key()], 2) << o->workload.key();
    total += int(t.size());
  }
  EXPECT_EQ(total, 8);
  for (const TuneResult& r : results) {
    EXPECT_TRUE(r.found);
    EXPECT_FALSE(r.interrupted);
  }
  EXPECT_EQ(results[0].trials + results[1].trials, 8);
  EXPECT_FALSE(std::filesystem::exists(a.work_dir + "-reference")) << "the slices' shared reference is left behind";
}

// The cost model learns from related workloads: told that flash is 20x slower there, it
// proposes (nearly) no flash config for a new workload, where uniform samples are half flash.
// (One proposal in five may be an exploration pick from the middle of the ranking.)
TEST(Search, CostModelLearnsFromRelatedWorkloads) {
  const schedules::Space space = schedules::space_for_target("sdpa", Halide::get_host_target(), 64, false);
  std::mt19937_64 rng(11);
  std::vector<std::pair<schedules::Config, double>> related;
  for (int n = 0; n < 200; ++n) {
    const schedules::Config c = space.sample(rng);
    related.emplace_back(c, c.get("algorithm") == 1 ? 5.0 : 100.0);
  }
  const auto flash_proposed = [&](bool learn) {
    const auto model = make_strategy("model", space, 3);
    if (learn) model->observe_related(related);
    int flash = 0;
    for (const schedules::Config& c : model->propose(16, {})) flash += c.get("algorithm") == 1;
    return flash;
  };
  EXPECT_LE(flash_proposed(true), 1);
  EXPECT_GE(flash_proposed(false), 4);
}

// Records measured with older kernels describe other code: kept in the file, but neither
// resumed from (measured again) nor reported as best.
TEST(Database, RecordsOfOtherKernelVersionsAreNotUsed) {
  const std::string path = temp_path("versions.jsonl");
  Record old = make_record("0123456789abcdef", "model", 1.0);
  nlohmann::json legacy = old.to_json();
  legacy.erase("kernel_version");  // written before the field existed: version 1
  std::ofstream(path) << legacy.dump() << "\n";
  old.kernel_version = schedules::kKernelVersion + 1;
  Database(path).append(old);
  {
    const Database db(path);
    EXPECT_EQ(db.other_versions(), 2u);
    EXPECT_TRUE(db.records().empty());
    EXPECT_FALSE(db.measured("sdpa:w", "host", "0123456789abcdef"));
    EXPECT_TRUE(db.best("sdpa:w", "host", 1).empty());
  }
  Record now = old;
  now.kernel_version = schedules::kKernelVersion;
  Database(path).append(now);
  const Database db(path);
  EXPECT_EQ(db.other_versions(), 2u);
  ASSERT_EQ(db.records().size(), 1u);
  EXPECT_TRUE(db.measured("sdpa:w", "host", "0123456789abcdef"));
  EXPECT_EQ(db.best("sdpa:w", "host", 1).size(), 1u);
}

// GPU and CPU kernels are versioned apart: a change to one class keeps the other's records.
TEST(Database, GpuAndCpuKernelVersionsAreSeparate) {
  EXPECT_TRUE(schedules::is_gpu_target("x86-64-linux-avx2-cuda-cuda_capability_80-fma"));
  EXPECT_TRUE(schedules::is_gpu_target("host-opencl"));
  EXPECT_FALSE(schedules::is_gpu_target("x86-64-linux-avx2-fma"));
  EXPECT_FALSE(schedules::is_gpu_target("host"));
  EXPECT_EQ(schedules::kernel_version_for("host-cuda"), schedules::kGpuKernelVersion);
  EXPECT_EQ(schedules::kernel_version_for("host"), schedules::kKernelVersion);
  const std::string path = temp_path("gpu_versions.jsonl");
  Record gpu = make_record("00000000000000aa", "model", 1.0);
  gpu.target = "host-cuda";
  gpu.kernel_version = schedules::kGpuKernelVersion + 1;  // measured with a later GPU schedule
  Record cpu = make_record("00000000000000bb", "model", 1.0);
  cpu.kernel_version = schedules::kKernelVersion;
  Database(path).append(gpu);
  Database(path).append(cpu);
  const Database db(path);
  EXPECT_EQ(db.other_versions(), 1u);
  ASSERT_EQ(db.records().size(), 1u);
  EXPECT_EQ(db.records().front().target, "host");
}

// The end-of-tune interleaved re-measurement decides among the top configs: a config that was
// lucky once during the search does not keep its best time, and a config never re-measured
// (its time from other conditions) does not outrank the re-measured ones. Who enters the next
// re-measurement is still decided by the fastest measurement of each config.
TEST(Database, FinalRemeasurementRanksTheTopConfigs) {
  const std::string path = temp_path("final.jsonl");
  {
    Database db(path);
    for (const Record& r : {make_record("lucky", "model", 10), make_record("steady", "model", 11),
                            make_record("other", "model", 13), make_record("lucky", "final", 14),
                            make_record("steady", "final", 11.5)})
      db.append(r);
  }
  const Database db(path);
  const auto best = db.best("sdpa:w", "host", 3);
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0].config_hash, "steady");
  EXPECT_DOUBLE_EQ(best[0].median_ms, 11.5);
  EXPECT_EQ(best[1].config_hash, "lucky");
  EXPECT_DOUBLE_EQ(best[1].median_ms, 14);
  EXPECT_EQ(best[2].config_hash, "other");
  const auto fastest = db.fastest("sdpa:w", "host", 3);
  ASSERT_EQ(fastest.size(), 3u);
  EXPECT_EQ(fastest[0].config_hash, "lucky");
  EXPECT_DOUBLE_EQ(fastest[0].median_ms, 10);
  EXPECT_EQ(fastest[1].config_hash, "steady");
  EXPECT_EQ(fastest[2].config_hash, "other");
}

TEST(Tuner, ShortRealTuneMatchesOrBeatsDefault) {
  Database db(temp_path("real.jsonl"));
  TuneOptions o = quick_tune("real");
  o.workload.seq_q = o.workload.seq_kv = 512;
  o.max_trials = 12;
  o.min_time_s = 0.1;
  o.repetitions = 5;
  const TuneResult r = tune(o, db);
  ASSERT_TRUE(r.found);
  // The default and the tune's best are compared in the same interleaved end-of-tune
  // re-measurement: measurements minutes apart on a shared 2-core machine differ by 20%.
  const std::string def_hash = hash_of(db, "default");
  ASSERT_FALSE(def_hash.empty()) << "the default config is measured first";
  double def = 0;
  for (const Record& rec : db.records())
    if (rec.strategy == "final" && rec.config_hash == def_hash) def = rec.gflops;
  ASSERT_GT(def, 0) << "the default config is re-measured with the top configs";
  EXPECT_EQ(r.best.strategy, "final");
  EXPECT_GE(r.best.gflops, def);
  // Every record carries the machine's FMA peak for the target: the search's records the probe
  // at the start, the final round's the higher of it and a second probe before that round.
  const double first = db.records().front().peak_gflops;
  EXPECT_GT(first, 0);
  for (const Record& rec : db.records())
    EXPECT_EQ(rec.peak_gflops, rec.strategy == "final" ? r.best.peak_gflops : first);
  EXPECT_GE(r.best.peak_gflops, first);
}

// The final interleaved round times the caller's given configs (an incumbent) with the top
// configs and the default, even when the search measured them slower than the top.
TEST(Tuner, FinalRoundTimesTheGivenConfigs) {
  Database db(temp_path("final_given.jsonl"));
  TuneOptions o = quick_tune("final_given");
  o.max_trials = 5;
  o.final_remeasure = 2;
  o.final_rounds = 2;
  o.strategy = "random";
  schedules::Config slow =
      schedules::space_for_target("sdpa", Halide::get_host_target(), 64, false).default_config();
  slow.knobs["qk_rows"] = 1;  // one accumulator row per tile: slower than the usual tiles
  slow.knobs["pv_rows"] = 1;
  o.configs = {slow};
  const TuneResult result = tune(o, db);
  const std::string given_hash = hash_of(db, "given"), default_hash = hash_of(db, "default");
  ASSERT_FALSE(given_hash.empty());
  std::set<std::string> finals;
  for (const Record& r : db.records())
    if (r.strategy == "final") finals.insert(r.config_hash);
  EXPECT_TRUE(finals.count(given_hash)) << "the given config is re-timed in the final round";
  EXPECT_TRUE(finals.count(default_hash)) << "and so is the default";
  EXPECT_GE(finals.size(), 2u);
  EXPECT_LE(finals.size(), 4u);  // top 2 + default + given at most
  // The summary's baseline is the default's final-round record.
  EXPECT_EQ(result.default_final.strategy, "final");
  EXPECT_EQ(result.default_final.config_hash, default_hash);
  EXPECT_GT(result.default_final.median_ms, 0);
  EXPECT_EQ(result.default_final.times_ms.size(), 2u * 3u);  // final_rounds x 3 repetitions per run
}

// The FMA peak is measured with the vectors the target's Halide code uses, not the host's widest.
TEST(FmaPeak, FollowsTheTargetsVectorIsa) {
  EXPECT_EQ(vector_isa_of("x86-64-linux-avx-avx2-f16c-fma-sse41"), VectorIsa::kAvx2);
  EXPECT_EQ(vector_isa_of("x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41"), VectorIsa::kAvx512);
  EXPECT_EQ(vector_isa_of("x86-64-linux-sse41"), VectorIsa::kSse);
  EXPECT_EQ(vector_isa_of("arm-64-linux-arm_dot_prod"), VectorIsa::kNone);
  EXPECT_EQ(vector_isa_of(resolve_target("host")), host_vector_isa());
  EXPECT_GT(fma_peak_gflops(VectorIsa::kSse, 1, 1), 0);
  EXPECT_EQ(fma_peak_gflops(VectorIsa::kNone, 1, 1), 0);
  if (!__builtin_cpu_supports("avx512f")) EXPECT_EQ(run_fma_chains(VectorIsa::kAvx512, 1), 0);  // not on this CPU
}

}  // namespace
}  // namespace attune::autotune
