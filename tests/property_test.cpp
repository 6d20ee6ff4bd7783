// Property test of the schedule spaces: random valid configs of every kernel compile (through
// the same generator and builder the tuner uses) and give correct output on awkward shapes.
// Fixed seeds; ATTUNE_PROPERTY_CONFIGS (CMake cache) sets how many configs per kernel.
#include <gtest/gtest.h>

#include <algorithm>
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

// Builds `config` for `w` (compiled for build_head_dim; 0 = the generic kernel) and runs it
// through the tuner's correctness gate (the double reference) on `w`.
void expect_correct(const schedules::Config& config, const Workload& w, int build_head_dim, const std::string& name) {
  const Toolchain tc{ATTUNE_GENERATOR_EXE, ATTUNE_RUNNER_EXE};
  const std::string dir = ::testing::TempDir() + "/attune_" + name;
  Workload build_for = w;
  build_for.head_dim = build_head_dim;
  const BuildResult b = build_candidate(tc, build_for, config, dir);
  ASSERT_TRUE(b.ok) << config.to_json() << "\n" << b.error;
  const RunResult r = run_candidate(tc, b, w, 120, 8ll << 30, 0.01, 1);
  EXPECT_EQ(r.status, "ok") << config.to_json() << " on " << w.key() << ": " << r.error;
  std::filesystem::remove_all(dir);
}

class PropertyTest : public ::testing::TestWithParam<Param> {};

TEST_P(PropertyTest, RandomConfigIsCorrect) {
  const auto [kernel, index] = GetParam();
  const Variant v = kVariants[size_t(index) % std::size(kVariants)];
  const auto seq = kSeqs[size_t(index) % std::size(kSeqs)];

  // The host's space, as the tuner builds it (the candidates are compiled for target=host).
  const schedules::Space space = schedules::cpu_space(kernel, Halide::get_host_target(), v.head_dim, v.causal, false);
  std::mt19937_64 rng(1000 + index);
  const schedules::Config config = space.sample(rng);

  Workload w = Workload::attention(1 + index % 2, v.heads, v.kv_heads, seq.first, seq.second,
                             v.head_dim > 0 ? v.head_dim : 17 + 8 * (index % 5),  // generic: odd head_dims
                             v.causal, v.mask);
  w.kernel = kernel;
  expect_correct(config, w, v.head_dim, "property_" + kernel + std::to_string(index));  // 0: the generic kernel
}

// Flash with online-softmax blocks of pv_kblock keys (several register tiles each): blocks
// longer than the sequence, a last block cut short (its PV loop trimmed to the real keys),
// causal blocks skipped above the diagonal with seq_q != seq_kv, masks, GQA, a generic head_dim;
// and groups of query tiles per task (q_group) walking the KV blocks together, with a last group
// and a last tile cut short.
TEST(FlashBlocks, LongBlocksAreCorrect) {
  struct Case {
    int heads, kv_heads, seq_q, seq_kv, head_dim, q_tile, pv_kblock, qk_order;
    bool causal, mask;
    int q_group = 1;
  };
  const Case cases[] = {{2, 2, 100, 1000, 64, 48, 512, 1, false, false},
                        {4, 2, 129, 77, 64, 24, 128, 0, true, true},
                        {2, 1, 300, 700, 80, 48, 256, 1, true, false},
                        {2, 2, 33, 290, 0, 24, 32, 1, false, true},
                        {2, 2, 300, 1000, 64, 48, 256, 1, false, false, 4},
                        {4, 2, 250, 260, 64, 24, 128, 0, true, true, 2},
                        {2, 1, 130, 500, 0, 24, 64, 1, true, false, 8}};
  int n = 0;
  for (const Case& c : cases) {
    const schedules::Space space =
        schedules::cpu_space("sdpa", Halide::get_host_target(), c.head_dim, c.causal, /*decode=*/false);
    schedules::Config config = space.default_config();
    config.knobs["algorithm"] = 1;
    config.knobs["q_tile"] = c.q_tile;
    config.knobs["pv_kblock"] = c.pv_kblock;
    config.knobs["kv_block"] = std::min<std::int64_t>(config.get("kv_block"), c.pv_kblock);  // blocks of whole tiles
    config.knobs["qk_order"] = c.qk_order;
    config.knobs["q_group"] = c.q_group;
    if (c.head_dim == 0) config.knobs["pv_width"] = config.get("vec");
    ASSERT_FALSE(space.validate(config)) << *space.validate(config);
    Workload w = Workload::attention(2, c.heads, c.kv_heads, c.seq_q, c.seq_kv, c.head_dim == 0 ? 40 : c.head_dim, c.causal,
                               c.mask);
    expect_correct(config, w, c.head_dim, "flash_blocks" + std::to_string(n++));
  }
}

