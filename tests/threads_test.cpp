// attune::sdpa is re-entrant: concurrent calls from several app threads give correct results.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <pthread.h>
#include <sched.h>

#include <attune/openmp.h>
#include <omp.h>

#include "consumer/worker_threads.h"
#include "test_util.h"

namespace attune::testing {
namespace {

TEST(Concurrency, ParallelCallsAreCorrect) {
  std::vector<Case> cases;
  for (int n = 0; n < 4; ++n) {
    Case c;
    c.heads = 2; c.seq_q = 50 + 13 * n; c.seq_kv = 70 + 9 * n; c.causal = n % 2; c.seed = 100 + n;
    cases.push_back(c);
  }
  std::vector<double> errors(cases.size(), 1.0);
  std::vector<std::thread> threads;
  for (size_t n = 0; n < cases.size(); ++n)
    threads.emplace_back([&, n] {
      const Case& c = cases[n];
      const Tensors t = make_tensors(c);
      std::vector<float> out(t.q.size());
      for (int rep = 0; rep < 5; ++rep)
        sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
             c.head_dim, options_for(c, t));
      std::vector<double> expected;
      reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
      errors[n] = reference::relative_max_error(out.data(), expected);
    });
  for (auto& th : threads) th.join();
  for (double e : errors) EXPECT_LE(e, kTolerance);
}

// Many calls from several threads at once, mixing kernels (dense, causal, masked, GQA, decode,
// generic head_dim, attention_probs) and bad calls whose errors must name their own argument.
TEST(Concurrency, MixedKernelsAndErrorsFromManyThreads) {
  std::vector<Case> cases(4);
  cases[0].heads = 2; cases[0].seq_q = 33; cases[0].seq_kv = 90; cases[0].mask = true; cases[0].batch = 2;
  cases[1].heads = 4; cases[1].kv_heads = 2; cases[1].seq_q = 5; cases[1].seq_kv = 200; cases[1].head_dim = 128;
  cases[2].heads = 2; cases[2].seq_q = 60; cases[2].seq_kv = 60; cases[2].head_dim = 17; cases[2].causal = true;
  cases[3].heads = 1; cases[3].seq_q = 70; cases[3].seq_kv = 40; cases[3].head_dim = 80;
  for (size_t n = 0; n < cases.size(); ++n) cases[n].seed = unsigned(200 + n);

  std::vector<double> out_errors(cases.size(), 1.0), probs_errors(cases.size(), 1.0);
  std::vector<int> wrong_messages(2, -1);
  std::vector<std::thread> threads;
  for (size_t n = 0; n < cases.size(); ++n)
    threads.emplace_back([&, n] {
      const Case& c = cases[n];
      const Tensors t = make_tensors(c);
      std::vector<float> out(t.q.size()), probs(size_t(c.batch) * c.heads * c.seq_q * c.seq_kv);
      for (int rep = 0; rep < 4; ++rep) {
        sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
             c.head_dim, options_for(c, t));
        attention_probs(t.q.data(), t.k.data(), probs.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
                        c.head_dim, options_for(c, t));
      }
      std::vector<double> expected, expected_probs;
      reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected, &expected_probs);
      out_errors[n] = reference::relative_max_error(out.data(), expected);
      probs_errors[n] = reference::relative_max_error(probs.data(), expected_probs);
    });
  for (int n = 0; n < 2; ++n)
    threads.emplace_back([&, n] {
      std::vector<float> x(64, 1.0f), out(64, 9.0f);
      const std::string needle = n == 0 ? "seq_kv" : "head_dim";
      int wrong = 0;
      for (int rep = 0; rep < 200; ++rep) {
        try {
          sdpa(x.data(), x.data(), x.data(), out.data(), 1, 1, 1, n == 0 ? 0 : 1, n == 0 ? 64 : -64);
          ++wrong;
        } catch (const Error& e) {
          wrong += std::string(e.what()).find(needle) == std::string::npos;
        }
      }
      for (float o : out) wrong += o != 9.0f;
      wrong_messages[n] = wrong;
    });
  for (auto& th : threads) th.join();
  for (size_t n = 0; n < cases.size(); ++n) {
    EXPECT_LE(out_errors[n], kTolerance) << cases[n].name();
    EXPECT_LE(probs_errors[n], kTolerance) << cases[n].name();
  }
  EXPECT_EQ(wrong_messages, std::vector<int>({0, 0}));
}

