// Every compiled CPU ISA level (avx512, avx2, sse41) that this machine can run gives correct
// results: set_max_isa() restricts the dispatch, describe_dispatch() shows the level in effect.
// Levels above the host's are skipped (an AVX2 machine cannot execute AVX-512 kernels).
#include "test_util.h"

namespace attune::testing {
namespace {

class IsaTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!host_supports(GetParam())) GTEST_SKIP() << "this CPU supports up to " << max_isa();
    set_max_isa(GetParam());
  }
  void TearDown() override { set_max_isa(""); }
};

Case make(int h, int kvh, int sq, int skv, int d, bool causal, bool mask) {
  Case c;
  c.batch = 2; c.heads = h; c.kv_heads = kvh; c.seq_q = sq; c.seq_kv = skv; c.head_dim = d;
  c.causal = causal; c.mask = mask; c.seed = unsigned(sq * 3 + skv + d);
  return c;
}

TEST_P(IsaTest, KernelsOfThisLevelAreCorrect) {
  const std::string isa = GetParam();
  for (const Case& c : {make(2, 0, 65, 130, 64, false, false), make(4, 2, 70, 70, 80, true, false),
                        make(2, 0, 33, 90, 128, false, true), make(2, 1, 4, 300, 64, true, false),
                        make(2, 0, 40, 50, 17, false, false)}) {
    const auto info = describe_dispatch("sdpa", c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim, options_for(c, make_tensors(c)));
    EXPECT_EQ(info.isa, isa) << info.kernel;
    const Tensors t = make_tensors(c);
    std::vector<float> out(t.q.size());
    sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim,
         options_for(c, t));
    std::vector<double> expected, probs_expected;
    reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected, &probs_expected);
    EXPECT_LE(reference::relative_max_error(out.data(), expected), kTolerance) << isa << " " << c.name();
    std::vector<float> probs(probs_expected.size());
    attention_probs(t.q.data(), t.k.data(), probs.data(), c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim,
                    options_for(c, t));
    EXPECT_LE(reference::relative_max_error(probs.data(), probs_expected), kTolerance) << isa << " " << c.name();
  }
}

TEST(Isa, BadLevelIsRejected) {
  EXPECT_THROW(set_max_isa("neon"), Error);
  set_max_isa("");
  EXPECT_FALSE(max_isa().empty());
}

INSTANTIATE_TEST_SUITE_P(Levels, IsaTest, ::testing::Values("avx512", "avx2", "sse41"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace attune::testing
