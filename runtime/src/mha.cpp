// attune::multi_head_attention: Q/K/V projections (the "linear" kernel writes the head layout
// directly), SDPA per head, output projection (reading the head layout directly).
#include <HalideBuffer.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "attune/attention.h"
#include "halide_hooks.h"
#include "registry.h"

namespace attune {
namespace {

using Halide::Runtime::Buffer;

[[noreturn]] void fail(const std::string& msg) { throw Error("attune::multi_head_attention: " + msg); }

// A [b, h, s, inner] row-major tensor as the Halide view (inner, s, h, b).
Buffer<float> view(const float* data, int inner, int s, int h, int b) {
  return Buffer<float>(const_cast<float*>(data), inner, s, h, b);
}

// y = x·Wᵀ + bias over the (inner, s, h, b) views; W and bias are viewed per output head of
// y (feature h * inner + n); bias may be null.
void linear(const detail::KernelEntry& kernel, const Buffer<float>& x, const float* w, const float* bias,
            Buffer<float>& y) {
  const int in_features = x.dim(0).extent() * x.dim(2).extent();
  const int inner = y.dim(0).extent(), heads = y.dim(2).extent();
  std::vector<float> zeros;
  if (!bias) {
    zeros.assign(size_t(inner) * heads, 0.0f);
    bias = zeros.data();
  }
  Buffer<float> wb(const_cast<float*>(w), in_features, inner, heads);
  Buffer<float> bb(const_cast<float*>(bias), inner, heads);
  const int rc = kernel.linear()(const_cast<Buffer<float>&>(x).raw_buffer(), wb.raw_buffer(),
                                          bb.raw_buffer(), y.raw_buffer());
  if (rc != 0) fail("linear kernel failed: " + detail::take_halide_error());
}

}  // namespace

void multi_head_attention(const float* x_q, const float* x_kv, float* out, int batch, int seq_q,
                          int seq_kv, int model_dim, int num_heads, const MhaWeights& weights,
                          const SdpaOptions& options, float* attn_weights) {
  if (!x_q) fail("x_q is null");
  if (!x_kv) fail("x_kv is null");
  if (!out) fail("out is null");
  for (auto [p, name] : {std::pair{weights.w_q, "weights.w_q"}, {weights.w_k, "weights.w_k"},
                         {weights.w_v, "weights.w_v"}, {weights.w_o, "weights.w_o"}})
    if (!p) fail(std::string(name) + " is null");
  for (auto [v, name] : {std::pair{batch, "batch"}, {seq_q, "seq_q"}, {seq_kv, "seq_kv"},
                         {model_dim, "model_dim"}, {num_heads, "num_heads"}})
    if (v <= 0) fail(std::string(name) + " must be >= 1, got " + std::to_string(v));
  if (model_dim % num_heads != 0)
    fail("model_dim (" + std::to_string(model_dim) + ") must be divisible by num_heads (" + std::to_string(num_heads) + ")");
  if (options.num_kv_heads < 0 || (options.num_kv_heads > 0 && num_heads % options.num_kv_heads != 0))
    fail("options.num_kv_heads must divide num_heads");
  const int head_dim = model_dim / num_heads;
  const int kv_heads = options.num_kv_heads > 0 ? options.num_kv_heads : num_heads;
  for (std::int64_t s : {std::int64_t(seq_q), std::int64_t(seq_kv)})
    if (std::int64_t(batch) * s * model_dim > std::numeric_limits<std::int32_t>::max() / 4)
      fail("batch x seq x model_dim too large (each tensor must stay below 2 GiB)");

  // Projections straight into the head layout [B, H, S, D] (scratch left uninitialised: every
  // element is written by the kernels).
  const size_t nq = size_t(batch) * num_heads * seq_q * head_dim, nkv = size_t(batch) * kv_heads * seq_kv * head_dim;
  std::unique_ptr<float[]> q(new float[nq]), k(new float[nkv]), v(new float[nkv]), o(new float[nq]);
  Buffer<float> xq = view(x_q, model_dim, seq_q, 1, batch), xkv = view(x_kv, model_dim, seq_kv, 1, batch);
  Buffer<float> qb = view(q.get(), head_dim, seq_q, num_heads, batch);
  Buffer<float> kb = view(k.get(), head_dim, seq_kv, kv_heads, batch), vb = view(v.get(), head_dim, seq_kv, kv_heads, batch);
  // The projection kernel: a loaded pack's if it has one for this sequence bucket, else built-in.
  const detail::KernelEntry& proj =
      *detail::select_kernel("multi_head_attention", "linear", head_dim, false, false, seq_q, seq_kv).entry;
  linear(proj, xq, weights.w_q, weights.b_q, qb);
  linear(proj, xkv, weights.w_k, weights.b_k, kb);
  linear(proj, xkv, weights.w_v, weights.b_v, vb);

  sdpa(q.get(), k.get(), v.get(), o.get(), batch, num_heads, seq_q, seq_kv, head_dim, options);
  if (attn_weights) attention_probs(q.get(), k.get(), attn_weights, batch, num_heads, seq_q, seq_kv, head_dim, options);

  // Output projection reads the head layout as its input features (h * D + d).
  Buffer<float> ob = view(o.get(), head_dim, seq_q, num_heads, batch);
  Buffer<float> yb = view(out, model_dim, seq_q, 1, batch);
  linear(proj, ob, weights.w_o, weights.b_o, yb);
}

}  // namespace attune
