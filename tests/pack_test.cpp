// Kernel packs: a pack built by `attune export --pack` (test fixture) is loaded into this
// already-built binary and its kernel runs the workloads it matches, correctly; packs that are
// not attune packs, have another ABI version, a corrupt manifest or a target this CPU cannot
// run are refused with attune::Error and change nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "test_util.h"

namespace {

using attune::testing::Case;

std::string error_of(const std::string& path) {
  try {
    attune::load_kernel_pack(path);
  } catch (const attune::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Pack, RefusesWhatIsNotAUsablePack) {
  const auto before = attune::describe_dispatch("sdpa", 1, 2, 64, 300, 64);
  const std::string dir = ATTUNE_BAD_PACK_DIR;
  const std::string garbage = ::testing::TempDir() + "/garbage_pack.so";
  std::ofstream(garbage) << "\x7f" "ELF this is not a shared library";
  const std::pair<std::string, std::string> cases[] = {
      {garbage, "cannot load"},
      {::testing::TempDir() + "/does_not_exist.so", "cannot load"},
      {dir + "/libpack_not_a_pack.so", "not an attune kernel pack"},
      {dir + "/libpack_wrong_abi.so", "ABI version 999"},
      {dir + "/libpack_corrupt_manifest.so", "corrupt manifest"},
      {dir + "/libpack_foreign_target.so", "not x86-64-linux"},
      {dir + "/libpack_gpu_target.so", "GPU"},
      {dir + "/libpack_missing_cpu_feature.so", "avx512_knl"},
      {dir + "/libpack_missing_kernel.so", "not in the library"},
      {dir + "/libpack_bad_bucket.so", "unknown sequence bucket"},
  };
  for (const auto& [path, expected] : cases) {
    const std::string e = error_of(path);
    EXPECT_NE(e.find("attune::load_kernel_pack"), std::string::npos) << path << ": " << e;
    EXPECT_NE(e.find(expected), std::string::npos) << path << ": " << e;
  }
  EXPECT_NE(error_of("").find("path"), std::string::npos);
  const auto after = attune::describe_dispatch("sdpa", 1, 2, 64, 300, 64);
  EXPECT_EQ(after.kernel, before.kernel);
  EXPECT_EQ(after.source, "built-in");
}

// Dispatch remembers its selections per thread: a pack loaded after a call must still win.
TEST(Pack, LoadingAPackChangesTheNextDispatch) {
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 2, 64, 300, 64).source, "built-in");
  const attune::PackInfo info = attune::load_kernel_pack(ATTUNE_TEST_PACK);
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 2, 64, 300, 64).source, info.path);
}

TEST(Pack, LoadedPackRunsTheWorkloadsItMatches) {
  // Tuned for sdpa 1x2x64x300x64 (head_dim 64, short bucket) and the projection GEMM.
  const std::string pack = ATTUNE_TEST_PACK;
  const attune::PackInfo info = attune::load_kernel_pack(pack);
  EXPECT_EQ(info.abi_version, attune::kPackAbiVersion);
  EXPECT_EQ(info.kernels, 2);
  EXPECT_NE(info.target.find("x86-64-linux"), std::string::npos);
  EXPECT_EQ(attune::load_kernel_pack(pack).path, info.path);  // loading twice is a no-op

  // Another batch, head count and lengths of the same bucket: the pack's kernel, correct.
  Case c;
  c.batch = 2; c.heads = 3; c.seq_q = 77; c.seq_kv = 411; c.head_dim = 64; c.seed = 7;
  const auto d = attune::describe_dispatch("sdpa", c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim);
  EXPECT_EQ(d.source, info.path);
  EXPECT_EQ(d.kernel, "attune_pack_sdpa_d64_short");
  EXPECT_EQ(d.target, info.target);
  EXPECT_FALSE(d.config_hash.empty());
  EXPECT_EQ(d.tuned_for, "sdpa:b1:h2:kv2:q64:k300:d64:causal0:mask0");  // the tuned workload, from the manifest
  EXPECT_LT(attune::testing::sdpa_error(c), attune::testing::kTolerance);
  c.mask = true;  // not a variant the pack has
  EXPECT_LT(attune::testing::sdpa_error(c), attune::testing::kTolerance);

  // Other buckets, head_dims and options are not in the pack: built-in kernels.
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 2, 64, 3000, 64).source, "built-in");
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 2, 64, 300, 128).source, "built-in");
  attune::SdpaOptions causal;
  causal.causal = true;
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 2, 64, 300, 64, causal).source, "built-in");
  EXPECT_EQ(attune::describe_dispatch("attention_probs", 1, 2, 64, 300, 64).source, "built-in");
  // A lower ISA cap than the pack's target (the host's: AVX2 or AVX-512): not eligible.
  attune::set_max_isa("sse41");
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 2, 64, 300, 64).source, "built-in");
  attune::set_max_isa("");
  // The pack's projection GEMM serves multi_head_attention's projections of any size and
  // bucket, and gives the built-in kernels' results (the built-in ones are checked against
  // PyTorch in mha_test).
  for (int seq : {1, 50, 700}) {
    const auto p = attune::describe_dispatch("linear", 2, 4, seq, seq, 24);
    EXPECT_EQ(p.source, info.path);
    EXPECT_EQ(p.kernel, "attune_pack_linear_short");
  }
  {
    const int batch = 2, seq = 37, model = 96, heads = 4;
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    auto random = [&](size_t n) {
      std::vector<float> v(n);
      for (float& x : v) x = normal(rng) * 0.2f;
      return v;
    };
    const auto x = random(size_t(batch) * seq * model);
    std::vector<std::vector<float>> w(4), bias(4);
    for (int n = 0; n < 4; ++n) w[n] = random(size_t(model) * model), bias[n] = random(size_t(model));
    const attune::MhaWeights weights{w[0].data(), w[1].data(), w[2].data(), w[3].data(),
                                     bias[0].data(), bias[1].data(), bias[2].data(), bias[3].data()};
    std::vector<float> with_pack(x.size()), built_in(x.size());
    attune::multi_head_attention(x.data(), x.data(), with_pack.data(), batch, seq, seq, model, heads, weights);
    attune::set_max_isa("sse41");  // below the pack's target: built-in kernels only
    EXPECT_EQ(attune::describe_dispatch("linear", batch, heads, seq, seq, model / heads).source, "built-in");
    attune::multi_head_attention(x.data(), x.data(), built_in.data(), batch, seq, seq, model, heads, weights);
    attune::set_max_isa("");
    double err = 0, mag = 0;
    for (size_t n = 0; n < x.size(); ++n) {
      err = std::max(err, double(std::abs(with_pack[n] - built_in[n])));
      mag = std::max(mag, double(std::abs(built_in[n])));
    }
    EXPECT_LT(err, 1e-4 * mag);
  }
  // Thread-count changes reach the pack's own Halide runtime; results stay correct.
  attune::set_num_threads(1);
  EXPECT_LT(attune::testing::sdpa_error(c), attune::testing::kTolerance);
  attune::set_num_threads(0);
}

}  // namespace
