// Property test of the schedule spaces: random valid configs of every kernel compile (through
// the same generator and builder the tuner uses) and give correct output on awkward shapes.
// Fixed seeds; ATTUNE_PROPERTY_CONFIGS (CMake cache) sets how many configs per kernel.
#include <gtest/gtest.h>

#include <filesystem>

#include "autotune/candidate.h"
#include "schedules/apply.h"

namespace attune::autotune {
namespace {

struct Variant {
  int head_dim;
  bool causal, mask;
  int heads, kv_heads;
};

// Awkward shapes and variants, cycled over the configs.
const Variant kVariants[] = {{64, false, false, 2, 2}, {80, true, false, 2, 2}, {64, false, true, 2, 2},
                             {0, false, false, 4, 2},  {64, true, true, 4, 1}, {128, false, false, 2, 2}};
const std::pair<int, int> kSeqs[] = {{1, 1}, {17, 17}, {129, 129}, {1000, 1000}, {17, 129},
                                     {129, 17}, {1, 1000}, {100, 33}};

struct Param {
  std::string kernel;
  int index;
};

void PrintTo(const Param& p, std::ostream* os) { *os << p.kernel << " config #" << p.index; }

class PropertyTest : public ::testing::TestWithParam<Param> {};

TEST_P(PropertyTest, RandomConfigIsCorrect) {
  const auto [kernel, index] = GetParam();
  const Variant v = kVariants[size_t(index) % std::size(kVariants)];
  const auto seq = kSeqs[size_t(index) % std::size(kSeqs)];

  // The host's space, as the tuner builds it (the candidates are compiled for target=host).
  const schedules::Space space = schedules::cpu_space(kernel, Halide::get_host_target(), v.head_dim, v.causal, false);
  std::mt19937_64 rng(1000 + index);
  const schedules::Config config = space.sample(rng);

  Workload w;
  w.kernel = kernel;
  w.batch = 1 + index % 2;
  w.num_heads = v.heads;
  w.num_kv_heads = v.kv_heads;
  w.seq_q = seq.first;
  w.seq_kv = seq.second;
  w.head_dim = v.head_dim > 0 ? v.head_dim : 17 + 8 * (index % 5);  // generic: odd head_dims
  w.causal = v.causal;
  w.mask = v.mask;

  Toolchain tc{ATTUNE_GENERATOR_EXE, ATTUNE_RUNNER_EXE};
  const std::string dir = ::testing::TempDir() + "/attune_property_" + kernel + std::to_string(index);
  Workload build_for = w;
  build_for.head_dim = v.head_dim;  // 0 compiles the generic kernel
  const BuildResult b = build_candidate(tc, build_for, config, dir);
  ASSERT_TRUE(b.ok) << config.to_json() << "\n" << b.error;
  const RunResult r = run_candidate(tc, b, w, 120, 8ll << 30, 0.01, 1);
  EXPECT_EQ(r.status, "ok") << config.to_json() << " on " << w.key() << ": " << r.error;
  std::filesystem::remove_all(dir);
}

// GQA packing (split-KV with kv_group_inner): a KV head's query heads are the rows of its
// chunks' register tiles, rounded up to the tile. Tiles that do not divide the group's rows,
// several query rows per head, causal, masks, K in place or transposed, a generic head_dim.
TEST(PackedSplitKv, RowTilesOfAnySizeAreCorrect) {
  struct Case {
    int heads, kv_heads, seq_q, seq_kv, head_dim, qk_rows, pv_rows;
    bool causal, mask, k_transpose;
  };
  const Case cases[] = {{8, 2, 1, 300, 128, 3, 3, false, false, false},
                        {6, 2, 3, 77, 64, 4, 2, true, true, false},
                        {4, 1, 5, 129, 0, 2, 3, false, true, true},
                        {2, 2, 1, 1000, 80, 1, 6, true, false, false}};
  const Toolchain tc{ATTUNE_GENERATOR_EXE, ATTUNE_RUNNER_EXE};
  int n = 0;
  for (const Case& c : cases) {
    const schedules::Space space =
        schedules::cpu_space("sdpa", Halide::get_host_target(), c.head_dim, c.causal, /*decode=*/true);
    schedules::Config config = space.default_config();
    config.knobs["kv_group_inner"] = 1;
    config.knobs["kv_block"] = 4 * config.get("vec");
    config.knobs["qk_rows"] = c.qk_rows;
    config.knobs["pv_rows"] = c.pv_rows;
    config.knobs["k_transpose"] = c.k_transpose;
    config.knobs["pv_width"] = (c.head_dim > 0 ? 2 : 1) * config.get("vec");
    ASSERT_FALSE(space.validate(config)) << *space.validate(config);

    Workload w;
    w.kernel = "sdpa";
    w.batch = 2;
    w.num_heads = c.heads;
    w.num_kv_heads = c.kv_heads;
    w.seq_q = c.seq_q;
    w.seq_kv = c.seq_kv;
    w.head_dim = c.head_dim;
    w.causal = c.causal;
    w.mask = c.mask;
    const std::string dir = ::testing::TempDir() + "/attune_packed_split_kv" + std::to_string(n++);
    const BuildResult b = build_candidate(tc, w, config, dir);
    ASSERT_TRUE(b.ok) << config.to_json() << "\n" << b.error;
    if (c.head_dim == 0) w.head_dim = 24;  // the generic kernel on an odd head_dim
    const RunResult r = run_candidate(tc, b, w, 120, 8ll << 30, 0.01, 1);
    EXPECT_EQ(r.status, "ok") << config.to_json() << " on " << w.key() << ": " << r.error;
    std::filesystem::remove_all(dir);
  }
}

std::vector<Param> params() {
  std::vector<Param> p;
  for (const char* kernel : {"sdpa", "attention_probs"})
    for (int n = 0; n < ATTUNE_PROPERTY_CONFIGS; ++n) p.push_back({kernel, n});
  return p;
}

INSTANTIATE_TEST_SUITE_P(Configs, PropertyTest, ::testing::ValuesIn(params()),
                         [](const auto& info) { return info.param.kernel + "_" + std::to_string(info.param.index); });

}  // namespace
}  // namespace attune::autotune
