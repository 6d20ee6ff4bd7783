// Double-precision reference attention: the ground truth for tests and the tuner's
// correctness gate. Plain loops, written for clarity, not speed.
#pragma once

#include <cstdint>
#include <vector>

namespace attune::reference {

struct SdpaProblem {
  int batch = 1, num_heads = 1, num_kv_heads = 0, seq_q = 1, seq_kv = 1, head_dim = 64;
  bool causal = false;   // bottom-right aligned: query i sees key j <= i + seq_kv - seq_q
  float scale = 0.0f;    // 0 means 1/sqrt(head_dim)
  const std::uint8_t* key_padding_mask = nullptr;  // [batch, seq_kv], nonzero = attend

  int kv_heads() const { return num_kv_heads > 0 ? num_kv_heads : num_heads; }
  double effective_scale() const;
};

// probs (optional, [B, H, Sq, Skv]) and out ([B, H, Sq, D]) in double; a query row
// with no visible key gives zero probabilities and a zero output row.
void sdpa(const SdpaProblem& p, const float* q, const float* k, const float* v,
          std::vector<double>& out, std::vector<double>* probs = nullptr);

// y = x·Wᵀ + b in double (nn.Linear): x [rows, in], W [out, in], b [out] (nullptr = none),
// y [rows, out].
void linear(const float* x, const float* w, const float* b, int rows, int in, int out, std::vector<double>& y);

// Query-key pairs a query row can see, summed over rows: seq_q * seq_kv, or for a causal
// (bottom-right aligned) mask sum_i clamp(i + 1 + seq_kv - seq_q, 0, seq_kv). Attention FLOPs
// are 4 * batch * heads * visible_pairs * head_dim everywhere in attune.
double visible_pairs(int seq_q, int seq_kv, bool causal);

// Max |a - b| / max(max|b|, tiny): the error measure used everywhere in attune.
double relative_max_error(const float* a, const std::vector<double>& b);

}  // namespace attune::reference
