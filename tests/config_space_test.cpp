// schedules::Config (JSON identity) and schedules::Space (domains, constraints, operators).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "attune/attention.h"
#include "schedules/config.h"
#include "schedules/space.h"

namespace attune::schedules {
namespace {

TEST(Config, JsonRoundTripAndCanonicalHash) {
  Config a;
  a.kernel = "sdpa";
  a.knobs["q_tile"] = 32;
  a.knobs["algorithm"] = 1;
  Config b;
  b.kernel = "sdpa";
  b.knobs["algorithm"] = 1;  // other insertion order: same canonical JSON
  b.knobs["q_tile"] = 32;
  EXPECT_EQ(a.to_json(), b.to_json());
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(Config::from_json(a.to_json()), a);
  EXPECT_EQ(a.hash_hex().size(), 16u);
  EXPECT_EQ(a.hash_hex().find_first_not_of("0123456789abcdef"), std::string::npos);
  b.knobs["q_tile"] = 64;
  EXPECT_NE(a.hash(), b.hash());
}

TEST(Config, BadJsonThrows) {
  EXPECT_THROW(Config::from_json("{"), Error);
  EXPECT_THROW(Config::from_json(R"({"knobs":{}})"), Error);
  EXPECT_THROW(Config::from_json(R"({"kernel":"sdpa","knobs":{"q_tile":1.5}})"), Error);
  EXPECT_THROW(Config::from_json(R"({"kernel":"sdpa","knobs":[1]})"), Error);
  Config c;
  c.kernel = "sdpa";
  EXPECT_THROW(c.get("q_tile"), Error);
}

// FNV-1a 64 of a string, written out independently of config.cpp.
std::uint64_t fnv1a64(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}

TEST(Config, CanonicalJsonIsSortedCompactAndStable) {
  Config c;
  c.kernel = "attention_probs";
  c.knobs["z_last"] = -3;
  c.knobs["a_first"] = 7;
  c.knobs["m_mid"] = std::numeric_limits<std::int64_t>::min();
  const std::string json = c.to_json();
  EXPECT_EQ(json, R"({"kernel":"attention_probs","knobs":{"a_first":7,"m_mid":-9223372036854775808,"z_last":-3}})");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(c.hash()));
  EXPECT_EQ(c.hash_hex(), hex);
  // Parsing any spelling of the same config (spaces, other key order) gives the same identity.
  const Config parsed = Config::from_json(
      "{ \"knobs\" : { \"z_last\" : -3, \"m_mid\": -9223372036854775808,\n \"a_first\":7 },\n \"kernel\": \"attention_probs\" }");
  EXPECT_EQ(parsed, c);
  EXPECT_EQ(parsed.to_json(), json);
  EXPECT_EQ(parsed.hash(), c.hash());
  EXPECT_EQ(Config::from_json(json).to_json(), json);
}

TEST(Config, EmptyKnobsRoundTrip) {
  Config c;
  c.kernel = "sdpa";
  EXPECT_EQ(c.to_json(), R"({"kernel":"sdpa","knobs":{}})");
  EXPECT_EQ(Config::from_json(c.to_json()), c);
  EXPECT_EQ(Config::from_json(R"({"kernel":"sdpa"})"), c);  // knobs may be left out
}

TEST(Config, HashChangesWithEveryField) {
  Config a;
  a.kernel = "sdpa";
  a.knobs = {{"q_tile", 32}, {"vec", 16}};
  std::set<std::uint64_t> hashes{a.hash()};
  std::set<std::string> hexes{a.hash_hex()};
  Config b = a;
  b.kernel = "attention_probs";
  hashes.insert(b.hash()); hexes.insert(b.hash_hex());
  b = a;
  b.knobs["vec"] = 8;
  hashes.insert(b.hash()); hexes.insert(b.hash_hex());
  b = a;
  b.knobs["extra"] = 0;  // a new knob, even with value 0
  hashes.insert(b.hash()); hexes.insert(b.hash_hex());
  b = a;
  b.knobs.erase("vec");
  hashes.insert(b.hash()); hexes.insert(b.hash_hex());
  EXPECT_EQ(hashes.size(), 5u);
  EXPECT_EQ(hexes.size(), 5u);
  // Stable: the same value every time, and for a copy.
  const Config copy = a;
  EXPECT_EQ(copy.hash(), a.hash());
  EXPECT_EQ(Config::from_json(a.to_json()).hash_hex(), a.hash_hex());
}

TEST(Config, BadInputsThrowAttuneError) {
  for (const char* bad : {"", "not json", "[]", "null", "42", R"({"kernel":7,"knobs":{}})",
                          R"({"kernel":"sdpa","knobs":{"q_tile":"32"}})",
                          R"({"kernel":"sdpa","knobs":{"q_tile":true}})",
                          R"({"kernel":"sdpa","knobs":{"q_tile":null}})",
                          R"({"kernel":"sdpa","knobs":{"q_tile":{"v":1}}})",
                          R"({"kernel":"sdpa","knobs":{"q_tile":32})", R"({"kernel":"sdpa","knobs":7})"})
    EXPECT_THROW(Config::from_json(bad), Error) << bad;
  try {
    Config::from_json(R"({"kernel":"sdpa","knobs":{"q_tile":2.5}})");
    FAIL() << "no error for a fractional knob";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q_tile"), std::string::npos) << e.what();
  }
  Config c;
  c.kernel = "sdpa";
  try {
    c.get("kv_block");
    FAIL() << "no error for a missing knob";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kv_block"), std::string::npos) << e.what();
  }
  EXPECT_EQ(c.get_or("kv_block", 64), 64);
}

// The shipped tuned files record each config's identity as the tuner computed it: parsing the
// config back gives the same canonical hash (ids are stable across processes and builds).
TEST(Config, ShippedTunedFilesCarryTheirConfigsHash) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ATTUNE_TUNED_DIR)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const nlohmann::json file = nlohmann::json::parse(in);
    for (const auto& k : file.at("kernels")) {
      const Config c = Config::from_json(k.at("config").dump());
      EXPECT_EQ(c.hash_hex(), k.at("config_hash").get<std::string>()) << entry.path() << ": " << c.to_json();
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << "no tuned configs under " << ATTUNE_TUNED_DIR;
}

