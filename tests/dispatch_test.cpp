// describe_dispatch: which compiled kernel a call runs (sequence bucket, head_dim
// specialisation, options), that each bucket runs the config tuned for it, and that a config's
// identity is the tuning database's hash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <sstream>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "attune/attention.h"
#include "schedules/config.h"

namespace {

// Kernels are named attune_<gen>_d<head_dim>_<variant>_<isa>_<buckets served, '_'-joined>.
bool serves(const attune::DispatchInfo& info, const std::string& bucket) {
  return (info.kernel + "_").find("_" + bucket + "_") != std::string::npos;
}

TEST(Dispatch, BucketsFollowTheSequenceLengths) {
  using attune::SeqBucket;
  EXPECT_EQ(attune::seq_bucket(16, 32768), SeqBucket::kDecode);
  EXPECT_EQ(attune::seq_bucket(17, 512), SeqBucket::kShort);
  EXPECT_EQ(attune::seq_bucket(4096, 513), SeqBucket::kMedium);
  EXPECT_EQ(attune::seq_bucket(1, 2048), SeqBucket::kDecode);
  EXPECT_EQ(attune::seq_bucket(17, 2048), SeqBucket::kMedium);
  EXPECT_EQ(attune::seq_bucket(17, 2049), SeqBucket::kLong);
  // Every variant, head_dim and bucket runs a kernel compiled for that bucket.
  const std::uint8_t m = 1;
  for (const char* fn : {"sdpa", "attention_probs"})
    for (int d : {32, 64, 80, 96, 128, 256, 17})
      for (int variant = 0; variant < 4; ++variant)
        for (auto [sq, skv, bucket] : {std::tuple{1, 4096, "decode"}, std::tuple{100, 300, "short"},
                                       std::tuple{600, 2000, "medium"}, std::tuple{256, 5000, "long"}}) {
          attune::SdpaOptions o;
          o.causal = variant & 1;
          if (variant & 2) o.key_padding_mask = &m;
          const auto info = attune::describe_dispatch(fn, 1, 8, sq, skv, d, o);
          EXPECT_EQ(info.bucket, bucket);
          EXPECT_EQ(info.decode, info.bucket == "decode");
          EXPECT_TRUE(serves(info, bucket)) << info.kernel << " for bucket " << bucket;
          EXPECT_EQ(info.source, "built-in");
        }
}

TEST(Dispatch, PicksHeadDimAndOptions) {
  const std::string isa = "_" + attune::max_isa() + "_";  // kernels are named per ISA level
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 8, 100, 100, 17).kernel.rfind("attune_sdpa_d0_dense" + isa, 0), 0u);
  attune::SdpaOptions causal;
  causal.causal = true;
  EXPECT_EQ(attune::describe_dispatch("sdpa", 1, 8, 100, 100, 128, causal).kernel.rfind("attune_sdpa_d128_causal" + isa, 0), 0u);
  const std::uint8_t m = 1;
  attune::SdpaOptions masked;
  masked.key_padding_mask = &m;
  EXPECT_EQ(attune::describe_dispatch("attention_probs", 1, 8, 100, 100, 80, masked).kernel.rfind(
                "attune_attention_probs_d80_mask" + isa, 0), 0u);
  EXPECT_THROW(attune::describe_dispatch("matmul", 1, 1, 1, 1, 64), attune::Error);
  EXPECT_THROW(attune::describe_dispatch("sdpa", 1, 1, 1, 1, 300), attune::Error);
}

// A kernel variant and bucket: (kernel, head_dim, causal, mask, bucket).
using Slot = std::tuple<std::string, int, bool, bool, std::string>;

// The tuned workload compiled for each (kernel variant, bucket) of one ISA level, as
// attune_add_kernels() picks it from ATTUNE_TUNED_CONFIGS (the shipped schedules/tuned/, or the
// user's export; a |-separated list of files and directories, later ones overriding): within one
// path the most query-key pairs, then non-GQA, wins.
std::map<Slot, nlohmann::json> tuned_winners(const std::string& isa) {
  std::vector<std::vector<std::filesystem::path>> paths;
  std::stringstream list(ATTUNE_TUNED_CONFIGS);
  for (std::string p; std::getline(list, p, '|');) {
    paths.emplace_back();
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.path().extension() == ".json") paths.back().push_back(e.path());
      std::sort(paths.back().begin(), paths.back().end());
    } else {
      paths.back().push_back(p);
    }
  }
  std::map<Slot, nlohmann::json> winners;
  for (const auto& files : paths) {
    std::map<Slot, std::pair<double, nlohmann::json>> in_path;
    for (const auto& f : files) {
      const nlohmann::json j = nlohmann::json::parse(std::ifstream(f));
      const std::string target = j["target"];
      if (attune::schedules::is_gpu_target(target))
        continue;  // GPU schedules: not compiled into the CPU library (attune_load_tuned_configs skips them too)
      const std::string file_isa = target.find("avx512") != std::string::npos ? "avx512"
                                   : target.find("avx2") != std::string::npos ? "avx2" : "sse41";
      if (file_isa != isa) continue;
      for (const nlohmann::json& k : j["kernels"]) {
        const nlohmann::json& w = k["workload"];
        const Slot slot{w["kernel"], w["head_dim"], w["causal"], w["mask"],
                        attune::to_string(attune::seq_bucket(w["seq_q"], w["seq_kv"]))};
        const double rank = w["seq_q"].get<double>() * w["seq_kv"].get<double>() * 2 + (w["num_kv_heads"] == w["num_heads"]);
        if (!in_path.count(slot) || rank > in_path[slot].first) in_path[slot] = {rank, k};
      }
    }
    for (const auto& [slot, winner] : in_path) winners[slot] = winner.second;
  }
  return winners;
}

