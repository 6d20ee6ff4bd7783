// The machine's fp32 FMA peak on all cores, measured in the benchmark binary itself.
#pragma once

namespace attune::bench {

// GFLOP/s of independent FMA chains, one thread per hardware thread, best of a few runs.
// Measured on the first call, cached afterwards.
double fma_peak_gflops();

}  // namespace attune::bench
