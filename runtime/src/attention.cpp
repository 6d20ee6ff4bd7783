// attune::sdpa and attune::attention_probs: argument validation, then dispatch to an
// AOT-compiled kernel.
#include <HalideBuffer.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "attune/attention.h"
#include "registry.h"
#include "schedules/hash.h"
#include "halide_hooks.h"
#include "scratch.h"
#include "thread_pool.h"

namespace attune {
namespace {

using detail::KernelEntry;
using detail::select_kernel;
using detail::Selected;
using Halide::Runtime::Buffer;

// attune's own Halide runtime (the one linked with the built-in kernels) runs on attune's thread
// pool and scratch allocator from load time on: no kernel ever runs on Halide's (see
// thread_pool.h, scratch.h). Loaded packs get the same hooks (install_halide_hooks).
const bool own_runtime_hooked = [] {
  halide_set_custom_do_par_for(&detail::do_par_for);
  halide_set_custom_malloc(&detail::scratch_malloc);
  halide_set_custom_free(&detail::scratch_free);
  return true;
}();

// Halide kernels are compiled without large_buffers: each call's buffers must stay below
// 2^31 bytes, so big problems are cut into batch (then head) slices.
constexpr std::int64_t kMaxBufferBytes = std::numeric_limits<std::int32_t>::max();

[[noreturn]] void fail(const char* api, const std::string& msg) {
  throw Error(std::string("attune::") + api + ": " + msg);
}

void require_positive(const char* api, int value, const char* name) {
  if (value <= 0) fail(api, std::string(name) + " must be >= 1, got " + std::to_string(value));
}

// Element count of a tensor, or an error naming `name` if its byte size overflows.
void check_count(const char* api, std::initializer_list<std::int64_t> dims, const char* name) {
  std::int64_t n = sizeof(float);
  for (std::int64_t d : dims) {
    if (n > std::numeric_limits<std::int64_t>::max() / d)
      fail(api, std::string(name) + " has too many elements (size overflows)");
    n *= d;
  }
}

constexpr int kMaxHeadDim = 256;

// Sizes and options shared by every entry point; returns the number of KV heads.
int validate_shape(const char* api, int batch, int num_heads, int seq_q, int seq_kv, int head_dim,
                   const SdpaOptions& options) {
  require_positive(api, batch, "batch");
  require_positive(api, num_heads, "num_heads");
  require_positive(api, seq_q, "seq_q");
  require_positive(api, seq_kv, "seq_kv");
  require_positive(api, head_dim, "head_dim");
  if (head_dim > kMaxHeadDim)
    fail(api, "head_dim must be <= " + std::to_string(kMaxHeadDim) + ", got " + std::to_string(head_dim));
  if (options.num_kv_heads < 0)
    fail(api, "options.num_kv_heads must be >= 0, got " + std::to_string(options.num_kv_heads));
  const int kv_heads = options.num_kv_heads > 0 ? options.num_kv_heads : num_heads;
  if (num_heads % kv_heads != 0)
    fail(api, "options.num_kv_heads (" + std::to_string(kv_heads) + ") must divide num_heads (" +
                  std::to_string(num_heads) + ")");
  if (!std::isfinite(options.scale) || options.scale < 0)
    fail(api, "options.scale must be finite and >= 0 (0 = 1/sqrt(head_dim))");
  check_count(api, {batch, num_heads, seq_q, head_dim}, "q");
  check_count(api, {batch, kv_heads, seq_kv, head_dim}, "k/v");
  return kv_heads;
}

// Validates every argument (before any kernel runs: outputs stay untouched on error), then
// runs `generator` over batch/head slices that keep each buffer below kMaxBufferBytes.
// `out_inner` is the innermost extent of the output: head_dim (sdpa) or seq_kv (probs).
void run_attention(const char* api, const std::string& generator, const float* q, const float* k,
                   const float* v, float* out, bool out_is_probs, int batch, int num_heads,
                   int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  if (!q) fail(api, "q is null");
  if (!k) fail(api, "k is null");
  if (!v) fail(api, "v is null");
  if (!out) fail(api, out_is_probs ? "probs is null" : "out is null");
  const int kv_heads = validate_shape(api, batch, num_heads, seq_q, seq_kv, head_dim, options);
  if (out_is_probs) check_count(api, {batch, num_heads, seq_q, seq_kv}, "probs");

  const bool has_mask = options.key_padding_mask != nullptr;
  const KernelEntry& kernel = *select_kernel(api, generator, head_dim, options.causal, has_mask, seq_q, seq_kv).entry;
  const float scale = options.scale != 0.0f ? options.scale : 1.0f / std::sqrt(float(head_dim));
  const int out_inner = out_is_probs ? seq_kv : head_dim;

  // Slice batch (then heads, in KV-head groups) so every buffer stays below kMaxBufferBytes.
  const int group = num_heads / kv_heads;
  const std::int64_t head_q_bytes = std::int64_t(seq_q) * std::max(head_dim, out_inner) * 4;
  const std::int64_t head_kv_bytes = std::int64_t(seq_kv) * head_dim * 4;
  if (head_q_bytes * group > kMaxBufferBytes || head_kv_bytes > kMaxBufferBytes)
    fail(api, "seq_q/seq_kv too large for one head group (each buffer per head group must stay below 2 GiB)");
  const int kvh_per_call = int(std::min<std::int64_t>(
      kv_heads, kMaxBufferBytes / std::max(head_q_bytes * group, head_kv_bytes)));
  const std::int64_t batch_bytes = std::max(head_q_bytes * num_heads, head_kv_bytes * kv_heads);
  const int batch_per_call =
      kvh_per_call == kv_heads ? int(std::max<std::int64_t>(1, kMaxBufferBytes / batch_bytes)) : 1;

  static std::uint8_t no_mask = 1;
  for (int b0 = 0; b0 < batch; b0 += batch_per_call) {
    const int nb = std::min(batch_per_call, batch - b0);
    for (int g0 = 0; g0 < kv_heads; g0 += kvh_per_call) {
      const int nkv = std::min(kvh_per_call, kv_heads - g0), nh = nkv * group, h0 = g0 * group;
      // View of batches [b0, b0+nb) x heads [h0, h0+nh): Halide dims are (inner, s, h, b).
      auto view = [&](const float* base, int heads_total, int head0, int heads, int seq, int inner) {
        halide_dimension_t dims[4] = {{0, inner, 1, 0},
                                      {0, seq, inner, 0},
                                      {0, heads, seq * inner, 0},
                                      {0, nb, int(std::int64_t(heads_total) * seq * inner), 0}};
        const std::int64_t offset = (std::int64_t(b0) * heads_total + head0) * seq * inner;
        return Buffer<float>(const_cast<float*>(base) + offset, 4, dims);
      };
      Buffer<float> qb = view(q, num_heads, h0, nh, seq_q, head_dim);
      Buffer<float> kb = view(k, kv_heads, g0, nkv, seq_kv, head_dim);
      Buffer<float> vb = view(v, kv_heads, g0, nkv, seq_kv, head_dim);
      Buffer<float> ob = view(out, num_heads, h0, nh, seq_q, out_inner);
      Buffer<std::uint8_t> mb =
          has_mask ? Buffer<std::uint8_t>(const_cast<std::uint8_t*>(options.key_padding_mask) +
                                              std::int64_t(b0) * seq_kv, seq_kv, nb)
                   : Buffer<std::uint8_t>(&no_mask, 1, 1);
      const int rc = kernel.sdpa()(qb.raw_buffer(), kb.raw_buffer(), vb.raw_buffer(), mb.raw_buffer(),
                               scale, ob.raw_buffer());
      if (rc != 0)
        fail(api, std::string("kernel ") + kernel.name + " failed (Halide error " +
                      std::to_string(rc) + "): " + detail::take_halide_error());
    }
  }
}

}  // namespace

DispatchInfo describe_dispatch(const std::string& function, int batch, int num_heads, int seq_q,
                               int seq_kv, int head_dim, const SdpaOptions& options) {
  if (function != "sdpa" && function != "attention_probs" && function != "linear")
    throw Error("attune::describe_dispatch: function must be \"sdpa\", \"attention_probs\" or \"linear\", got \"" +
                function + "\"");
  const char* api = "describe_dispatch";
  validate_shape(api, batch, num_heads, seq_q, seq_kv, head_dim, options);
  // "linear": the projection GEMM of multi_head_attention (options do not apply).
  const bool projection = function == "linear";
  const Selected s = select_kernel(api, function, head_dim, options.causal && !projection,
                                   options.key_padding_mask != nullptr && !projection, seq_q, seq_kv);
  DispatchInfo info;
  info.kernel = s.entry->name;
  info.target = s.entry->target;
  info.config = s.entry->config;
  info.tuned_for = s.entry->tuned_for ? s.entry->tuned_for : "";
  const SeqBucket bucket = seq_bucket(seq_q, seq_kv);
  info.bucket = to_string(bucket);
  info.decode = bucket == SeqBucket::kDecode;
  info.isa = detail::isa_name(s.entry->isa);
  info.source = s.pack ? s.pack : "built-in";
  if (!info.config.empty()) info.config_hash = schedules::hash_hex(info.config);  // = Config::hash_hex()
  return info;
}

void sdpa(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
          int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  run_attention("sdpa", "sdpa", q, k, v, out, false, batch, num_heads, seq_q, seq_kv, head_dim, options);
}

namespace detail {
// Runs the head_dim 64 kernels of the two buckets whose calls are short enough (under ~2 ms
// at H=8) for a first run of their code and dispatch to show: decode (16 rows) and short (32
// rows). Warming the short one made a first call at S=512 2-3% faster (docs/performance.md).
void warm_call() noexcept {
  constexpr int kDim = 64, kMaxSeq = 32;
  static_assert(seq_bucket(kDecodeMaxSeqQ, kDecodeMaxSeqQ) == SeqBucket::kDecode &&
                seq_bucket(kMaxSeq, kMaxSeq) == SeqBucket::kShort);
  static float q[kMaxSeq * kDim], out[kMaxSeq * kDim];  // zeros; static: the caller's stack stays small
  try {
    for (int seq : {kDecodeMaxSeqQ, kMaxSeq})
      run_attention("sdpa", "sdpa", q, q, q, out, false, 1, 1, seq, seq, kDim, SdpaOptions{});
  } catch (...) {  // nothing may escape the load-time warm-up; the first call reports any error
  }
}
}  // namespace detail

void attention_probs(const float* q, const float* k, float* probs, int batch, int num_heads,
                     int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  // The kernel ignores v; k stands in so validation and slicing are shared with sdpa.
  run_attention("attention_probs", "attention_probs", q, k, k, probs, true, batch, num_heads, seq_q,
                seq_kv, head_dim, options);
}

}  // namespace attune
