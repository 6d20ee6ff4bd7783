#include "peers.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "reference/aligned.h"

// The peers run one head per OpenMP thread and rely on oneDNN running single-threaded inside
// an OpenMP parallel region (it checks omp_in_parallel()). That holds for the OpenMP build only;
// a TBB or threadpool build would need its own threading here.
#if DNNL_CPU_RUNTIME != DNNL_RUNTIME_OMP
#error "attune_bench expects oneDNN built with the OpenMP CPU runtime (Debian's libdnnl-dev is)"
#endif

namespace attune::bench {
namespace {

enum class Softmax { kPlainLoop, kOneDnnPrimitive, kNone };

// The softmax a C++ programmer writes: stable (subtract the row max), in place.
void softmax_rows(float* s, int rows, int cols) {
  for (int i = 0; i < rows; ++i) {
    float* row = s + size_t(i) * cols;
    float mx = row[0];
    for (int j = 1; j < cols; ++j) mx = std::max(mx, row[j]);
    float sum = 0;
    for (int j = 0; j < cols; ++j) sum += (row[j] = std::exp(row[j] - mx));
    const float inv = 1.0f / sum;
    for (int j = 0; j < cols; ++j) row[j] *= inv;
  }
}

void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) throw Error(std::string(what) + " failed with status " + std::to_string(status));
}

void unfused(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
             int seq_q, int seq_kv, int head_dim, const SdpaOptions& options, Softmax softmax) {
  const char* api = softmax == Softmax::kPlainLoop        ? "onednn_unfused"
                    : softmax == Softmax::kOneDnnPrimitive ? "onednn_unfused_strong"
                                                           : "onednn_gemms_only";
  if (options.causal || options.key_padding_mask ||
      (options.num_kv_heads != 0 && options.num_kv_heads != num_heads))
    throw Error(std::string(api) + ": only non-causal, unmasked attention without GQA is supported");
  if (batch <= 0 || num_heads <= 0 || seq_q <= 0 || seq_kv <= 0 || head_dim <= 0)
    throw Error(std::string(api) + ": sizes must be positive");
  const float scale = options.scale != 0.0f ? options.scale : 1.0f / std::sqrt(float(head_dim));
  const int heads = batch * num_heads;
  // One thread per core, as attune (0 = all cores) and the FMA peak use.
  const int threads = int(std::max(1u, std::thread::hardware_concurrency()));

  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const dnnl::memory::desc scores_md({seq_q, seq_kv}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);

  // Errors are collected per thread: an exception must not leave an OpenMP region.
  std::vector<std::string> errors(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads)
  try {
    attune::reference::AlignedVector<float> scores(size_t(seq_q) * seq_kv);  // per-thread scratch, [seq_q, seq_kv]
    // Each thread creates its own softmax primitive: with oneDNN's default (shared) scratchpad a
    // primitive must run on the thread that created it. Repeats hit oneDNN's primitive cache.
    dnnl::stream stream(engine);
    dnnl::memory scores_mem(scores_md, engine, scores.data());
    dnnl::softmax_v2_forward softmax_prim;
    if (softmax == Softmax::kOneDnnPrimitive)
      softmax_prim = dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(
          dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                         scores_md, scores_md, /*axis=*/1),
          engine));
