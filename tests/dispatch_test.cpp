// describe_dispatch: which compiled kernel a call runs (bucket, head_dim specialisation,
// options), and that its config identity is the tuning database's hash.
#include <gtest/gtest.h>

#include "attune/attention.h"
#include "schedules/config.h"

namespace {

TEST(Dispatch, PicksBucketHeadDimAndOptions) {
  const std::string isa = "_" + attune::max_isa();  // kernels are named per ISA level
  const auto prefill = attune::describe_dispatch("sdpa", 1, 8, 1024, 1024, 64);
  EXPECT_EQ(prefill.kernel, "attune_sdpa_d64_dense" + isa);
  EXPECT_FALSE(prefill.decode);
  const auto decode = attune::describe_dispatch("sdpa", 1, 8, 16, 4096, 64);
  EXPECT_TRUE(decode.decode);
  EXPECT_EQ(decode.kernel, "attune_sdpa_decode_d64_dense" + isa);
  EXPECT_FALSE(attune::describe_dispatch("sdpa", 1, 8, 17, 4096, 64).decode);
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 8, 100, 100, 17).kernel, "attune_sdpa_d0_dense" + isa);
  attune::SdpaOptions causal;
  causal.causal = true;
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 8, 100, 100, 128, causal).kernel, "attune_sdpa_d128_causal" + isa);
  const std::uint8_t m = 1;
  attune::SdpaOptions masked;
  masked.key_padding_mask = &m;
  EXPECT_EQ(attune::describe_dispatch("attention_probs", 1, 8, 100, 100, 80, masked).kernel,
            "attune_attention_probs_d80_mask" + isa);
  EXPECT_THROW(attune::describe_dispatch("matmul", 1, 1, 1, 1, 64), attune::Error);
  EXPECT_THROW(attune::describe_dispatch("sdpa", 1, 1, 1, 1, 300), attune::Error);
}

TEST(Dispatch, ConfigHashIsTheDatabaseIdentity) {
  for (int d : {32, 64, 80, 96, 128, 256}) {
    const auto info = attune::describe_dispatch("sdpa", 1, 8, 512, 512, d);
    if (info.config.empty()) {
      EXPECT_TRUE(info.config_hash.empty());
      continue;
    }
    EXPECT_EQ(info.config_hash, attune::schedules::Config::from_json(info.config).hash_hex()) << info.kernel;
  }
}

}  // namespace
