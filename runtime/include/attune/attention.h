// attune public API: attention kernels AOT-compiled from tuned Halide schedules.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace attune {

// Every invalid argument, unsupported option or failed kernel is reported with this type;
// the message names the argument. Outputs are untouched when it is thrown.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SdpaOptions {
  bool causal = false;          // bottom-right aligned when seq_q != seq_kv
  float scale = 0.0f;           // 0 means 1/sqrt(head_dim)
  int num_kv_heads = 0;         // 0 means num_heads; GQA/MQA when it divides num_heads
  const std::uint8_t* key_padding_mask = nullptr;  // [batch, seq_kv], nonzero = attend
};

// Scaled dot-product attention: out = softmax(q·kᵀ·scale)·v.
// q, out: [batch, num_heads, seq_q, head_dim]; k, v: [batch, num_kv_heads, seq_kv, head_dim];
// row-major, contiguous float32. Throws attune::Error on bad arguments.
void sdpa(const float* q, const float* k, const float* v, float* out,
          int batch, int num_heads, int seq_q, int seq_kv, int head_dim,
          const SdpaOptions& options = {});

// Attention weights for interpretability: probs = softmax(q·kᵀ·scale), same options as sdpa.
// probs: [batch, num_heads, seq_q, seq_kv], each row sums to 1 (or is all zeros if fully masked).
void attention_probs(const float* q, const float* k, float* probs,
                     int batch, int num_heads, int seq_q, int seq_kv, int head_dim,
                     const SdpaOptions& options = {});

// Multi-head attention layer weights, nn.Linear layout: W is [out_features, in_features], y = x·Wᵀ + b.
struct MhaWeights {
  const float* w_q = nullptr;  // [num_heads*head_dim, model_dim]
  const float* w_k = nullptr;  // [kv_heads*head_dim, model_dim]  (kv_heads = options.num_kv_heads or num_heads)
  const float* w_v = nullptr;  // [kv_heads*head_dim, model_dim]
  const float* w_o = nullptr;  // [model_dim, num_heads*head_dim]
  const float* b_q = nullptr;  const float* b_k = nullptr;  // biases optional (nullptr = none)
  const float* b_v = nullptr;  const float* b_o = nullptr;
};

// The layer of torch.nn.MultiheadAttention(batch_first=True) (and GQA layers when
// options.num_kv_heads < num_heads): project, SDPA per head, concatenate, project.
// x_q: [batch, seq_q, model_dim], x_kv: [batch, seq_kv, model_dim], out: [batch, seq_q, model_dim];
// head_dim = model_dim / num_heads. attn_weights, if not null: [batch, num_heads, seq_q, seq_kv].
void multi_head_attention(const float* x_q, const float* x_kv, float* out,
                          int batch, int seq_q, int seq_kv, int model_dim, int num_heads,
                          const MhaWeights& weights, const SdpaOptions& options = {},
                          float* attn_weights = nullptr);

// Calls with seq_q <= kDecodeMaxSeqQ run the decode kernels (split over the KV sequence).
constexpr int kDecodeMaxSeqQ = 16;

// Which compiled kernel a call would run (introspection; `attune which` prints it).
struct DispatchInfo {
  std::string kernel;       // compiled function, e.g. "attune_sdpa_d64_causal"
  std::string target;       // Halide target it was compiled for
  std::string config;       // schedule Config JSON ("" = the schedule space's default)
  std::string config_hash;  // FNV-1a 64 of the canonical config JSON, as in the tuning database
  bool decode = false;      // a decode kernel (seq_q <= kDecodeMaxSeqQ)
  std::string isa;          // CPU ISA level of the kernel: avx512, avx2 or sse41
};
// `function` is "sdpa" or "attention_probs"; validates the arguments like the call would.
DispatchInfo describe_dispatch(const std::string& function, int batch, int num_heads, int seq_q,
                               int seq_kv, int head_dim, const SdpaOptions& options = {});

// Caps the CPU ISA level the dispatch may use ("avx512", "avx2", "sse41"; "" = the best this
// CPU supports, the default). Kernels are compiled for each level; this selects among them
// (tests run every compiled level on one machine). max_isa() is the level in effect.
void set_max_isa(const std::string& isa);
std::string max_isa();

// Number of threads attune kernels may use (0 = all cores, the default).
void set_num_threads(int n);
int num_threads();

}  // namespace attune