// hash() is the standard FNV-1a 64 of to_json() (published test vectors).
TEST(Config, HashIsStandardFnv1a64) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);  // the published test vectors
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  Config c;
  c.kernel = "sdpa";
  c.knobs["q_tile"] = 32;
  EXPECT_EQ(c.hash(), fnv1a64(c.to_json()));
}

// Values outside int64 are rejected, not wrapped.
TEST(Config, KnobOutsideInt64IsRejected) {
  EXPECT_THROW(Config::from_json(R"({"kernel":"sdpa","knobs":{"q_tile":9223372036854775808}})"), Error);
  EXPECT_THROW(Config::from_json(R"({"kernel":"sdpa","knobs":{"q_tile":18446744073709551615}})"), Error);
}

SpaceParams params(int head_dim, bool causal) {
  SpaceParams p;
  p.head_dim = head_dim;
  p.causal = causal;
  return p;
}

// The GPU space (CUDA, OpenCL): defaults valid for every head_dim, thread blocks and shared
// memory within the device limits, search moves stay valid.
TEST(Space, GpuDefaultAndMovesAreValid) {
  for (int d : {32, 40, 64, 80, 96, 128, 256})
    for (bool causal : {false, true}) {
      SpaceParams p = params(d, causal);
      p.gpu = true;
      Space s(p);
      const Config def = s.default_config();
      EXPECT_FALSE(s.validate(def)) << d << ": " << *s.validate(def);
      EXPECT_FALSE(s.validate(s.complete(def)));
      std::mt19937_64 rng(d + causal);
      std::set<std::string> seen;
      for (int n = 0; n < 200; ++n) {
        const Config c = s.sample(rng);
        ASSERT_FALSE(s.validate(c)) << *s.validate(c);
        const std::int64_t threads = (c.get("kv_block") / c.get("qk_keys")) * (c.get("q_tile") / c.get("qk_rows"));
        EXPECT_TRUE(threads >= 32 && threads <= Space::kMaxGpuThreads && threads % 32 == 0) << c.to_json();
        EXPECT_EQ(d % c.get("pv_block_width"), 0) << c.to_json();
        seen.insert(c.to_json());
        const Config m = s.mutate(c, rng);
        ASSERT_FALSE(s.validate(m));
        ASSERT_FALSE(s.validate(s.crossover(c, m, rng)));
      }
      EXPECT_GT(seen.size(), 150u);
    }
  SpaceParams p = params(64, false);
  p.gpu = true;
  Space s(p);
  Config big = s.default_config();
  big.knobs["kv_block"] = 128;
  big.knobs["vec"] = 1;
  big.knobs["qk_keys"] = 1;
  big.knobs["qk_rows"] = 1;  // 128 x 64 threads
  ASSERT_TRUE(s.validate(big));
  EXPECT_NE(s.validate(big)->find("threads"), std::string::npos) << *s.validate(big);
  Config staged = s.default_config();
  staged.knobs["q_tile"] = 128;
  staged.knobs["kv_block"] = 128;
  staged.knobs["qk_keys"] = 8;
  staged.knobs["qk_rows"] = 8;  // Q and K tiles of 128 x 64 floats: 64 KiB of shared memory
  ASSERT_TRUE(s.validate(staged));
  EXPECT_NE(s.validate(staged)->find("shared memory"), std::string::npos) << *s.validate(staged);
  for (const auto& [kernel, d] : {std::pair<const char*, int>{"linear", 64}, {"sdpa", 0}, {"sdpa", 17}}) {
    SpaceParams q = params(d, false);
    q.kernel = kernel;
    q.gpu = true;
    EXPECT_THROW(Space{q}, Error) << kernel << " head_dim " << d;  // no GPU schedule for these
  }
}

