// attune::sdpa and attune::attention_probs against the double-precision reference.
#include <algorithm>
#include <cmath>

#include "test_util.h"

namespace attune::testing {
namespace {

class SdpaTest : public ::testing::TestWithParam<Case> {};

TEST_P(SdpaTest, MatchesReference) {
  const Case c = GetParam();
  const Tensors t = make_tensors(c);
  std::vector<float> out(t.q.size(), -7.0f);
  sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
       c.head_dim, options_for(c, t));
  std::vector<double> expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
  for (float x : out) ASSERT_TRUE(std::isfinite(x));
  EXPECT_LE(reference::relative_max_error(out.data(), expected), kTolerance) << c.name();
}

TEST_P(SdpaTest, ProbsMatchReference) {
  const Case c = GetParam();
  if (double(c.seq_q) * c.seq_kv * c.heads * c.batch > 4e6) GTEST_SKIP() << "large probs matrix";
  const Tensors t = make_tensors(c);
  std::vector<float> probs(size_t(c.batch) * c.heads * c.seq_q * c.seq_kv, -7.0f);
  attention_probs(t.q.data(), t.k.data(), probs.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
                  c.head_dim, options_for(c, t));
  std::vector<double> out, expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), out, &expected);
  EXPECT_LE(reference::relative_max_error(probs.data(), expected), kTolerance) << c.name();
  // Each row sums to 1, or is all zeros when no key is visible.
  for (size_t row = 0; row < probs.size() / c.seq_kv; ++row) {
    double sum = 0, ref_sum = 0;
    for (int j = 0; j < c.seq_kv; ++j) {
      sum += probs[row * c.seq_kv + j];
      ref_sum += expected[row * c.seq_kv + j];
    }
    ASSERT_NEAR(sum, ref_sum > 0.5 ? 1.0 : 0.0, 1e-4) << "row " << row;
  }
}

Case make(int b, int h, int kvh, int sq, int skv, int d, bool causal = false, bool mask = false,
          float scale = 0.0f, float input_scale = 1.0f) {
  Case c;
  c.batch = b; c.heads = h; c.kv_heads = kvh; c.seq_q = sq; c.seq_kv = skv; c.head_dim = d;
  c.causal = causal; c.mask = mask; c.scale = scale; c.input_scale = input_scale;
  c.seed = unsigned(b * 7 + h * 13 + sq * 31 + skv * 17 + d);
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SdpaTest,
    ::testing::Values(make(1, 1, 0, 1, 1, 64), make(1, 2, 0, 7, 7, 64), make(1, 1, 0, 63, 63, 64),
                      make(1, 1, 0, 65, 65, 128), make(2, 3, 0, 257, 257, 64),
                      make(1, 1, 0, 1000, 1000, 64), make(1, 2, 0, 7, 65, 128),
                      make(1, 1, 0, 1000, 63, 64), make(1, 1, 0, 1, 1000, 64),
                      make(3, 2, 0, 33, 17, 64),
                      make(2, 2, 0, 1, 2100, 64), make(1, 8, 2, 1, 1300, 128)),  // decode past a chunk multiple
    [](const auto& info) { return info.param.name(); });

INSTANTIATE_TEST_SUITE_P(
    Options, SdpaTest,
    ::testing::Values(make(1, 2, 0, 65, 65, 64, false, false, 0.3f),       // explicit scale
                      make(1, 2, 0, 100, 130, 64, false, false, 0.0f, 5.0f),  // logits ~ +-100
                      make(1, 8, 2, 65, 129, 64), make(2, 4, 1, 33, 70, 128),  // GQA, MQA
                      make(1, 8, 1, 40, 90, 64), make(2, 8, 4, 5, 300, 128),    // MQA, GQA decode
                      make(1, 2, 0, 129, 129, 64, true), make(1, 1, 0, 40, 100, 64, true),
                      make(1, 1, 0, 100, 40, 128, true),                    // rows with no key
                      make(3, 2, 0, 50, 77, 64, false, true), make(2, 2, 0, 60, 60, 64, true, true),
                      make(1, 4, 2, 50, 200, 64, true, true)),
    [](const auto& info) { return info.param.name() + "_" + std::to_string(info.index); });

