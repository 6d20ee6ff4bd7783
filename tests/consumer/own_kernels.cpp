// An app linking its own kernel library, built by attune_add_kernels() from its own tuned
// configs: the medium-bucket sdpa call must run the tuned config given on the command line
// (what `attune which` shows), at the tuned ISA level, and every call must be correct.
// Usage: own_kernels EXPECTED_CONFIG_JSON
#include <attune/attention.h>

#include <cstdio>
#include <string>

#include "naive_sdpa.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const attune::DispatchInfo d = attune::describe_dispatch("sdpa", 1, 4, 600, 1000, 64);
  std::printf("own_kernels: %s (%s, bucket %s) config %s\n", d.kernel.c_str(), d.isa.c_str(), d.bucket.c_str(),
              d.config.c_str());
  if (d.config != argv[1] || d.isa != "avx2" || d.bucket != "medium") {
    std::printf("own_kernels: expected config %s at avx2\n", argv[1]);
    return 1;
  }
  // The hand-written export names no workload_key: the build names the workload from its fields.
  if (d.tuned_for != "sdpa:h4:kv4:q600:k1000:d64:causal0:mask0") {
    std::printf("own_kernels: tuned_for is '%s'\n", d.tuned_for.c_str());
    return 1;
  }
  const double e1 = check_sdpa(1, 4, 600, 1000, 64, false), e2 = check_sdpa(2, 2, 33, 70, 64, true);
  std::printf("own_kernels: relative max error %.2e (tuned), %.2e (causal, default schedule)\n", e1, e2);
  return e1 <= 1e-4 && e2 <= 1e-4 ? 0 : 1;
}
