// Shared test helpers: seeded random tensors and a comparison against the double reference.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "attune/attention.h"
#include "reference/reference.h"

namespace attune::testing {

struct Case {
  int batch = 1, heads = 1, kv_heads = 0, seq_q = 1, seq_kv = 1, head_dim = 64;
  bool causal = false, mask = false;
  float scale = 0.0f;
  float input_scale = 1.0f;  // multiplies q and k: large values push logits to +-100
  unsigned seed = 1;

  int kvh() const { return kv_heads > 0 ? kv_heads : heads; }
  std::string name() const {
    return "b" + std::to_string(batch) + "h" + std::to_string(heads) + "kv" + std::to_string(kvh()) +
           "q" + std::to_string(seq_q) + "k" + std::to_string(seq_kv) + "d" + std::to_string(head_dim) +
           (causal ? "_causal" : "") + (mask ? "_mask" : "");
  }
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name(); }

struct Tensors {
  std::vector<float> q, k, v;
  std::vector<std::uint8_t> mask;
};

inline Tensors make_tensors(const Case& c) {
  Tensors t;
  std::mt19937 rng(c.seed);
  std::normal_distribution<float> normal;
  t.q.resize(size_t(c.batch) * c.heads * c.seq_q * c.head_dim);
  t.k.resize(size_t(c.batch) * c.kvh() * c.seq_kv * c.head_dim);
  t.v.resize(t.k.size());
  for (float& x : t.q) x = normal(rng) * c.input_scale;
  for (float& x : t.k) x = normal(rng) * c.input_scale;
  for (float& x : t.v) x = normal(rng);
  if (c.mask) {
    t.mask.resize(size_t(c.batch) * c.seq_kv);
    std::bernoulli_distribution keep(0.7);
    for (auto& m : t.mask) m = keep(rng);
    if (c.batch > 1)  // a fully masked batch row: its outputs must be zeros
      std::fill(t.mask.begin() + c.seq_kv, t.mask.begin() + 2 * c.seq_kv, 0);
  }
  return t;
}

inline SdpaOptions options_for(const Case& c, const Tensors& t) {
  SdpaOptions o;
  o.causal = c.causal;
  o.scale = c.scale;
  o.num_kv_heads = c.kv_heads;
  o.key_padding_mask = c.mask ? t.mask.data() : nullptr;
  return o;
}

inline reference::SdpaProblem problem_for(const Case& c, const Tensors& t) {
  reference::SdpaProblem p;
  p.batch = c.batch; p.num_heads = c.heads; p.num_kv_heads = c.kv_heads; p.seq_q = c.seq_q;
  p.seq_kv = c.seq_kv; p.head_dim = c.head_dim; p.causal = c.causal; p.scale = c.scale;
  p.key_padding_mask = c.mask ? t.mask.data() : nullptr;
  return p;
}

// Runs sdpa on case c and returns its max error against the double reference, relative to the
// output's magnitude; out_copy (if given) receives the output.
inline double sdpa_error(const Case& c, std::vector<float>* out_copy = nullptr) {
  const Tensors t = make_tensors(c);
  std::vector<float> out(t.q.size());
  sdpa(t.q.data(), t.k.data(), t.v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim,
       options_for(c, t));
  std::vector<double> expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
  if (out_copy) *out_copy = out;
  return reference::relative_max_error(out.data(), expected);
}

// Whether this CPU runs kernels of an ISA level (avx512 > avx2 > sse41). Clears the ISA cap.
inline bool host_supports(const std::string& isa) {
  const auto rank = [](const std::string& s) { return s == "avx512" ? 2 : s == "avx2" ? 1 : 0; };
  set_max_isa("");
  return rank(isa) <= rank(max_isa());
}

constexpr double kTolerance = 1e-4;  // max abs error relative to the output's max magnitude

}  // namespace attune::testing
