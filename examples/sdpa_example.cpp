// The smallest attune app: call attune::sdpa, check it against the double-precision
// reference, print the error and the speed.
#include <attune/attention.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "reference/reference.h"

int main() {
  const int B = 1, H = 8, S = 1024, D = 64;
  std::vector<float> q(size_t(B) * H * S * D), k(q.size()), v(q.size()), out(q.size());
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  for (auto* t : {&q, &k, &v})
    for (float& x : *t) x = normal(rng);

  attune::sdpa(q.data(), k.data(), v.data(), out.data(), B, H, S, S, D);  // warm-up

  const int reps = 10;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) attune::sdpa(q.data(), k.data(), v.data(), out.data(), B, H, S, S, D);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;

  attune::reference::SdpaProblem p;
  p.batch = B; p.num_heads = H; p.seq_q = S; p.seq_kv = S; p.head_dim = D;
  std::vector<double> expected;
  attune::reference::sdpa(p, q.data(), k.data(), v.data(), expected);
  const double err = attune::reference::relative_max_error(out.data(), expected);

  const double flops = 4.0 * B * H * S * double(S) * D;
  std::printf("attune::sdpa B=%d H=%d S=%d D=%d: %.3f ms, %.1f GFLOP/s, max rel error vs double reference %.2e\n",
              B, H, S, D, sec * 1e3, flops / sec * 1e-9, err);
  return err <= 1e-4 ? 0 : 1;
}
