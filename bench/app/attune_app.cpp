// An application's view of attune::sdpa: allocate Q/K/V, call it, exit. A fresh process per
// run, so the first call pays whatever a real app pays (thread start-up, scratch pages).
//
//   attune_app S [--heads H] [--dim D] [--causal] [--repeat N] [--idle-ms MS] [--app-loop-ms MS]
//              [--omp-pool] [--serial-fill]
//
// Prints the first call's time and GFLOP/s; with --repeat N, also the median of N more calls
// in the same process and first / median. --idle-ms sleeps that long before each repeated call
// (a server between requests: the workers are asleep when the call comes). --app-loop-ms runs
// an OpenMP parallel loop that long before each repeated call instead (a model's other layers
// between attention calls: its threads spin-wait when the call comes). OpenMP runs a
// parallel region before attune is called, as oneDNN or the app's own loops would: with
// OMP_PROC_BIND=true, libgomp has pinned the calling thread to one CPU by then. --omp-pool runs
// attune's loops on those OpenMP threads (attune::use_openmp) instead of attune's own pool.
// --serial-fill fills on the calling thread instead: no OpenMP thread exists, none spin-waits
// beside attune's first call (a program without OpenMP).
#include <attune/attention.h>
#include <attune/openmp.h>
#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s S [--heads H] [--dim D] [--causal] [--repeat N] [--idle-ms MS] [--app-loop-ms MS] "
                 "[--omp-pool] [--serial-fill]\n",
                 argv[0]);
    return 2;
  }
  const int S = std::atoi(argv[1]);
  int H = 8, D = 64, repeat = 0, idle_ms = 0, app_loop_ms = 0;
  bool causal = false, omp_pool = false, serial_fill = false;
  for (int a = 2; a < argc; ++a) {
    const std::string f = argv[a];
    if (f == "--heads" && a + 1 < argc) H = std::atoi(argv[++a]);
    else if (f == "--dim" && a + 1 < argc) D = std::atoi(argv[++a]);
    else if (f == "--repeat" && a + 1 < argc) repeat = std::atoi(argv[++a]);
    else if (f == "--idle-ms" && a + 1 < argc) idle_ms = std::atoi(argv[++a]);
    else if (f == "--app-loop-ms" && a + 1 < argc) app_loop_ms = std::atoi(argv[++a]);
    else if (f == "--causal") causal = true;
    else if (f == "--omp-pool") omp_pool = true;
    else if (f == "--serial-fill") serial_fill = true;
    else { std::fprintf(stderr, "unknown argument %s\n", f.c_str()); return 2; }
  }

  // The application's own OpenMP work (binds its threads when OMP_PROC_BIND is set).
  const size_t n = size_t(H) * S * D;
  std::vector<float> q(n), k(n), v(n), out(n);
  double checksum = 0;
#pragma omp parallel reduction(+ : checksum) if (!serial_fill)
  {
    std::mt19937 rng(1 + omp_get_thread_num());
    std::normal_distribution<float> normal;
#pragma omp for
    for (long i = 0; i < long(n); ++i) {
      q[i] = normal(rng), k[i] = normal(rng), v[i] = normal(rng);
      checksum += q[i];
    }
  }
  if (omp_pool) attune::use_openmp();

  attune::SdpaOptions o;
  o.causal = causal;
  const double flops = 4.0 * H * D * (causal ? double(S) * (S + 1) / 2 : double(S) * S);
  auto call = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    attune::sdpa(q.data(), k.data(), v.data(), out.data(), 1, H, S, S, D, o);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const double first = call();
  cpu_set_t mine;
  sched_getaffinity(0, sizeof(mine), &mine);
  const char* pool = omp_pool ? "use_openmp" : attune::thread_pool() == attune::ThreadPool::kOpenMP ? "openmp" : "attune";
  std::printf("S=%d H=%d D=%d%s threads=%d caller_cpus=%d pool=%s: first call %.1f ms, %.1f GFLOP/s", S, H, D,
              causal ? " causal" : "", attune::num_threads(), CPU_COUNT(&mine), pool, first * 1e3, flops / first * 1e-9);
  if (repeat > 0) {
    std::vector<double> t;
    for (int r = 0; r < repeat; ++r) {
      if (idle_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
      if (app_loop_ms > 0) {
#pragma omp parallel
        {
          const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(app_loop_ms);
          while (std::chrono::steady_clock::now() < until) {
          }
        }
      }
      t.push_back(call());
    }
    std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
    const double median = t[t.size() / 2];
    std::printf("; repeated: median %.1f ms, %.1f GFLOP/s; first/median %.2f", median * 1e3, flops / median * 1e-9,
                first / median);
  }
  std::printf("\n");
  return checksum == checksum && out[n - 1] == out[n - 1] ? 0 : 1;  // NaN output fails
}