INSTANTIATE_TEST_SUITE_P(
    HeadDims, SdpaTest,
    ::testing::Values(make(1, 2, 0, 70, 90, 32), make(1, 2, 0, 70, 90, 80), make(1, 2, 0, 70, 90, 96),
                      make(1, 1, 0, 70, 90, 256), make(1, 2, 0, 70, 90, 1), make(1, 2, 0, 70, 90, 17),
                      make(1, 2, 0, 40, 90, 200, true), make(2, 2, 1, 30, 50, 48, false, true)),
    [](const auto& info) { return info.param.name(); });

// Max |q·k·scale| over all query/key pairs of a case, in double.
double max_abs_logit(const Case& c, const Tensors& t) {
  const double scale = problem_for(c, t).effective_scale();
  const int group = c.heads / c.kvh();
  double mx = 0;
  for (int b = 0; b < c.batch; ++b)
    for (int h = 0; h < c.heads; ++h)
      for (int i = 0; i < c.seq_q; ++i)
        for (int j = 0; j < c.seq_kv; ++j) {
          const float* qi = &t.q[((size_t(b) * c.heads + h) * c.seq_q + i) * c.head_dim];
          const float* kj = &t.k[((size_t(b) * c.kvh() + h / group) * c.seq_kv + j) * c.head_dim];
          double dot = 0;
          for (int d = 0; d < c.head_dim; ++d) dot += double(qi[d]) * kj[d];
          mx = std::max(mx, std::abs(dot * scale));
        }
  return mx;
}

// Large inputs: logits spread over about +-100 (exp would overflow without the max
// subtraction), for the specialised, generic, causal and decode kernels.
TEST(Sdpa, LogitsOfAbout100AreStableAndAccurate) {
  for (Case c : {make(1, 2, 0, 100, 130, 64), make(1, 1, 0, 70, 70, 128, true), make(1, 2, 0, 3, 200, 64),
                 make(1, 2, 0, 50, 60, 17, false, true)}) {
    c.input_scale = 1.0f;
    const Tensors unit = make_tensors(c);
    c.input_scale = float(std::sqrt(100.0 / max_abs_logit(c, unit)));  // max |logit| = 100
    const Tensors t = make_tensors(c);
    const double logit = max_abs_logit(c, t);
    ASSERT_GT(logit, 95.0) << c.name();
    ASSERT_LT(logit, 105.0) << c.name();
    std::vector<float> out(t.q.size());
    sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
         c.head_dim, options_for(c, t));
    for (float x : out) ASSERT_TRUE(std::isfinite(x)) << c.name();
    std::vector<double> expected;
    reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
    EXPECT_LE(reference::relative_max_error(out.data(), expected), kTolerance) << c.name();
  }
}

// Causal with seq_q > seq_kv, bottom-right aligned: query i sees keys j <= i - (seq_q - seq_kv),
// so the first seq_q - seq_kv rows see nothing and must be exactly zero (sdpa and probs).
TEST(Sdpa, CausalRowsWithoutKeysAreExactlyZero) {
  for (Case c : {make(2, 2, 0, 100, 40, 64, true), make(1, 2, 1, 20, 3, 128, true),
                 make(1, 1, 0, 50, 30, 80, true), make(1, 1, 0, 9, 2, 64, true)}) {
    const Tensors t = make_tensors(c);
    std::vector<float> out(t.q.size(), 5.0f);
    sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
         c.head_dim, options_for(c, t));
    std::vector<float> probs(size_t(c.batch) * c.heads * c.seq_q * c.seq_kv, 5.0f);
    attention_probs(t.q.data(), t.k.data(), probs.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
                    c.head_dim, options_for(c, t));
    const int empty_rows = c.seq_q - c.seq_kv;
    for (int bh = 0; bh < c.batch * c.heads; ++bh)
      for (int i = 0; i < c.seq_q; ++i) {
        double mag = 0, psum = 0;
        for (int d = 0; d < c.head_dim; ++d) mag += std::abs(out[(size_t(bh) * c.seq_q + i) * c.head_dim + d]);
        for (int j = 0; j < c.seq_kv; ++j) psum += probs[(size_t(bh) * c.seq_q + i) * c.seq_kv + j];
        if (i < empty_rows) {
          ASSERT_EQ(mag, 0.0) << c.name() << " row " << i;
          ASSERT_EQ(psum, 0.0) << c.name() << " row " << i;
        } else {
          ASSERT_GT(mag, 0.0) << c.name() << " row " << i;
          ASSERT_NEAR(psum, 1.0, 1e-4) << c.name() << " row " << i;
        }
      }
  }
}

