// Bad arguments throw attune::Error naming the argument, before any output is written.
#include <climits>

#include "test_util.h"

namespace attune::testing {
namespace {

struct Args {
  std::vector<float> q = std::vector<float>(2 * 2 * 8 * 64, 0.5f), k = q, v = q;
  std::vector<float> out = std::vector<float>(q.size(), 42.0f);
  int batch = 2, heads = 2, seq_q = 8, seq_kv = 8, head_dim = 64;
  SdpaOptions options;
};

// Expects sdpa(args) to throw attune::Error mentioning `needle`, with out untouched.
void expect_error(Args a, const std::string& needle, const float* q, const float* k,
                  const float* v, float* out) {
  try {
    sdpa(q, k, v, out, a.batch, a.heads, a.seq_q, a.seq_kv, a.head_dim, a.options);
    FAIL() << "no attune::Error for " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

void expect_error(Args a, const std::string& needle) {
  expect_error(a, needle, a.q.data(), a.k.data(), a.v.data(), a.out.data());
  for (float x : a.out) ASSERT_EQ(x, 42.0f) << "out written on error";
}

TEST(Errors, NullPointers) {
  Args a;
  expect_error(a, "q is null", nullptr, a.k.data(), a.v.data(), a.out.data());
  expect_error(a, "k is null", a.q.data(), nullptr, a.v.data(), a.out.data());
  expect_error(a, "v is null", a.q.data(), a.k.data(), nullptr, a.out.data());
  expect_error(a, "out is null", a.q.data(), a.k.data(), a.v.data(), nullptr);
  for (float x : a.out) ASSERT_EQ(x, 42.0f) << "out written on error";
  EXPECT_THROW(attention_probs(a.q.data(), a.k.data(), nullptr, 2, 2, 8, 8, 64), Error);
}

// Expects attention_probs(args) to throw attune::Error mentioning `needle`, probs untouched.
void expect_probs_error(const Args& a, const std::string& needle, bool null_q = false, bool null_k = false,
                        bool null_probs = false) {
  std::vector<float> probs(size_t(2) * 2 * 8 * 8, 42.0f);
  try {
    attention_probs(null_q ? nullptr : a.q.data(), null_k ? nullptr : a.k.data(),
                    null_probs ? nullptr : probs.data(), a.batch, a.heads, a.seq_q, a.seq_kv, a.head_dim,
                    a.options);
    FAIL() << "no attune::Error for " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  for (float x : probs) ASSERT_EQ(x, 42.0f) << "probs written on error";
}

TEST(Errors, AttentionProbsNamesTheArgument) {
  Args a;
  expect_probs_error(a, "q is null", true);
  expect_probs_error(a, "k is null", false, true);
  expect_probs_error(a, "probs is null", false, false, true);
  for (int bad : {0, -5}) {
    a = Args(); a.batch = bad; expect_probs_error(a, "batch");
    a = Args(); a.heads = bad; expect_probs_error(a, "num_heads");
    a = Args(); a.seq_q = bad; expect_probs_error(a, "seq_q");
    a = Args(); a.seq_kv = bad; expect_probs_error(a, "seq_kv");
    a = Args(); a.head_dim = bad; expect_probs_error(a, "head_dim");
  }
  a = Args(); a.options.num_kv_heads = 3; expect_probs_error(a, "num_kv_heads");
  a = Args(); a.options.scale = -2.0f; expect_probs_error(a, "scale");
  a = Args(); a.seq_q = a.seq_kv = INT_MAX; a.batch = a.heads = INT_MAX / 2;
  expect_probs_error(a, "overflows");
  // q and k fit in int64 bytes (2^62), the [B, H, Sq, Skv] probs do not.
  a = Args(); a.batch = a.heads = 1 << 15; a.seq_q = a.seq_kv = 1 << 30; a.head_dim = 1;
  expect_probs_error(a, "probs has too many elements");
}

TEST(Errors, ErrorIsARuntimeErrorWithTheApiName) {
  Args a;
  a.heads = 0;
  try {
    sdpa(a.q.data(), a.k.data(), a.v.data(), a.out.data(), a.batch, a.heads, a.seq_q, a.seq_kv, a.head_dim);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {  // attune::Error is a std::runtime_error
    EXPECT_NE(std::string(e.what()).find("sdpa"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("num_heads"), std::string::npos) << e.what();
  }
}

TEST(Errors, NonPositiveSizes) {
  for (int bad : {0, -1, INT_MIN}) {
    Args a;
    a.batch = bad; expect_error(a, "batch");
    a = Args(); a.heads = bad; expect_error(a, "num_heads");
    a = Args(); a.seq_q = bad; expect_error(a, "seq_q");
    a = Args(); a.seq_kv = bad; expect_error(a, "seq_kv");
    a = Args(); a.head_dim = bad; expect_error(a, "head_dim");
  }
}

TEST(Errors, HeadDimAbove256) {
  Args a;
  a.head_dim = 257;
  expect_error(a, "head_dim");
}

TEST(Errors, KvHeads) {
  Args a;
  a.options.num_kv_heads = 3;  // does not divide 2
  expect_error(a, "num_kv_heads");
  a.options.num_kv_heads = -1;
  expect_error(a, "num_kv_heads");
  a.options.num_kv_heads = 4;  // more KV heads than heads
  expect_error(a, "num_kv_heads");
  a.options.num_kv_heads = INT_MIN;
  expect_error(a, "num_kv_heads");
}

TEST(Errors, Scale) {
  Args a;
  a.options.scale = -1.0f;
  expect_error(a, "scale");
  a.options.scale = std::numeric_limits<float>::quiet_NaN();
  expect_error(a, "scale");
  a.options.scale = std::numeric_limits<float>::infinity();
  expect_error(a, "scale");
  a.options.scale = -std::numeric_limits<float>::infinity();
  expect_error(a, "scale");
  a.options.scale = -0.0f;  // -0 == 0: the default scale, not an error
  EXPECT_NO_THROW(sdpa(a.q.data(), a.k.data(), a.v.data(), a.out.data(), a.batch, a.heads, a.seq_q,
                       a.seq_kv, a.head_dim, a.options));
}

TEST(Errors, ElementCountOverflow) {
  Args a;  // validation happens before any access: small buffers are never read
  a.batch = a.heads = a.seq_q = a.seq_kv = INT_MAX / 2;
  a.head_dim = 256;
  expect_error(a, "overflows");
}

TEST(Errors, OneHeadTooLarge) {
  Args a;
  a.batch = a.heads = 1;
  a.seq_q = a.seq_kv = 1 << 30;
  a.head_dim = 64;
  expect_error(a, "too large");
}

TEST(Threads, SettingIsValidatedAndHonoured) {
  EXPECT_THROW(set_num_threads(-1), Error);
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  Case c;
  c.heads = 2; c.seq_q = 40; c.seq_kv = 50;
  const Tensors t = make_tensors(c);
  std::vector<float> out(t.q.size());
  sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), 1, 2, 40, 50, 64);
  std::vector<double> expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
  EXPECT_LE(reference::relative_max_error(out.data(), expected), kTolerance);
  set_num_threads(0);
  EXPECT_GE(num_threads(), 1);
}

// This test binary has no OpenMP runtime: attune's pool, and kOpenMP is refused.
TEST(Threads, ThreadPoolIsValidated) {
  EXPECT_EQ(thread_pool(), ThreadPool::kAttune);
  for (ThreadPool bad : {ThreadPool::kOpenMP, ThreadPool(7)}) {
    try {
      set_thread_pool(bad);
      ADD_FAILURE() << "set_thread_pool accepted " << int(bad);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("set_thread_pool: pool"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(thread_pool(), ThreadPool::kAttune);
}

}  // namespace
}  // namespace attune::testing
