// The machine's fp32 FMA peak for a CPU target's vector ISA: the ceiling that % of peak is of.
// Shared by the tuner (records carry it, `attune show` reports % of it) and the benchmarks.
// No Halide: the chains are plain intrinsics compiled per ISA (GCC target attributes), so one
// binary measures the AVX2 peak on an AVX-512 machine when the target is AVX2.
#pragma once

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace attune::autotune {

enum class VectorIsa { kNone, kSse, kAvx2, kAvx512 };  // kNone: not x86 (no probe)

// The vector ISA that Halide code for `target` (a resolved Halide target string, "x86-64-...")
// computes floats with: avx512 -> 512-bit FMA, avx2 + fma -> 256-bit FMA, other x86 -> 128-bit
// mul + add; kNone for other architectures.
VectorIsa vector_isa_of(const std::string& target);
// The widest this CPU runs.
VectorIsa host_vector_isa();

// One round of independent FMA chains (~0.05-0.1 s) on `threads` threads (0 = every hardware
// thread); returns the FLOPs done, for a caller that times it. 0 if the CPU lacks the ISA.
double run_fma_chains(VectorIsa isa, int threads = 0);
// GFLOP/s of run_fma_chains, best of `rounds` rounds (a busy machine lowers single rounds).
double fma_peak_gflops(VectorIsa isa, int threads = 0, int rounds = 5);

// The machine probes' common shape (FMA peak, read bandwidth, register tile): `per_thread(t)`
// on each of `threads` threads (0 = every hardware thread) at once; its float results are kept
// observable so the work is not optimised away. Returns the thread count used.
template <class PerThread>
int on_every_thread(int threads, PerThread per_thread) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<float> sink(static_cast<size_t>(threads), 0.0f);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&sink, &per_thread, t] { sink[size_t(t)] = per_thread(t); });
  for (auto& th : pool) th.join();
  volatile float keep = sink[0];
  (void)keep;
  return threads;
}

}  // namespace attune::autotune
