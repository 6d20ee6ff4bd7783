// attune::sdpa is re-entrant: concurrent calls from several app threads give correct results.
#include <thread>

#include "test_util.h"

namespace attune::testing {
namespace {

TEST(Concurrency, ParallelCallsAreCorrect) {
  std::vector<Case> cases;
  for (int n = 0; n < 4; ++n) {
    Case c;
    c.heads = 2; c.seq_q = 50 + 13 * n; c.seq_kv = 70 + 9 * n; c.causal = n % 2; c.seed = 100 + n;
    cases.push_back(c);
  }
  std::vector<double> errors(cases.size(), 1.0);
  std::vector<std::thread> threads;
  for (size_t n = 0; n < cases.size(); ++n)
    threads.emplace_back([&, n] {
      const Case& c = cases[n];
      const Tensors t = make_tensors(c);
      std::vector<float> out(t.q.size());
      for (int rep = 0; rep < 5; ++rep)
        sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
             c.head_dim, options_for(c, t));
      std::vector<double> expected;
      reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
      errors[n] = reference::relative_max_error(out.data(), expected);
    });
  for (auto& th : threads) th.join();
  for (double e : errors) EXPECT_LE(e, kTolerance);
}

}  // namespace
}  // namespace attune::testing
