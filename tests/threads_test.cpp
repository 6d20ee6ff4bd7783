// attune::sdpa is re-entrant: concurrent calls from several app threads give correct results.
#include <algorithm>
#include <atomic>
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

// Many calls from several threads at once, mixing kernels (dense, causal, masked, GQA, decode,
// generic head_dim, attention_probs) and bad calls whose errors must name their own argument.
TEST(Concurrency, MixedKernelsAndErrorsFromManyThreads) {
  std::vector<Case> cases(4);
  cases[0].heads = 2; cases[0].seq_q = 33; cases[0].seq_kv = 90; cases[0].mask = true; cases[0].batch = 2;
  cases[1].heads = 4; cases[1].kv_heads = 2; cases[1].seq_q = 5; cases[1].seq_kv = 200; cases[1].head_dim = 128;
  cases[2].heads = 2; cases[2].seq_q = 60; cases[2].seq_kv = 60; cases[2].head_dim = 17; cases[2].causal = true;
  cases[3].heads = 1; cases[3].seq_q = 70; cases[3].seq_kv = 40; cases[3].head_dim = 80;
  for (size_t n = 0; n < cases.size(); ++n) cases[n].seed = unsigned(200 + n);

  std::vector<double> out_errors(cases.size(), 1.0), probs_errors(cases.size(), 1.0);
  std::vector<int> wrong_messages(2, -1);
  std::vector<std::thread> threads;
  for (size_t n = 0; n < cases.size(); ++n)
    threads.emplace_back([&, n] {
      const Case& c = cases[n];
      const Tensors t = make_tensors(c);
      std::vector<float> out(t.q.size()), probs(size_t(c.batch) * c.heads * c.seq_q * c.seq_kv);
      for (int rep = 0; rep < 4; ++rep) {
        sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
             c.head_dim, options_for(c, t));
        attention_probs(t.q.data(), t.k.data(), probs.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
                        c.head_dim, options_for(c, t));
      }
      std::vector<double> expected, expected_probs;
      reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected, &expected_probs);
      out_errors[n] = reference::relative_max_error(out.data(), expected);
      probs_errors[n] = reference::relative_max_error(probs.data(), expected_probs);
    });
  for (int n = 0; n < 2; ++n)
    threads.emplace_back([&, n] {
      std::vector<float> x(64, 1.0f), out(64, 9.0f);
      const std::string needle = n == 0 ? "seq_kv" : "head_dim";
      int wrong = 0;
      for (int rep = 0; rep < 200; ++rep) {
        try {
          sdpa(x.data(), x.data(), x.data(), out.data(), 1, 1, 1, n == 0 ? 0 : 1, n == 0 ? 64 : -64);
          ++wrong;
        } catch (const Error& e) {
          wrong += std::string(e.what()).find(needle) == std::string::npos;
        }
      }
      for (float o : out) wrong += o != 9.0f;
      wrong_messages[n] = wrong;
    });
  for (auto& th : threads) th.join();
  for (size_t n = 0; n < cases.size(); ++n) {
    EXPECT_LE(out_errors[n], kTolerance) << cases[n].name();
    EXPECT_LE(probs_errors[n], kTolerance) << cases[n].name();
  }
  EXPECT_EQ(wrong_messages, std::vector<int>({0, 0}));
}

// The thread-count setting may change while other threads are inside sdpa.
TEST(Concurrency, ThreadCountChangesDuringCalls) {
  std::atomic<bool> stop{false};
  std::thread toggler([&] {
    for (int n = 0; !stop; n = (n + 1) % 3) set_num_threads(n);  // 0, 1, 2, 0, ...
  });
  std::vector<double> errors(3, 1.0);
  std::vector<std::thread> threads;
  for (int n = 0; n < 3; ++n)
    threads.emplace_back([&, n] {
      Case c;
      c.heads = 3; c.seq_q = 45 + 10 * n; c.seq_kv = 80; c.causal = n == 1; c.seed = 300 + unsigned(n);
      const Tensors t = make_tensors(c);
      std::vector<float> out(t.q.size());
      std::vector<double> expected;
      reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
      double worst = 0;
      for (int rep = 0; rep < 20; ++rep) {
        std::fill(out.begin(), out.end(), 0.0f);
        sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
             c.head_dim, options_for(c, t));
        worst = std::max(worst, reference::relative_max_error(out.data(), expected));
      }
      errors[n] = worst;
    });
  for (auto& th : threads) th.join();
  stop = true;
  toggler.join();
  set_num_threads(0);
  for (double e : errors) EXPECT_LE(e, kTolerance);
}

// Results do not depend on the number of threads or on the call: bit-for-bit the same.
TEST(Determinism, SameBitsForAnyThreadCountAndCall) {
  std::vector<Case> cases(3);
  cases[0].heads = 4; cases[0].seq_q = 130; cases[0].seq_kv = 70;
  cases[1].heads = 4; cases[1].kv_heads = 1; cases[1].seq_q = 3; cases[1].seq_kv = 500;  // decode
  cases[2].heads = 2; cases[2].batch = 2; cases[2].seq_q = 50; cases[2].seq_kv = 90; cases[2].causal = true;
  cases[2].mask = true; cases[2].head_dim = 80;
  for (const Case& c : cases) {
    const Tensors t = make_tensors(c);
    auto run = [&](int threads) {
      set_num_threads(threads);
      std::vector<float> out(t.q.size());
      sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
           c.head_dim, options_for(c, t));
      return out;
    };
    const std::vector<float> first = run(0);
    EXPECT_EQ(run(0), first) << c.name();
    EXPECT_EQ(run(1), first) << c.name() << ": 1 thread differs from all cores";
    EXPECT_EQ(run(2), first) << c.name() << ": 2 threads differ from all cores";
  }
  set_num_threads(0);
}

}  // namespace
}  // namespace attune::testing