// Bottom-right alignment checked without the reference: causal row i of a seq_q x seq_kv
// problem equals a non-causal single query over the first i + seq_kv - seq_q + 1 keys.
TEST(Sdpa, CausalIsBottomRightAligned) {
  for (Case c : {make(1, 1, 0, 40, 100, 64, true), make(1, 1, 0, 100, 40, 64, true),
                 make(1, 1, 0, 33, 33, 128, true), make(1, 1, 0, 20, 50, 48, true)}) {
    const Tensors t = make_tensors(c);
    std::vector<float> out(t.q.size());
    sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), 1, 1, c.seq_q, c.seq_kv, c.head_dim,
         options_for(c, t));
    const int offset = c.seq_kv - c.seq_q;
    for (int i = std::max(0, -offset); i < c.seq_q; i += 7) {
      const int visible = i + offset + 1;
      std::vector<float> row(c.head_dim);
      sdpa(&t.q[size_t(i) * c.head_dim], t.k.data(), t.v.data(), row.data(), 1, 1, 1, visible, c.head_dim);
      double err = 0, mag = 0;
      for (int d = 0; d < c.head_dim; ++d) {
        err = std::max(err, double(std::abs(row[d] - out[size_t(i) * c.head_dim + d])));
        mag = std::max(mag, double(std::abs(row[d])));
      }
      EXPECT_LE(err, kTolerance * mag) << c.name() << " row " << i << " sees " << visible << " keys";
    }
  }
}

TEST(Sdpa, LogitsOf1e4StayFinite) {
  Case c = make(1, 1, 0, 16, 32, 64);
  Tensors t = make_tensors(c);
  for (float& x : t.q) x = 12.5f;  // q·k·scale reaches ~1e4
  for (float& x : t.k) x = x > 0 ? 100.0f : -100.0f;
  std::vector<float> out(t.q.size());
  sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), 1, 1, 16, 32, 64);
  std::vector<double> expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
  EXPECT_LE(reference::relative_max_error(out.data(), expected), kTolerance);
}

TEST(Sdpa, FullyMaskedRowsAreZero) {
  Case c = make(2, 2, 0, 9, 12, 64, false, true);
  Tensors t = make_tensors(c);
  std::fill(t.mask.begin(), t.mask.begin() + c.seq_kv, 0);  // batch 0 sees nothing,
  std::fill(t.mask.begin() + c.seq_kv, t.mask.end(), 1);    // batch 1 sees every key
  std::vector<float> out(t.q.size(), 5.0f);
  sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv,
       c.head_dim, options_for(c, t));
  const size_t per_batch = size_t(c.heads) * c.seq_q * c.head_dim;
  for (size_t n = 0; n < per_batch; ++n) ASSERT_EQ(out[n], 0.0f);
  double nonzero = 0;
  for (size_t n = per_batch; n < out.size(); ++n) nonzero += std::abs(out[n]);
  EXPECT_GT(nonzero, 0.0);
}

}  // namespace
}  // namespace attune::testing