// GQA packing (split-KV with kv_group_inner): a KV head's query heads are the rows of its
// chunks' register tiles, rounded up to the tile. Tiles that do not divide the group's rows,
// several query rows per head, causal, masks, K in place or transposed, a generic head_dim;
// PV in register tiles or key by key (pv_stream: all rows' accumulators over head_dim).
TEST(PackedSplitKv, RowTilesOfAnySizeAreCorrect) {
  struct Case {
    int heads, kv_heads, seq_q, seq_kv, head_dim, qk_rows, pv_rows;
    bool causal, mask, k_transpose, pv_stream;
  };
  const Case cases[] = {{8, 2, 1, 300, 128, 3, 3, false, false, false, true},
                        {6, 2, 3, 77, 64, 4, 2, true, true, false, false},
                        {4, 1, 5, 129, 0, 2, 3, false, true, true, true},
                        {2, 2, 1, 1000, 80, 1, 6, true, false, false, false},
                        {6, 2, 2, 1000, 80, 4, 1, false, true, false, true}};
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
    const std::int64_t vec = config.get("vec");  // two vectors wide where they divide head_dim
    config.knobs["pv_width"] = (c.head_dim > 0 && c.head_dim % (2 * vec) == 0 ? 2 : 1) * vec;
    config.knobs["pv_stream"] = c.pv_stream;
    ASSERT_FALSE(space.validate(config)) << *space.validate(config);
    Workload w = Workload::attention(2, c.heads, c.kv_heads, c.seq_q, c.seq_kv, c.head_dim == 0 ? 24 : c.head_dim,
                               c.causal, c.mask);  // the generic kernel on an odd head_dim
    expect_correct(config, w, c.head_dim, "packed_split_kv" + std::to_string(n++));
  }
}

// Split-KV chunks around the keys: one chunk shorter than kv_block, whole chunks, and keys
// kv_block does not divide (the last chunk padded, its padded keys masked): a key past a
// multiple, a remainder of several vectors, causal and masked rows, K in place or transposed.
TEST(SplitKv, ChunksAroundTheKeysAreCorrect) {
  struct Case {
    int kv_block_vectors, seq_kv, head_dim;
    bool causal, mask, k_transpose, pv_stream;
  };
  const Case cases[] = {{64, 1000, 64, false, false, false, true}, {16, 512, 64, false, false, true, false},
                        {64, 1025, 64, false, false, false, true}, {16, 300, 128, true, false, false, false},
                        {16, 700, 0, false, true, true, true}};
  int n = 0;
  for (const Case& c : cases) {
    const schedules::Space space =
        schedules::cpu_space("sdpa", Halide::get_host_target(), c.head_dim, c.causal, /*decode=*/true);
    schedules::Config config = space.default_config();
    config.knobs["algorithm"] = 2;
    config.knobs["kv_block"] = c.kv_block_vectors * config.get("vec");
    config.knobs["k_transpose"] = c.k_transpose;
    config.knobs["pv_stream"] = c.pv_stream;
    ASSERT_FALSE(space.validate(config)) << *space.validate(config);
    Workload w = Workload::attention(2, 2, 2, 1, c.seq_kv, c.head_dim == 0 ? 24 : c.head_dim, c.causal, c.mask);
    expect_correct(config, w, c.head_dim, "split_kv_chunks" + std::to_string(n++));
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