// The thread-count setting may change while other threads are inside sdpa.
TEST(Concurrency, ThreadCountChangesDuringCalls) {
  std::atomic<bool> stop{false};
  std::thread toggler([&] {
    for (int n = 0; !stop; n = (n + 1) % 3) set_num_threads(n);  // 0, 1, 2, 0, ...
  });
  std::vector<double> errors(3, 1.0);
  std::vector<std::thread> threads;
  for (int n = 0; n < 3; ++n)
    threads.emplace_back([&, n] {
      Case c;
      c.heads = 3; c.seq_q = 45 + 10 * n; c.seq_kv = 80; c.causal = n == 1; c.seed = 300 + unsigned(n);
      const Tensors t = make_tensors(c);
      std::vector<float> out(t.q.size());
      std::vector<double> expected;
      reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
      double worst = 0;
      for (int rep = 0; rep < 20; ++rep) {
        std::fill(out.begin(), out.end(), 0.0f);
        sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
             c.head_dim, options_for(c, t));
        worst = std::max(worst, reference::relative_max_error(out.data(), expected));
      }
      errors[n] = worst;
    });
  for (auto& th : threads) th.join();
  stop = true;
  toggler.join();
  set_num_threads(0);
  for (double e : errors) EXPECT_LE(e, kTolerance);
}

// Results do not depend on the number of threads or on the call: bit-for-bit the same.
TEST(Determinism, SameBitsForAnyThreadCountAndCall) {
  std::vector<Case> cases(3);
  cases[0].heads = 4; cases[0].seq_q = 130; cases[0].seq_kv = 70;
  cases[1].heads = 4; cases[1].kv_heads = 1; cases[1].seq_q = 3; cases[1].seq_kv = 500;  // decode
  cases[2].heads = 2; cases[2].batch = 2; cases[2].seq_q = 50; cases[2].seq_kv = 90; cases[2].causal = true;
  cases[2].mask = true; cases[2].head_dim = 80;
  for (const Case& c : cases) {
    const Tensors t = make_tensors(c);
    auto run = [&](int threads) {
      set_num_threads(threads);
      std::vector<float> out(t.q.size());
      sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
           c.head_dim, options_for(c, t));
      return out;
    };
    const std::vector<float> first = run(0);
    EXPECT_EQ(run(0), first) << c.name();
    EXPECT_EQ(run(1), first) << c.name() << ": 1 thread differs from all cores";
    EXPECT_EQ(run(2), first) << c.name() << ": 2 threads differ from all cores";
  }
  set_num_threads(0);
}


Case threading_case() {
  Case c;
  c.heads = 4; c.seq_q = 300; c.seq_kv = 260; c.seed = 400;  // 4 heads x several query tiles
  return c;
}

// An application that pins its threads (OMP_PROC_BIND, pinned request threads) must not confine
// attune's workers: a call from a thread pinned to one CPU leaves every worker free to run on
// all the other CPUs of worker_cpus() (Halide's own pool had them inherit the caller's single
// CPU); the caller's CPU is the caller's, which works on the call too.
TEST(Affinity, PinnedCallerLeavesWorkersOnEveryCpu) {
  const std::vector<int> cpus = worker_cpus();
  ASSERT_FALSE(cpus.empty());
  if (cpus.size() < 2) GTEST_SKIP() << "one CPU: nothing to spread over";
  double err = 1;
  std::thread caller([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus.back(), &one);
    ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(one), &one), 0);
    err = sdpa_error(threading_case());
    // The calling thread itself stays as the application pinned it.
    cpu_set_t now;
    ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof(now), &now), 0);
    EXPECT_EQ(CPU_COUNT(&now), 1);
  });
  caller.join();
  EXPECT_LE(err, kTolerance);
  const auto sets = attune_worker_cpu_sets();
  EXPECT_GE(int(sets.size()), num_threads() - 1);
  for (const auto& set : sets)
    EXPECT_EQ(set, cpus_without(cpus, cpus.back())) << "workers must run on every CPU of worker_cpus() but the caller's";
}

