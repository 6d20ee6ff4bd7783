// The machine's fp32 FMA peak on all cores, measured in the benchmark binary itself.
#pragma once

namespace attune::bench {

// One round of independent FMA chains on every hardware thread (one std::thread each, ~0.1 s).
// Returns the FLOPs done, for a caller that times it.
double run_fma_chains();

// GFLOP/s of run_fma_chains(), best of a few rounds. Measured on the first call, cached.
double fma_peak_gflops();

}  // namespace attune::bench
