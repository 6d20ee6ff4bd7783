// Outside consumer: checks attune::sdpa on shapes the in-tree tests do not use against its
// own double loop, and that bad input gets a clear attune::Error.
#include <attune/attention.h>

#include "naive_sdpa.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int main() {
  const double e1 = check_sdpa(2, 3, 77, 130, 64, false), e2 = check_sdpa(1, 2, 91, 91, 96, true);
  std::printf("consumer: relative max error %.2e (non-causal), %.2e (causal)\n", e1, e2);
  if (!(e1 <= 1e-4 && e2 <= 1e-4)) return 1;
  std::vector<float> x(64);
  try {
    attune::sdpa(x.data(), x.data(), x.data(), x.data(), 1, 0, 1, 1, 64);
    std::printf("consumer: no error for num_heads=0\n");
    return 1;
  } catch (const attune::Error& e) {
    std::printf("consumer: bad input rejected: %s\n", e.what());
    if (std::string(e.what()).find("num_heads") == std::string::npos) return 1;
  }
  return 0;
}
