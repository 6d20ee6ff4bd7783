// attune::multi_head_attention against PyTorch's nn.MultiheadAttention(batch_first=True)
// (fixtures from tests/fixtures/make_mha_fixtures.py: self/cross attention, padding mask,
// causal, no bias, GQA/MQA layers) and its argument validation.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "attune/attention.h"

namespace {

struct Fixture {
  int batch, seq_q, seq_kv, model_dim, heads, kv_heads;
  bool bias, causal, padding;
  std::map<std::string, std::vector<float>> t;
};

std::vector<Fixture> load_fixtures() {
  std::ifstream in(ATTUNE_MHA_FIXTURES);
  std::vector<Fixture> cases;
  std::string word;
  while (in >> word) {
    if (word == "case") {
      Fixture f;
      int bias, causal, padding;
      in >> f.batch >> f.seq_q >> f.seq_kv >> f.model_dim >> f.heads >> f.kv_heads >> bias >> causal >> padding;
      f.bias = bias; f.causal = causal; f.padding = padding;
      cases.push_back(f);
    } else {
      size_t n;
      in >> n;
      std::vector<float>& v = cases.back().t[word];
      v.resize(n);
      for (float& x : v) in >> x;
    }
  }
  return cases;
}

double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, mag = 0;
  for (size_t n = 0; n < b.size(); ++n) {
    err = std::max(err, double(std::abs(a[n] - b[n])));
    mag = std::max(mag, double(std::abs(b[n])));
  }
  return err / mag;
}

TEST(MultiHeadAttention, MatchesPyTorch) {
  const auto cases = load_fixtures();
  ASSERT_EQ(cases.size(), 6u);
  for (const Fixture& f : cases) {
    attune::MhaWeights w;
    w.w_q = f.t.at("w_q").data(); w.w_k = f.t.at("w_k").data();
    w.w_v = f.t.at("w_v").data(); w.w_o = f.t.at("w_o").data();
    if (f.bias) {
      w.b_q = f.t.at("b_q").data(); w.b_k = f.t.at("b_k").data();
      w.b_v = f.t.at("b_v").data(); w.b_o = f.t.at("b_o").data();
    }
    attune::SdpaOptions o;
    o.causal = f.causal;
    o.num_kv_heads = f.kv_heads;
    std::vector<std::uint8_t> mask;
    if (f.padding) {
      for (float m : f.t.at("mask")) mask.push_back(m != 0);
      o.key_padding_mask = mask.data();
    }
    std::vector<float> out(f.t.at("out").size()), attn(f.t.at("attn").size());
    attune::multi_head_attention(f.t.at("x_q").data(), f.t.at("x_kv").data(), out.data(), f.batch, f.seq_q,
                                 f.seq_kv, f.model_dim, f.heads, w, o, attn.data());
    const std::string name = "B" + std::to_string(f.batch) + " Sq" + std::to_string(f.seq_q) + " H" +
                             std::to_string(f.heads) + " KV" + std::to_string(f.kv_heads);
    EXPECT_LE(rel_error(out, f.t.at("out")), 1e-4) << name;
    EXPECT_LE(rel_error(attn, f.t.at("attn")), 1e-4) << name;
  }
}

TEST(MultiHeadAttention, BadArgumentsNameTheArgument) {
  std::vector<float> x(2 * 4 * 16, 0.1f), wt(16 * 16, 0.01f), out(x.size(), 9.0f);
  attune::MhaWeights w;
  w.w_q = w.w_k = w.w_v = w.w_o = wt.data();
  auto expect = [&](const std::string& needle, auto call) {
    try {
      call();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const attune::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    for (float v : out) ASSERT_EQ(v, 9.0f);
  };
  expect("model_dim", [&] { attune::multi_head_attention(x.data(), x.data(), out.data(), 2, 4, 4, 16, 3, w); });
  expect("num_heads", [&] { attune::multi_head_attention(x.data(), x.data(), out.data(), 2, 4, 4, 16, 0, w); });
  expect("x_kv", [&] { attune::multi_head_attention(x.data(), nullptr, out.data(), 2, 4, 4, 16, 2, w); });
  attune::MhaWeights missing = w;
  missing.w_o = nullptr;
  expect("weights.w_o", [&] { attune::multi_head_attention(x.data(), x.data(), out.data(), 2, 4, 4, 16, 2, missing); });
  attune::SdpaOptions o;
  o.num_kv_heads = 3;
  expect("num_kv_heads", [&] { attune::multi_head_attention(x.data(), x.data(), out.data(), 2, 4, 4, 16, 2, w, o); });
}

}  // namespace
