// GPU schedules without a GPU: random configs of the GPU space, compiled for OpenCL by the same
// generator and builder the tuner uses, run on the CPU through PoCL (an OpenCL implementation,
// Debian's pocl-opencl-icd) in the isolated runner, and checked against the double reference.
// The same Halide GPU lowering (blocks, threads, shared memory, barriers) makes the CUDA
// kernels, which are checked on a GPU by the tuner's runner. Also: an offline batch prepared,
// run by its run.sh and imported, as for a GPU box without Halide.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "autotune/candidate.h"
#include "autotune/tuner.h"
#include "schedules/apply.h"

namespace attune::autotune {
namespace {

const char* kTarget = "host-opencl";

bool have_opencl() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/etc/OpenCL/vendors", ec))
    if (e.path().extension() == ".icd") return true;
  return false;
}

struct Case {
  int head_dim;
  bool causal, mask;
  int heads, kv_heads, seq_q, seq_kv;
};
// Awkward shapes: tails of every block, one query row, more queries than keys (causal rows
// with no visible key), GQA.
const Case kCases[] = {{64, false, false, 2, 2, 100, 130}, {80, true, false, 2, 2, 129, 129},
                       {64, false, true, 4, 2, 1, 300},    {40, false, false, 4, 1, 33, 77},
                       {128, true, true, 2, 2, 130, 17},   {64, true, false, 2, 1, 17, 300}};

class GpuOpenClTest : public ::testing::TestWithParam<int> {};

TEST_P(GpuOpenClTest, RandomConfigIsCorrect) {
  if (!have_opencl()) GTEST_SKIP() << "no OpenCL platform (scripts/install-deps.sh installs PoCL)";
  const int index = GetParam();
  const Case c = kCases[size_t(index) % std::size(kCases)];
  const schedules::Space space = schedules::space_for_target("sdpa", Halide::Target(resolve_target(kTarget)), c.head_dim, c.causal);
  ASSERT_TRUE(space.params().gpu);
  std::mt19937_64 rng(2000 + index);
  // The first config of each case is the default (what the build compiles untuned).
  const schedules::Config config = index < int(std::size(kCases)) ? space.default_config() : space.sample(rng);

  const Workload w = Workload::attention(1 + index % 2, c.heads, c.kv_heads, c.seq_q, c.seq_kv, c.head_dim, c.causal, c.mask);
  Toolchain tc{ATTUNE_GENERATOR_EXE, ATTUNE_RUNNER_EXE};
  tc.target = resolve_target(kTarget);
  const std::string dir = ::testing::TempDir() + "/attune_gpu_opencl_" + std::to_string(index);
  const BuildResult b = build_candidate(tc, w, config, dir);
  ASSERT_TRUE(b.ok) << config.to_json() << "\n" << b.error;
  const RunResult r = run_candidate(tc, b, w, 300, run_memory_cap(tc.target, 8ll << 30), 0.01, 1);
  EXPECT_EQ(r.status, "ok") << config.to_json() << " on " << w.key() << ": " << r.error;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuOpenClTest, ::testing::Range(0, ATTUNE_GPU_PROPERTY_CONFIGS));

// attune tune --batch-out, DIR/run.sh (interleaved rounds, killed-run resume), attune import.
TEST(GpuBatch, PreparedRunAndImported) {
  if (!have_opencl()) GTEST_SKIP() << "no OpenCL platform (scripts/install-deps.sh installs PoCL)";
  const std::string dir = ::testing::TempDir() + "/attune_gpu_batch_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  Database db(dir + ".jsonl");
  TuneOptions o;
  o.workload.num_heads = 2;
  o.workload.seq_q = o.workload.seq_kv = 128;
  o.toolchain = {ATTUNE_GENERATOR_EXE, ATTUNE_RUNNER_EXE};
  o.toolchain.target = kTarget;
  o.strategy = "random";
  o.max_trials = 3;
  o.work_dir = dir + "_work";
  const BatchSummary s = prepare_batch(o, db, dir);
  ASSERT_EQ(s.built + s.failed, 3);
  ASSERT_GE(s.built, 1);

  // Nothing run yet: nothing to import.
  EXPECT_EQ(import_batch(dir, db).not_run, s.built);
  ASSERT_EQ(std::system((dir + "/run.sh --rounds 2 --min-time 0.01 --repetitions 2 2>/dev/null").c_str()), 0);
  std::ifstream results(dir + "/results.jsonl");
  int lines = 0;
  for (std::string l; std::getline(results, l);) ++lines;
  EXPECT_EQ(lines, 2 * s.built);  // every candidate twice (all of them pass)
  // A second run finds every round done: nothing is measured again.
  ASSERT_EQ(std::system((dir + "/run.sh --rounds 2 2>/dev/null").c_str()), 0);
  std::ifstream again(dir + "/results.jsonl");
  int lines_after = 0;
  for (std::string l; std::getline(again, l);) ++lines_after;
  EXPECT_EQ(lines_after, lines);

  const ImportSummary imp = import_batch(dir, db);
  EXPECT_EQ(imp.imported, s.built);
  EXPECT_EQ(imp.failed, 0);
  const Database reread(dir + ".jsonl");
  const auto best = reread.best(o.workload.key(), resolve_target(kTarget), 1);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best.front().times_ms.size(), 4u);  // both rounds' times
  EXPECT_GT(best.front().gflops, 0);
  EXPECT_EQ(import_batch(dir, db).already, s.built);  // importing twice adds nothing
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attune::autotune
