// The machine's read bandwidth on all cores (GB/s), measured in the benchmark binary itself:
// the ceiling for memory-bound work such as decode, which reads the whole KV cache once.
#pragma once

namespace attune::bench {
double read_bandwidth_gbs();  // computed once, cached
}