TEST(Affinity, WorkerCpusCanBeChosenAndRestored) {
  const std::vector<int> all = worker_cpus();
  set_worker_cpus({all.front()});
  EXPECT_EQ(worker_cpus(), std::vector<int>{all.front()});
  EXPECT_EQ(num_threads(), 1);  // the default thread count follows the CPUs
  set_num_threads(2);           // an explicit count still applies: two threads time-share one CPU
  EXPECT_LE(sdpa_error(threading_case()), kTolerance);
  for (const auto& set : attune_worker_cpu_sets()) EXPECT_EQ(set, std::vector<int>{all.front()});
  set_num_threads(0);
  set_worker_cpus({});
  EXPECT_EQ(worker_cpus(), all);
  for (const auto& set : attune_worker_cpu_sets()) EXPECT_EQ(set, all);
  // From a caller pinned to one CPU: the workers take all the others.
  std::thread caller([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(all.front(), &one);
    ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(one), &one), 0);
    EXPECT_LE(sdpa_error(threading_case()), kTolerance);
  });
  caller.join();
  for (const auto& set : attune_worker_cpu_sets()) EXPECT_EQ(set, cpus_without(all, all.front()));
}

TEST(Affinity, BadWorkerCpusAreRejectedNamingTheArgument) {
  const std::vector<int> before = worker_cpus();
  for (const std::vector<int>& bad : {std::vector<int>{0, -1}, std::vector<int>{1 << 20}}) {
    try {
      set_worker_cpus(bad);
      ADD_FAILURE() << "accepted a CPU number out of range";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cpus["), std::string::npos) << e.what();
    }
  }
  // CPU_SETSIZE - 1 exists on no test machine: in range, but not a CPU this process may use.
  try {
    set_worker_cpus({CPU_SETSIZE - 1});
    ADD_FAILURE() << "accepted a CPU this process cannot run on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpus"), std::string::npos) << e.what();
  }
  EXPECT_EQ(worker_cpus(), before);
}

// The application's thread pool runs every loop; results are the same bits as on attune's pool.
TEST(AppThreadPool, LoopsRunOnTheGivenParallelFor) {
  std::vector<Case> cases(2, threading_case());
  cases[1].kv_heads = 1; cases[1].seq_q = 2; cases[1].seq_kv = 3000;  // decode: split-KV, nested loops
  for (const Case& c : cases) {
    std::vector<float> pooled, app;
    ASSERT_LE(sdpa_error(c, &pooled), kTolerance);
    std::atomic<int> loops{0}, tasks{0};
    set_parallel_for([&](int n, const std::function<void(int)>& task) {
      ++loops;
      for (int i = n - 1; i >= 0; --i, ++tasks) task(i);  // any order will do
    });
    const double err = sdpa_error(c, &app);
    set_parallel_for(nullptr);
    EXPECT_LE(err, kTolerance) << c.name();
    EXPECT_GT(loops.load(), 0) << c.name();
    EXPECT_GT(tasks.load(), loops.load()) << c.name();
    EXPECT_EQ(app, pooled) << c.name() << ": the application's pool gave other bits";
  }
}

TEST(AppThreadPool, OpenMp) {
  use_openmp();
  const double err = sdpa_error(threading_case());
  set_parallel_for(nullptr);
  EXPECT_LE(err, kTolerance);
}

// kAuto: the process's OpenMP threads where OpenMP binds them, else attune's pool. ctest runs
// this test twice: as discovered (OpenMP unbound) and with OMP_PROC_BIND=true (tests/CMakeLists).
TEST(ThreadPoolChoice, AutoTakesOpenMpWhereItBindsThreads) {
  const bool bound = omp_get_proc_bind() != omp_proc_bind_false;
  EXPECT_EQ(thread_pool(), bound ? ThreadPool::kOpenMP : ThreadPool::kAttune);
  EXPECT_EQ(num_threads(), bound ? omp_get_max_threads() : int(worker_cpus().size()));
  EXPECT_LE(sdpa_error(threading_case()), kTolerance);
  set_thread_pool(ThreadPool::kAttune);
  EXPECT_EQ(thread_pool(), ThreadPool::kAttune);
  set_thread_pool(ThreadPool::kOpenMP);
  EXPECT_EQ(thread_pool(), ThreadPool::kOpenMP);
  set_thread_pool(ThreadPool::kAuto);
  EXPECT_EQ(thread_pool(), bound ? ThreadPool::kOpenMP : ThreadPool::kAttune);
}

