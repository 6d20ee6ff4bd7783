// schedules::Config (JSON identity) and schedules::Space (domains, constraints, operators).
#include <gtest/gtest.h>

#include <set>

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

SpaceParams params(int head_dim, bool causal) {
  SpaceParams p;
  p.head_dim = head_dim;
  p.causal = causal;
  return p;
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
  c.knobs["algorithm"] = 0;
  EXPECT_NE(s.validate(c)->find("causal"), std::string::npos);
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

}  // namespace
}  // namespace attune::schedules
