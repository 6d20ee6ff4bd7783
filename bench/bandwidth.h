// The machine's read bandwidth on all cores (GB/s), measured in the benchmark binary itself:
// the ceiling for memory-bound work such as decode, which reads the whole KV cache once.
#pragma once

namespace attune::bench {
double read_bandwidth_gbs();  // at startup: best of 8 passes, computed once, cached
// One pass over the probe's 1 GiB on every core, with or without software prefetch; returns
// the bytes read. The benchmark times it between the decode rows.
double read_pass(bool prefetch);
}  // namespace attune::bench