TEST(Space, DefaultIsValidAndSamplesAreValidAndVaried) {
  for (int d : {32, 64, 80, 96, 128, 256, 0})
    for (bool causal : {false, true}) {
      Space s(params(d, causal));
      EXPECT_FALSE(s.validate(s.default_config())) << d;
      std::mt19937_64 rng(d + causal);
      std::set<std::string> seen;
      for (int n = 0; n < 200; ++n) {
        const Config c = s.sample(rng);
        ASSERT_FALSE(s.validate(c)) << *s.validate(c);
        seen.insert(c.to_json());
        const Config m = s.mutate(c, rng);
        ASSERT_FALSE(s.validate(m));
        EXPECT_NE(m, c);
        ASSERT_FALSE(s.validate(s.crossover(c, m, rng)));
      }
      EXPECT_GT(seen.size(), 150u);
    }
}

TEST(Space, ValidationGivesReasons) {
  Space s(params(64, true));
  Config c = s.default_config();
  c.knobs["pv_width"] = 48;
  EXPECT_NE(s.validate(c)->find("pv_width"), std::string::npos);
  c = s.default_config();
  c.knobs["k_transpose"] = 0;  // K read in place: split-KV only
  EXPECT_NE(s.validate(c)->find("k_transpose"), std::string::npos);
  c = s.default_config();
  c.knobs["q_tile"] = 7;
  EXPECT_NE(s.validate(c)->find("q_tile"), std::string::npos);
  c = s.default_config();
  c.knobs["bogus"] = 1;
  EXPECT_NE(s.validate(c)->find("bogus"), std::string::npos);
  c = s.default_config();
  c.knobs["qk_rows"] = 8;
  c.knobs["kv_block"] = 256;
  EXPECT_NE(s.validate(c)->find("register"), std::string::npos);
  EXPECT_GT(s.size(), 1000.0);

  // The projection GEMM: a task of a single register tile (row_tile == rows) does not compile.
  SpaceParams lp = params(0, false);
  lp.kernel = "linear";
  Space linear(lp);
  c = linear.default_config();
  c.knobs["rows"] = 8;
  c.knobs["row_tile"] = 8;
  c.knobs["width"] = c.get("vec");
  ASSERT_TRUE(linear.validate(c));
  EXPECT_NE(linear.validate(c)->find("row_tile"), std::string::npos);
  c.knobs["row_tile"] = 16;
  EXPECT_FALSE(linear.validate(c)) << *linear.validate(c);
}