#pragma omp for schedule(static) nowait  // no barrier here: a thread that throws cannot reach one
    for (int bh = 0; bh < heads; ++bh) {
      const float* qh = q + size_t(bh) * seq_q * head_dim;
      const float* kh = k + size_t(bh) * seq_kv * head_dim;
      const float* vh = v + size_t(bh) * seq_kv * head_dim;
      float* oh = out + size_t(bh) * seq_q * head_dim;
      // Inside the parallel region oneDNN runs each call on this thread only (no oversubscription).
      check(dnnl_sgemm('N', 'T', seq_q, seq_kv, head_dim, scale, qh, head_dim, kh, head_dim, 0.0f, scores.data(),
                       seq_kv),
            "dnnl_sgemm(Q, K^T)");
      if (softmax == Softmax::kPlainLoop) {
        softmax_rows(scores.data(), seq_q, seq_kv);
      } else if (softmax == Softmax::kOneDnnPrimitive) {
        softmax_prim.execute(stream, {{DNNL_ARG_SRC, scores_mem}, {DNNL_ARG_DST, scores_mem}});  // in place
        stream.wait();
      }
      check(dnnl_sgemm('N', 'N', seq_q, head_dim, seq_kv, 1.0f, scores.data(), seq_kv, vh, head_dim, 0.0f, oh,
                       head_dim),
            "dnnl_sgemm(P, V)");
    }
  } catch (const std::exception& e) {
    // The thread skips its remaining heads; the call reports the error after the region.
    errors[size_t(omp_get_thread_num())] = e.what();
  }
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(std::string(api) + ": " + e);
}

}  // namespace

void onednn_gemms_only(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
                       int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  unfused(q, k, v, out, batch, num_heads, seq_q, seq_kv, head_dim, options, Softmax::kNone);
}

void onednn_unfused(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
                    int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  unfused(q, k, v, out, batch, num_heads, seq_q, seq_kv, head_dim, options, Softmax::kPlainLoop);
}

void onednn_unfused_strong(const float* q, const float* k, const float* v, float* out, int batch,
                           int num_heads, int seq_q, int seq_kv, int head_dim, const SdpaOptions& options) {
  unfused(q, k, v, out, batch, num_heads, seq_q, seq_kv, head_dim, options, Softmax::kOneDnnPrimitive);
}

}  // namespace attune::bench

namespace attune::bench {

void onednn_mha(const float* x, float* out, int batch, int seq, int model_dim, int heads,
                const float* w_q, const float* w_k, const float* w_v, const float* w_o,
                const float* b_q, const float* b_k, const float* b_v, const float* b_o) {
  const int rows = batch * seq, D = model_dim / heads;
  const size_t n = size_t(rows) * model_dim;
  attune::reference::AlignedVector<float> proj(n), q(n), k(n), v(n), o(n), merged(n);
  // y = x·Wᵀ + b, then [B, S, H, D] -> [B, H, S, D].
  auto project_to_heads = [&](const float* w, const float* b, attune::reference::AlignedVector<float>& dst) {
    dnnl_sgemm('N', 'T', rows, model_dim, model_dim, 1.0f, x, model_dim, w, model_dim, 0.0f, proj.data(), model_dim);
#pragma omp parallel for
    for (int r = 0; r < rows; ++r)
      for (int f = 0; f < model_dim; ++f) {
        const int bb = r / seq, s = r % seq, h = f / D, d = f % D;
        dst[((size_t(bb) * heads + h) * seq + s) * D + d] = proj[size_t(r) * model_dim + f] + b[f];
      }
  };
  project_to_heads(w_q, b_q, q);
  project_to_heads(w_k, b_k, k);
  project_to_heads(w_v, b_v, v);
  onednn_unfused_strong(q.data(), k.data(), v.data(), o.data(), batch, heads, seq, seq, D, SdpaOptions{});
#pragma omp parallel for
  for (int r = 0; r < rows; ++r)
    for (int f = 0; f < model_dim; ++f) {
      const int bb = r / seq, s = r % seq, h = f / D, d = f % D;
      merged[size_t(r) * model_dim + f] = o[((size_t(bb) * heads + h) * seq + s) * D + d];
    }
  dnnl_sgemm('N', 'T', rows, model_dim, model_dim, 1.0f, merged.data(), model_dim, w_o, model_dim, 0.0f, out, model_dim);
#pragma omp parallel for
  for (int r = 0; r < rows; ++r)
    for (int f = 0; f < model_dim; ++f) out[size_t(r) * model_dim + f] += b_o[f];
}

}  // namespace attune::bench
