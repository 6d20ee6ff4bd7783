// Workload: what a kernel is tuned for (kernel, shapes, options). Its key names it in the
// tuning database and in exported configs. Kernel "linear" is the multi-head attention layer's
// input projection: x [batch, seq_q, H·D] · Wᵀ + b into the head layout [batch, H, seq_q, D]
// (W square, H = num_heads, D = head_dim; seq_kv = seq_q, no causal or mask).
#pragma once

#include <cstdint>
#include <string>

namespace attune::autotune {

struct Workload {
  std::string kernel = "sdpa";
  int batch = 1, num_heads = 8, num_kv_heads = 0, seq_q = 1024, seq_kv = 1024, head_dim = 64;
  bool causal = false, mask = false;

  // An sdpa workload (batch, heads, KV heads, query and key lengths, head_dim, options).
  static Workload attention(int batch, int num_heads, int num_kv_heads, int seq_q, int seq_kv, int head_dim,
                            bool causal = false, bool mask = false);

  int kv_heads() const { return num_kv_heads > 0 ? num_kv_heads : num_heads; }
  std::string key() const;  // e.g. "sdpa:b1:h8:kv8:q1024:k1024:d64:causal0:mask0"
  std::string to_json() const;
  static Workload from_json(const std::string& json);
  // FLOPs of one call: attention counts visible query-key pairs only (4 per pair and
  // head_dim); linear 2·batch·seq_q·(H·D)².
  double flops() const;
};

}  // namespace attune::autotune