// On OpenMP's threads the loops (nested ones too: decode's split-KV) run on its team, which
// starts for them in this process, and give the same bits as attune's pool.
TEST(ThreadPoolChoice, OpenMpRunsTheLoopsOnItsTeam) {
  if (omp_get_max_threads() < 2) GTEST_SKIP() << "OpenMP has one thread here";
  // OpenMP's threads carry the process's name; attune's are named attune-worker.
  auto openmp_threads = [] { return threads_named("threads_test").size(); };
  std::vector<Case> cases(2, threading_case());
  cases[1].kv_heads = 1; cases[1].seq_q = 2; cases[1].seq_kv = 3000;
  for (const Case& c : cases) {
    std::vector<float> pooled, team;
    set_thread_pool(ThreadPool::kAttune);
    ASSERT_LE(sdpa_error(c, &pooled), kTolerance);
    const size_t before = openmp_threads();
    set_thread_pool(ThreadPool::kOpenMP);
    const double err = sdpa_error(c, &team);
    const size_t after = openmp_threads();
    set_thread_pool(ThreadPool::kAuto);
    EXPECT_LE(err, kTolerance) << c.name();
    EXPECT_EQ(team, pooled) << c.name() << ": OpenMP's threads gave other bits";
    if (&c == &cases[0]) EXPECT_GT(after, before) << "no OpenMP thread started for attune's loops";
  }
}

// A loop with fewer indices than OpenMP's team still runs on the whole team: libgomp ends the
// threads a smaller team leaves out (and starts them again for the application's next loop).
TEST(ThreadPoolChoice, OpenMpTeamKeepsItsThreadsForSmallLoops) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(4);  // more threads than the 2-task loops below
  auto team_threads = [] { return threads_named("threads_test").size(); };
  int team = 0;
#pragma omp parallel
  {
#pragma omp master
    team = omp_get_num_threads();
  }
  const size_t before = team_threads();
  set_thread_pool(ThreadPool::kOpenMP);
  Case c;
  c.heads = 2; c.seq_q = 40; c.seq_kv = 40; c.seed = 7;  // one query tile per head: 2 tasks
  const double err = sdpa_error(c);
  const size_t after = team_threads();
  set_thread_pool(ThreadPool::kAuto);
  omp_set_num_threads(threads);
  EXPECT_LE(err, kTolerance);
  EXPECT_EQ(team, 4);
  EXPECT_GE(before, 4u);  // the team's threads and the process's main thread carry its name
  EXPECT_EQ(after, before) << "OpenMP threads ended (or started) during attune's loops";
}

// CPU time attune's workers have used (ns), from /proc/<task>/schedstat.
std::int64_t attune_workers_cpu_ns() {
  std::int64_t sum = 0;
  for (const std::string& task : threads_named("attune-worker")) {
    std::int64_t ns = 0;
    std::ifstream(task + "/schedstat") >> ns;
    sum += ns;
  }
  return sum;
}

// The app's own OpenMP loop: every team thread busy for `ms`.
void app_openmp_loop(int ms) {
#pragma omp parallel
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
    }
  }
}

