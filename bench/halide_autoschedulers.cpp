#include "halide_autoschedulers.h"

#include <HalideBuffer.h>

#include <cmath>
#include <string>

#include "bench_sdpa_adams2019.h"
#include "bench_sdpa_li2018.h"
#include "bench_sdpa_mullapudi2016.h"

namespace attune::bench {
namespace {

using Fn = int (*)(halide_buffer_t*, halide_buffer_t*, halide_buffer_t*, halide_buffer_t*, float, halide_buffer_t*);

void run(Fn fn, const char* name, const float* q, const float* k, const float* v, float* out, int batch,
         int num_heads, int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  if (options.causal || options.key_padding_mask || (options.num_kv_heads && options.num_kv_heads != num_heads) ||
      head_dim != 64)
    throw Error(std::string(name) + ": only dense non-GQA attention with head_dim 64 is compiled");
  using Halide::Runtime::Buffer;
  Buffer<float> qb(const_cast<float*>(q), head_dim, seq_q, num_heads, batch);
  Buffer<float> kb(const_cast<float*>(k), head_dim, seq_kv, num_heads, batch);
  Buffer<float> vb(const_cast<float*>(v), head_dim, seq_kv, num_heads, batch);
  Buffer<float> ob(out, head_dim, seq_q, num_heads, batch);
  std::uint8_t no_mask = 1;
  Buffer<std::uint8_t> mb(&no_mask, 1, 1);
  const float scale = options.scale != 0 ? options.scale : 1.0f / std::sqrt(float(head_dim));
  if (int rc = fn(qb.raw_buffer(), kb.raw_buffer(), vb.raw_buffer(), mb.raw_buffer(), scale, ob.raw_buffer()))
    throw Error(std::string(name) + ": Halide error " + std::to_string(rc));
}

}  // namespace

#define ATTUNE_AUTOSCHEDULED(api, fn)                                                                      \
  void api(const float* q, const float* k, const float* v, float* out, int batch, int num_heads, int seq_q,   \
           int seq_kv, int head_dim, const SdpaOptions& options) {                                           \
    run(fn, #api, q, k, v, out, batch, num_heads, seq_q, seq_kv, head_dim, options);                         \
  }
ATTUNE_AUTOSCHEDULED(halide_mullapudi2016, bench_sdpa_mullapudi2016)
ATTUNE_AUTOSCHEDULED(halide_li2018, bench_sdpa_li2018)
ATTUNE_AUTOSCHEDULED(halide_adams2019, bench_sdpa_adams2019)
#undef ATTUNE_AUTOSCHEDULED

}  // namespace attune::bench
