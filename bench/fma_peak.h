// The machine's fp32 FMA peak on all cores, measured in the benchmark binary itself.
#pragma once

namespace attune::bench {
double fma_peak_gflops();  // computed once, cached
}