// kAuto with unbound OpenMP threads: while they spin-wait after the application's loop, the
// calls run on them (attune's workers would share their CPUs and wait a scheduler slice); once
// they sleep, on attune's pool. ctest runs it with OMP_WAIT_POLICY=active (they never stop
// spinning; also with ATTUNE_TEST_LISTED=1) and passive (they sleep at once); discovered, it
// skips (libgomp's default spins for a machine-dependent few ms).
TEST(ThreadPoolChoice, AutoTakesUnboundOpenMpThreadsWhileTheySpin) {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const std::string wait = policy ? policy : "";
  if (wait != "active" && wait != "passive") GTEST_SKIP() << "runs as its .active and .passive ctest entries";
  if (omp_get_proc_bind() != omp_proc_bind_false) GTEST_SKIP() << "OpenMP binds its threads here: always taken";
  if (worker_cpus().size() < 2 || omp_get_max_threads() < int(worker_cpus().size()))
    GTEST_SKIP() << "needs 2+ CPUs and an OpenMP team as large as attune's pool";
  const bool spinning = wait == "active";
  // ATTUNE_TEST_LISTED=1: threads that start and end before the team take the ids after
  // attune's, so the team is found by listing /proc/self/task rather than by trying those ids.
  if (const char* listed = std::getenv("ATTUNE_TEST_LISTED"); listed && std::string(listed) == "1")
    for (int n = 0; n < 10; ++n) std::thread([] {}).join();
  Case c = threading_case();
  c.seq_q = c.seq_kv = 1024;  // ~10 ms of work: the threads that ran it show in their CPU time
  const Tensors t = make_tensors(c);
  std::vector<float> out(t.q.size());
  const SdpaOptions o = options_for(c, t);
  // A spinning thread that another process preempts just then reads as idle, and that call runs
  // on attune's pool: on a busy machine a round may go either way, so 4 of 5 must go right.
  int right = 0;
  std::string rounds;
  for (int round = 0; round < 5; ++round) {  // the first also finds the team's threads
    app_openmp_loop(20);
    if (!spinning) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const ThreadPool pool = thread_pool();
    const std::int64_t before = attune_workers_cpu_ns();
    const auto t0 = std::chrono::steady_clock::now();
    sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim, o);
    const double call_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    const double workers_share = (attune_workers_cpu_ns() - before) / call_ns;
    right += spinning ? pool == ThreadPool::kOpenMP && workers_share < 0.1
                      : pool == ThreadPool::kAttune && workers_share > 0.2;
    rounds += " (" + std::string(pool == ThreadPool::kOpenMP ? "openmp" : "attune") + ", workers' CPU " +
              std::to_string(workers_share) + " of the call)";
  }
  EXPECT_GE(right, 4) << (spinning ? "expected OpenMP's team, attune's workers idle:" : "expected attune's workers:")
                      << rounds;
  if (spinning) {
    // A loop that took over 30 ms last time runs on attune's pool even while the team spins (an
    // unbound team ran long loops slower). A length whose call takes over 60 ms here:
    Case big = threading_case();
    big.heads = 8;
    double ms = 0, share = 0;
    for (big.seq_q = 2048; big.seq_q <= 16384 && ms < 60; big.seq_q *= 2) {
      big.seq_kv = big.seq_q;
      const Tensors tb = make_tensors(big);
      std::vector<float> ob(tb.q.size());
      for (int call = 0; call < 2; ++call) {
        app_openmp_loop(5);
        const std::int64_t before = attune_workers_cpu_ns();
        const auto t0 = std::chrono::steady_clock::now();
        sdpa(tb.q.data(), tb.k.data(), tb.v.data(), ob.data(), big.batch, big.heads, big.seq_q, big.seq_kv,
             big.head_dim, options_for(big, tb));
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        ms = ns / 1e6;
        share = (attune_workers_cpu_ns() - before) / ns;
      }
    }
    if (ms >= 60) EXPECT_GT(share, 0.2) << "a " << ms << " ms call ran on the spinning team, not attune's pool";
  }
  std::vector<double> expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
  EXPECT_LE(reference::relative_max_error(out.data(), expected), kTolerance);
  // Inside the application's parallel region its team is busy: attune's pool, never a nested team.
  double err = 1;
#pragma omp parallel
  {
#pragma omp master
    {
      EXPECT_EQ(thread_pool(), ThreadPool::kAttune);
      err = sdpa_error(threading_case());
    }
  }
  EXPECT_LE(err, kTolerance);
}

// A parallel_for that throws or skips tasks fails the call with attune::Error.
TEST(AppThreadPool, BrokenParallelForIsAnError) {
  const std::vector<std::pair<ParallelFor, std::string>> broken = {
      {[](int, const std::function<void(int)>&) { throw std::runtime_error("pool is shut down"); },
       "pool is shut down"},
      {[](int n, const std::function<void(int)>& task) {
         for (int i = 0; i + 1 < n; ++i) task(i);  // forgets the last one
       },
       "tasks of"}};
  for (const auto& [fn, needle] : broken) {
    set_parallel_for(fn);
    try {
      sdpa_error(threading_case());
      ADD_FAILURE() << "no error for a broken parallel_for (" << needle << ")";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("set_parallel_for"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    set_parallel_for(nullptr);
  }
  EXPECT_LE(sdpa_error(threading_case()), kTolerance);  // and attune's pool is back
}

}  // namespace
}  // namespace attune::testing