// A config tuned before a knob existed compiles to what was measured: complete() fills in the
// knob's old behaviour (PV not key-blocked), not the new default.
TEST(Space, CompletingAnOlderConfigKeepsItsMeasuredBehaviour) {
  Space s(params(64, false));
  EXPECT_GT(s.default_config().get("pv_kblock"), 0);
  Config old = s.default_config();
  old.knobs.erase("pv_kblock");
  old.knobs.erase("qk_order");
  const Config c = s.complete(old);
  EXPECT_EQ(c.get("pv_kblock"), 0);
  EXPECT_EQ(c.get("qk_order"), 0);
  EXPECT_FALSE(s.validate(c));
  // Flash: pv_kblock keys per online-softmax block, whole register tiles (kv_block) each.
  Config flash = s.default_config();
  flash.knobs["algorithm"] = 1;
  EXPECT_FALSE(s.validate(flash));
  flash.knobs["kv_block"] = 64;
  flash.knobs["qk_rows"] = 1;
  flash.knobs["pv_kblock"] = 32;
  EXPECT_NE(s.validate(flash)->find("multiple of kv_block"), std::string::npos);
  Config split = s.default_config();
  split.knobs["algorithm"] = 2;
  EXPECT_NE(s.validate(split)->find("pv_kblock"), std::string::npos);  // not for split-KV
  // PV key by key (pv_stream): split-KV only; older configs keep register tiles.
  EXPECT_EQ(s.complete(old).get("pv_stream"), 0);
  split.knobs["pv_kblock"] = 0;
  split.knobs["pv_stream"] = 1;
  EXPECT_FALSE(s.validate(split));
  Config streamed = s.default_config();
  streamed.knobs["pv_stream"] = 1;
  EXPECT_NE(s.validate(streamed)->find("pv_stream"), std::string::npos);
  // attention_probs has no PV: no such knob.
  SpaceParams probs = params(64, false);
  probs.kernel = "attention_probs";
  const Space ps(probs);
  EXPECT_FALSE(ps.default_config().knobs.count("pv_kblock"));
  EXPECT_FALSE(ps.default_config().knobs.count("pv_stream"));
  EXPECT_FALSE(ps.default_config().knobs.count("q_group"));
  EXPECT_FALSE(ps.validate(ps.default_config()));
  // Groups of query tiles per task (q_group): flash only; older configs have one tile a task.
  Config older_flash = flash;
  older_flash.knobs["pv_kblock"] = 64;
  older_flash.knobs.erase("q_group");
  EXPECT_EQ(s.complete(older_flash).get("q_group"), 1);
  Config grouped = s.complete(older_flash);
  grouped.knobs["q_group"] = 4;
  EXPECT_FALSE(s.validate(grouped));
  Config grouped_materialised = s.default_config();
  grouped_materialised.knobs["q_group"] = 2;
  EXPECT_NE(s.validate(grouped_materialised)->find("q_group"), std::string::npos);
}

// Configs that compile to the same kernel are one canonical config, and every config the
// search operators produce is canonical (so the tuner never measures one kernel twice).
TEST(Space, ConfigsOfOneKernelAreOneCanonicalConfig) {
  SpaceParams dp = params(128, false);
  dp.decode = true;
  const Space s(dp);
  Config split = s.default_config();
  ASSERT_EQ(split.get("algorithm"), 2);
  EXPECT_EQ(s.canonical(split), split);
  Config other = split;
  other.knobs["q_tile"] = 8;  // split-KV tiles chunks, not query rows
  EXPECT_FALSE(s.validate(other));
  EXPECT_EQ(s.canonical(other), split);
  other.knobs["pv_width"] = 32;  // a PV register tile: another kernel
  EXPECT_NE(s.canonical(other), split);
  Config streamed = split;
  streamed.knobs["pv_stream"] = 1;
  Config streamed2 = streamed;
  streamed2.knobs["pv_rows"] = 4;  // pv_stream: no PV register tiles
  streamed2.knobs["pv_width"] = 32;
  EXPECT_EQ(s.canonical(streamed), s.canonical(streamed2));
  EXPECT_FALSE(s.validate(s.canonical(streamed2)));
  // Flash with pv_kblock = kv_block is flash with pv_kblock 0 (one register tile per step).
  const Space ps(params(64, false));
  Config flash = ps.default_config();
  flash.knobs["algorithm"] = 1;
  flash.knobs["pv_kblock"] = flash.get("kv_block");
  Config flash0 = flash;
  flash0.knobs["pv_kblock"] = 0;
  EXPECT_EQ(ps.canonical(flash), flash0);
  EXPECT_NE(ps.canonical(ps.default_config()).get("q_tile"), 8);  // the materialised kernel tiles q
  Config q8 = ps.default_config();
  q8.knobs["q_tile"] = 24;
  EXPECT_EQ(ps.canonical(q8), q8);
  // attention_probs has no PV.
  SpaceParams pp = params(64, false);
  pp.kernel = "attention_probs";
  const Space probs(pp);
  Config pr = probs.default_config();
  pr.knobs["pv_rows"] = 3;
  EXPECT_EQ(probs.canonical(pr), probs.default_config());
  // Samples, mutations, crossovers and neighbours are canonical; a mutation is another kernel.
  for (const Space* space : {&s, &ps, &probs}) {
    std::mt19937_64 rng(3);
    for (int n = 0; n < 200; ++n) {
      const Config c = space->sample(rng);
      EXPECT_EQ(space->canonical(c), c) << c.to_json();
      const Config m = space->mutate(c, rng);
      EXPECT_EQ(space->canonical(m), m) << m.to_json();
      EXPECT_NE(m, c);
      const Config x = space->crossover(c, m, rng);
      EXPECT_EQ(space->canonical(x), x) << x.to_json();
      for (const Config& nb : space->neighbours(c)) {
        EXPECT_EQ(space->canonical(nb), nb) << nb.to_json();
        EXPECT_NE(nb, c);
      }
    }
  }
}

