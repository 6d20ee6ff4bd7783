// Outside consumer with pinned threads, as HPC apps and PyTorch run: started with
// OMP_PROC_BIND=true, its OpenMP runtime binds the calling thread to one CPU before attune is
// called. attune runs on those OpenMP threads by default (ThreadPool::kAuto); on its own pool,
// chosen, its workers must still cover every CPU of the process (worker_cpus()); and its loops
// run on the app's OpenMP threads through attune::use_openmp too.
#include <attune/attention.h>
#include <attune/openmp.h>
#include <omp.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "naive_sdpa.h"
#include "worker_threads.h"

namespace {

int failures = 0;
void expect(bool ok, const char* what) {
  std::printf("pinned_app: %s: %s\n", ok ? "ok" : "FAILED", what);
  failures += !ok;
}

}  // namespace

int main() {
  const char* bind = std::getenv("OMP_PROC_BIND");
  if (!bind || std::string(bind) != "true") {
    std::fprintf(stderr, "pinned_app: run with OMP_PROC_BIND=true\n");
    return 2;
  }
  int team = 0;
#pragma omp parallel
#pragma omp single
  team = omp_get_num_threads();  // the app's own OpenMP work binds its threads
  cpu_set_t caller;
  sched_getaffinity(0, sizeof(caller), &caller);
  const std::vector<int> cpus = attune::worker_cpus();
  std::printf("pinned_app: OpenMP team of %d, calling thread on %d CPU(s), attune worker_cpus %zu, num_threads %d\n",
              team, CPU_COUNT(&caller), cpus.size(), attune::num_threads());
  if (cpus.size() < 2) {
    std::printf("pinned_app: one CPU: nothing to check\n");
    return 0;
  }
  expect(CPU_COUNT(&caller) == 1, "OMP_PROC_BIND pinned the calling thread to one CPU");
  expect(int(cpus.size()) == team, "worker_cpus() covers the OpenMP places, not just the caller's CPU");
  expect(attune::num_threads() == team, "attune uses every CPU by default");
  expect(attune::thread_pool() == attune::ThreadPool::kOpenMP, "attune runs on the app's bound OpenMP threads");
  expect(check_sdpa(1, 4, 300, 260, 64, false) <= 1e-4, "attune::sdpa on the app's OpenMP threads is correct");

  // Several query tiles per head: every worker gets work.
  attune::set_thread_pool(attune::ThreadPool::kAttune);
  expect(attune::num_threads() == int(cpus.size()), "attune's pool uses every CPU by default");
  expect(check_sdpa(1, 4, 300, 260, 64, false) <= 1e-4, "attune::sdpa on attune's pool from the pinned thread is correct");
  const auto sets = attune_worker_cpu_sets();
  expect(int(sets.size()) >= attune::num_threads() - 1, "attune started its worker threads");
  int caller_cpu = -1;
  for (int c = 0; c < CPU_SETSIZE && caller_cpu < 0; ++c)
    if (CPU_ISSET(c, &caller)) caller_cpu = c;
  bool everywhere = true;
  for (const auto& set : sets) everywhere = everywhere && set == cpus_without(cpus, caller_cpu);
  expect(everywhere, "every attune worker may run on all of worker_cpus() but the caller's CPU");

  attune::use_openmp();
  expect(check_sdpa(2, 3, 77, 130, 64, true) <= 1e-4, "attune::sdpa on the app's OpenMP threads is correct");
  return failures ? 1 : 0;
}
