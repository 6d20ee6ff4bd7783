// attune::sdpa: argument validation, then dispatch to an AOT-compiled kernel.
#include <HalideBuffer.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "attune/attention.h"
#include "registry.h"
#include "halide_hooks.h"

namespace attune {
namespace {

using detail::KernelEntry;
using Halide::Runtime::Buffer;

// Halide kernels are compiled without large_buffers: each call's buffers must stay below
// 2^31 bytes, so big problems are cut into batch (then head) slices.
constexpr std::int64_t kMaxBufferBytes = std::numeric_limits<std::int32_t>::max();

[[noreturn]] void fail(const std::string& msg) { throw Error("attune::sdpa: " + msg); }

void require_positive(int value, const char* name) {
  if (value <= 0) fail(std::string(name) + " must be >= 1, got " + std::to_string(value));
}

// Element count of a [d0, d1, d2, d3] tensor, or an error naming `name` if it overflows.
std::int64_t checked_count(std::initializer_list<std::int64_t> dims, const char* name) {
  std::int64_t n = 1;
  for (std::int64_t d : dims) {
    if (n > std::numeric_limits<std::int64_t>::max() / 4 / d)
      fail(std::string(name) + " has too many elements (size overflows)");
    n *= d;
  }
  if (n > std::numeric_limits<std::int64_t>::max() / 4 ||
      std::uint64_t(n) * sizeof(float) > std::numeric_limits<std::size_t>::max())
    fail(std::string(name) + " has too many elements (size overflows)");
  return n;
}

constexpr int kMaxHeadDim = 256;

// A kernel specialised for head_dim if there is one, else the generic one (head_dim 0).
const KernelEntry& select_kernel(int head_dim, bool causal, bool has_mask) {
  const KernelEntry* generic = nullptr;
  for (const KernelEntry& e : detail::kernel_table()) {
    if (e.causal != causal || e.has_mask != has_mask) continue;
    if (e.head_dim == head_dim) return e;
    if (e.head_dim == 0) generic = &e;
  }
  if (generic) return *generic;
  fail("no kernel compiled for head_dim=" + std::to_string(head_dim) + (causal ? " causal" : "") +
       (has_mask ? " with key_padding_mask" : "") + " in this build");
}

}  // namespace

void sdpa(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
          int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  if (!q) fail("q is null");
  if (!k) fail("k is null");
  if (!v) fail("v is null");
  if (!out) fail("out is null");
  require_positive(batch, "batch");
  require_positive(num_heads, "num_heads");
  require_positive(seq_q, "seq_q");
  require_positive(seq_kv, "seq_kv");
  require_positive(head_dim, "head_dim");
  if (head_dim > kMaxHeadDim)
    fail("head_dim must be <= " + std::to_string(kMaxHeadDim) + ", got " + std::to_string(head_dim));
  if (options.num_kv_heads < 0)
    fail("options.num_kv_heads must be >= 0, got " + std::to_string(options.num_kv_heads));
  const int kv_heads = options.num_kv_heads > 0 ? options.num_kv_heads : num_heads;
  if (num_heads % kv_heads != 0)
    fail("options.num_kv_heads (" + std::to_string(kv_heads) + ") must divide num_heads (" +
         std::to_string(num_heads) + ")");
  if (!std::isfinite(options.scale) || options.scale < 0)
    fail("options.scale must be finite and >= 0 (0 = 1/sqrt(head_dim))");
  checked_count({batch, num_heads, seq_q, head_dim}, "q/out");
  checked_count({batch, kv_heads, seq_kv, head_dim}, "k/v");
  if (options.key_padding_mask) checked_count({batch, seq_kv}, "key_padding_mask");

  const bool has_mask = options.key_padding_mask != nullptr;
  const KernelEntry& kernel = select_kernel(head_dim, options.causal, has_mask);
  const float scale = options.scale != 0.0f ? options.scale : 1.0f / std::sqrt(float(head_dim));

  // Slice batch (then heads, in KV-head groups) so every buffer stays below kMaxBufferBytes.
  const std::int64_t head_q_bytes = std::int64_t(seq_q) * head_dim * 4;
  const std::int64_t head_kv_bytes = std::int64_t(seq_kv) * head_dim * 4;
  const int group = num_heads / kv_heads;
  if (head_q_bytes * group > kMaxBufferBytes || head_kv_bytes > kMaxBufferBytes)
    fail("seq_q/seq_kv x head_dim too large for one head (limit 2 GiB per head group)");
  const std::int64_t kv_groups_per_call =
      std::min<std::int64_t>(kv_heads, kMaxBufferBytes / std::max(head_q_bytes * group, head_kv_bytes));
  const int heads_per_call = int(kv_groups_per_call) * group;
  const int kvh_per_call = int(kv_groups_per_call);
  const std::int64_t batch_bytes = std::max(head_q_bytes * num_heads, head_kv_bytes * kv_heads);
  const int batch_per_call =
      heads_per_call == num_heads ? int(std::max<std::int64_t>(1, kMaxBufferBytes / batch_bytes)) : 1;

  static std::uint8_t no_mask = 1;
  for (int b0 = 0; b0 < batch; b0 += batch_per_call) {
    const int nb = std::min(batch_per_call, batch - b0);
    for (int g0 = 0; g0 < kv_heads; g0 += kvh_per_call) {
      const int nkv = std::min(kvh_per_call, kv_heads - g0), nh = nkv * group, h0 = g0 * group;
      // Strided views of [b0, b0+nb) x heads [h0, h0+nh): Halide dims are (d, s, h, b).
      auto view = [&](const float* base, int heads_total, int head0, int heads, int seq) {
        halide_dimension_t dims[4] = {
            {0, head_dim, 1, 0},
            {0, seq, head_dim, 0},
            {0, heads, seq * head_dim, 0},
            {0, nb, int(std::int64_t(heads_total) * seq * head_dim), 0}};
        const std::int64_t offset = (std::int64_t(b0) * heads_total + head0) * seq * head_dim;
        return Buffer<float>(const_cast<float*>(base) + offset, 4, dims);
      };
      Buffer<float> qb = view(q, num_heads, h0, nh, seq_q);
      Buffer<float> kb = view(k, kv_heads, g0, nkv, seq_kv);
      Buffer<float> vb = view(v, kv_heads, g0, nkv, seq_kv);
      Buffer<float> ob = view(out, num_heads, h0, nh, seq_q);
      Buffer<std::uint8_t> mb =
          has_mask ? Buffer<std::uint8_t>(const_cast<std::uint8_t*>(options.key_padding_mask) +
                                              std::int64_t(b0) * seq_kv, seq_kv, nb)
                   : Buffer<std::uint8_t>(&no_mask, 1, 1);
      const int rc = kernel.fn(qb.raw_buffer(), kb.raw_buffer(), vb.raw_buffer(), mb.raw_buffer(),
                               scale, ob.raw_buffer());
      if (rc != 0)
        fail(std::string("kernel ") + kernel.name + " failed (Halide error " + std::to_string(rc) +
             "): " + detail::take_halide_error());
    }
  }
}

}  // namespace attune