// Searched for one workload, the space also folds what its shape makes dead: GQA packing
// of a dense workload, materialised PV blocks past seq_kv (one block either way). Flash blocks
// are kept: a flash block computes scores for all its keys.
TEST(Space, AKnownWorkloadFoldsTheKnobsItsShapeMakesDead) {
  SpaceParams dp = params(64, false);
  dp.decode = true;
  dp.kv_group = 1;
  const Space dense(dp);
  Config packed = dense.default_config();
  ASSERT_EQ(packed.get("algorithm"), 2);
  EXPECT_EQ(packed.get("kv_group_inner"), 0);
  packed.knobs["kv_group_inner"] = 1;
  EXPECT_EQ(dense.canonical(packed), dense.default_config());
  dp.kv_group = 4;  // GQA: packing is a decision
  EXPECT_EQ(Space(dp).canonical(packed), packed);

  SpaceParams cp = params(64, false);
  cp.seq_kv = 77;
  const Space cross(cp);
  Config m = cross.default_config();
  ASSERT_EQ(m.get("algorithm"), 0);
  m.knobs["pv_kblock"] = 512;
  Config m128 = m;
  m128.knobs["pv_kblock"] = 128;
  EXPECT_EQ(cross.canonical(m), m128);
  Config m64 = m;
  m64.knobs["pv_kblock"] = 64;  // two blocks: another kernel
  EXPECT_EQ(cross.canonical(m64), m64);
  Config flash = m;
  flash.knobs["algorithm"] = 1;
  EXPECT_EQ(cross.canonical(flash), flash);
  cp.seq_kv = 0;  // any shape (the AOT build): nothing folded
  EXPECT_EQ(Space(cp).canonical(m), m);
  // The search operators stay canonical and valid under these folds.
  for (const Space* space : {&dense, &cross}) {
    std::mt19937_64 rng(5);
    for (int n = 0; n < 200; ++n) {
      const Config c = space->sample(rng);
      EXPECT_EQ(space->canonical(c), c) << c.to_json();
      EXPECT_FALSE(space->validate(c)) << c.to_json();
      const Config mu = space->mutate(c, rng);
      EXPECT_EQ(space->canonical(mu), mu) << mu.to_json();
      EXPECT_NE(mu, c);
    }
  }
}

TEST(Space, NeighboursAreOneStepAndValid) {
  Space s(params(64, false));
  const Config c = s.default_config();
  const auto ns = s.neighbours(c);
  EXPECT_FALSE(ns.empty());
  for (const Config& n : ns) {
    EXPECT_FALSE(s.validate(n));
    int diff = 0;
    for (const auto& [k, v] : c.knobs) diff += n.get(k) != v;
    EXPECT_EQ(diff, 1);
  }
}

// Samples draw the algorithm first: most go to the one the workload class is for (split-KV
// for decode, query tiles otherwise), not to the one with the fewest constraints on the other
// knobs (drawn jointly, split-KV took 77% of prefill samples).
TEST(Space, SamplesDrawTheAlgorithmTheWorkloadClassIsFor) {
  for (bool decode : {false, true}) {
    SpaceParams p = params(64, false);
    p.decode = decode;
    p.vector_width = 8;
    p.num_registers = 16;
    const Space s(p);
    std::mt19937_64 rng(1);
    std::map<std::int64_t, int> drawn;
    const int n = 3000;
    for (int i = 0; i < n; ++i) drawn[s.sample(rng).get("algorithm")]++;
    if (decode) {
      EXPECT_GT(drawn[2], n * 7 / 10);
      EXPECT_GT(drawn[0], n / 20);
      EXPECT_GT(drawn[1], n / 20);
    } else {
      EXPECT_LT(drawn[2], n / 10);
      EXPECT_GT(drawn[2], 0);
      EXPECT_GT(drawn[0], n * 4 / 10);
      EXPECT_GT(drawn[1], n * 4 / 10);
    }
  }
}

}  // namespace
}  // namespace attune::schedules