std::string hash_of(const nlohmann::json& config) {
  return attune::schedules::Config::from_json(config.dump()).hash_hex();
}

// Every tuned workload runs its bucket's tuned config, through the same dispatch as the app's calls.
TEST(Dispatch, EachBucketRunsItsTunedConfig) {
  int checked = 0;
  for (const char* isa : {"avx512", "avx2", "sse41"}) {
    attune::set_max_isa(isa);
    if (attune::max_isa() != isa) continue;  // this CPU cannot run that level
    for (const auto& [slot, winner] : tuned_winners(isa)) {
      const nlohmann::json& w = winner["workload"];
      attune::SdpaOptions o;
      o.causal = w["causal"];
      o.num_kv_heads = w["num_kv_heads"];
      const std::uint8_t m = 1;
      if (w["mask"].get<bool>()) o.key_padding_mask = &m;
      const auto info = attune::describe_dispatch(w["kernel"], w["batch"], w["num_heads"], w["seq_q"], w["seq_kv"],
                                                  w["head_dim"], o);
      EXPECT_EQ(info.config_hash, hash_of(winner["config"])) << isa << ": " << w.dump() << " runs " << info.kernel;
      // Kernels that several buckets share list each bucket's tuned workload.
      EXPECT_NE((" " + info.tuned_for + " ").find(" " + winner["workload_key"].get<std::string>() + " "), std::string::npos)
          << info.tuned_for;
      if (w["kernel"] != "linear") EXPECT_TRUE(serves(info, info.bucket)) << info.kernel;  // the GEMM serves all
      ++checked;
    }
  }
  attune::set_max_isa("");
  if (checked == 0) GTEST_SKIP() << "no tuned config for an ISA level this CPU runs";
}

// A variant and bucket without a tuned config of its own runs the one attune_borrowed_config()
// picks: the same variant's nearest tuned bucket (decode only from decode), else the unmasked
// variant's; with none, the default schedule (no config).
TEST(Dispatch, UntunedBucketsBorrowTheNearestTunedConfig) {
  const std::map<std::string, std::vector<std::string>> order = {{"decode", {"decode"}},
                                                                 {"short", {"short", "medium", "long"}},
                                                                 {"medium", {"medium", "long", "short"}},
                                                                 {"long", {"long", "medium", "short"}}};
  const std::map<std::string, std::pair<int, int>> shape = {
      {"decode", {1, 4096}}, {"short", {256, 256}}, {"medium", {1024, 1024}}, {"long", {4096, 4096}}};
  int borrowed = 0;
  for (const char* isa : {"avx512", "avx2", "sse41"}) {
    attune::set_max_isa(isa);
    if (attune::max_isa() != isa) continue;
    const auto winners = tuned_winners(isa);
    std::set<int> head_dims;
    for (const auto& [slot, w] : winners)
      if (std::get<0>(slot) == "sdpa") head_dims.insert(std::get<1>(slot));
    for (int d : head_dims)
      for (bool causal : {false, true})
        for (bool mask : {false, true})
          for (const auto& [bucket, nearest] : order) {
            if (winners.count({"sdpa", d, causal, mask, bucket})) continue;  // its own (the test above)
            const nlohmann::json* lender = nullptr;
            for (bool m : {mask, false}) {
              for (const std::string& b : nearest)
                if (!lender && winners.count({"sdpa", d, causal, m, b})) lender = &winners.at({"sdpa", d, causal, m, b});
            }
            attune::SdpaOptions o;
            o.causal = causal;
            const std::uint8_t m = 1;
            if (mask) o.key_padding_mask = &m;
            const auto [sq, skv] = shape.at(bucket);
            const auto info = attune::describe_dispatch("sdpa", 1, 8, sq, skv, d, o);
            EXPECT_EQ(info.config_hash, lender ? hash_of((*lender)["config"]) : "")
                << isa << " head_dim " << d << (causal ? " causal" : "") << (mask ? " mask " : " ") << bucket
                << " runs " << info.kernel;
            if (lender)
              EXPECT_NE(info.tuned_for.find((*lender)["workload_key"].get<std::string>()), std::string::npos) << info.tuned_for;
            else
              EXPECT_EQ(info.tuned_for, "");
            borrowed += lender != nullptr;
          }
  }
  attune::set_max_isa("");
  if (borrowed == 0) GTEST_SKIP() << "no tuned config to borrow for an ISA level this CPU runs";
}

TEST(Dispatch, ConfigHashIsTheDatabaseIdentity) {
  for (int d : {32, 64, 80, 96, 128, 256})
    for (int skv : {1, 512, 1024, 4096}) {
      const auto info = attune::describe_dispatch("sdpa", 1, 8, skv == 1 ? 1 : 512, std::max(skv, 2), d);
      if (info.config.empty()) {
        EXPECT_TRUE(info.config_hash.empty());
        continue;
      }
      EXPECT_EQ(info.config_hash, attune::schedules::Config::from_json(info.config).hash_hex()) << info.kernel;
    }
}

}  // namespace
