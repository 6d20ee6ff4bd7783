// The load-time warm-up (runtime/src/thread_pool.cpp on_load): as the library loads, a thread
// starts the pool's workers and prefaults a scratch reserve, so a fresh process's first call
// neither starts threads nor faults its scratch in (a first call at S=512 had faulted ~550
// pages, 3 ms of a 2.2 ms call in a VM). ctest also runs this file with ATTUNE_WARMUP_MB=0,
// where nothing may start before the first call.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "consumer/worker_threads.h"
#include "test_util.h"

namespace attune::testing {
namespace {

// How many of this process's threads are named `name`.
int count_threads(const std::string& name) { return int(threads_named(name).size()); }

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

bool warmup_off() {
  const char* env = std::getenv("ATTUNE_WARMUP_MB");
  return env && std::strcmp(env, "0") == 0;
}

// One first call at S=512 (B=1, H=8, D=64, the short bucket): its page faults and its error.
void first_call(long* faults, double* error) {
  Case c;
  c.heads = 8, c.seq_q = c.seq_kv = 512;
  const Tensors t = make_tensors(c);
  std::vector<float> out(t.q.size(), 0.0f);  // touched here, not in the call
  const long before = minor_faults();
  sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), 1, c.heads, c.seq_q, c.seq_kv, c.head_dim);
  *faults = minor_faults() - before;
  std::vector<double> expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
  *error = reference::relative_max_error(out.data(), expected);
}

TEST(Warmup, FirstCallFindsWorkersAndScratchReady) {
  if (warmup_off()) GTEST_SKIP() << "ATTUNE_WARMUP_MB=0: see Warmup.OffStartsNothingBeforeTheFirstCall";
  if (num_threads() < 2) GTEST_SKIP() << "one CPU: no workers to start";
  // The warm-up thread exits when its reserve is touched (16 MiB: ~20-30 ms here).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count_threads("attune-warmup") > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(count_threads("attune-warmup"), 0) << "the warm-up thread did not finish in 20 s";
  EXPECT_EQ(count_threads("attune-worker"), num_threads() - 1) << "workers start at load, not with the first call";

  long faults = 0;
  double error = 1;
  first_call(&faults, &error);
  // Without the reserve this call faults ~550 pages in (2.2 MB of K panels and score tiles),
  // and ~15 with the kernel table built on first use (now constant data, and the warm-up's
  // own small call has run the code path once): what remains is 1-3 pages of stack and code.
  EXPECT_LT(faults, 16) << "page faults in a first call at S=512 after the warm-up";
  EXPECT_LE(error, kTolerance);
}

TEST(Warmup, OffStartsNothingBeforeTheFirstCall) {
  if (!warmup_off()) GTEST_SKIP() << "runs under ATTUNE_WARMUP_MB=0 (its own ctest entry)";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // what a warm-up would have started by now
  EXPECT_EQ(count_threads("attune-warmup"), 0);
  EXPECT_EQ(count_threads("attune-worker"), 0);
  long faults = 0;
  double error = 1;
  first_call(&faults, &error);
  EXPECT_LE(error, kTolerance);
  EXPECT_EQ(count_threads("attune-worker"), num_threads() - 1) << "the first call starts the workers";
}

}  // namespace
}  // namespace attune::testing
