#include "peers.h"

#include <dnnl.hpp>
#include <omp.h>

#include <cmath>
#include <vector>

namespace attune::bench {

namespace {

void softmax_rows(float* s, int rows, int cols) {
  for (int i = 0; i < rows; ++i) {
    float* r = s + size_t(i) * cols;
    float mx = r[0];
    for (int j = 1; j < cols; ++j) mx = std::max(mx, r[j]);
    float sum = 0;
    for (int j = 0; j < cols; ++j) sum += (r[j] = std::exp(r[j] - mx));
    const float inv = 1.0f / sum;
    for (int j = 0; j < cols; ++j) r[j] *= inv;
  }
}

}  // namespace

void onednn_unfused(const float* q, const float* k, const float* v, float* out, int batch,
                    int heads, int seq_q, int seq_kv, int head_dim, Softmax softmax) {
  const float scale = 1.0f / std::sqrt(float(head_dim));
  const int n = batch * heads;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  // oneDNN (OpenMP build) runs each sgemm single-threaded inside our parallel loop over heads.
#pragma omp parallel
  {
    std::vector<float> s(size_t(seq_q) * seq_kv);
    dnnl::stream strm(eng);
    dnnl::memory::desc md({seq_q, seq_kv}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
    // oneDNN 2.6 (Debian bookworm) API: softmax over axis 1 of [seq_q, seq_kv].
    dnnl::softmax_forward::desc sd(dnnl::prop_kind::forward_inference, md, 1);
    dnnl::softmax_forward::primitive_desc pd(sd, eng);
    dnnl::softmax_forward prim(pd);
    dnnl::memory mem(md, eng, s.data());
#pragma omp for schedule(static)
    for (int bh = 0; bh < n; ++bh) {
      const float* qh = q + size_t(bh) * seq_q * head_dim;
      const float* kh = k + size_t(bh) * seq_kv * head_dim;
      const float* vh = v + size_t(bh) * seq_kv * head_dim;
      float* oh = out + size_t(bh) * seq_q * head_dim;
      dnnl_sgemm('N', 'T', seq_q, seq_kv, head_dim, scale, qh, head_dim, kh, head_dim, 0.0f, s.data(), seq_kv);
      if (softmax == Softmax::kPlainLoop) {
        softmax_rows(s.data(), seq_q, seq_kv);
      } else {
        prim.execute(strm, {{DNNL_ARG_SRC, mem}, {DNNL_ARG_DST, mem}});
        strm.wait();
      }
      dnnl_sgemm('N', 'N', seq_q, head_dim, seq_kv, 1.0f, s.data(), seq_kv, vh, head_dim, 0.0f, oh, head_dim);
    }
  }
}

}  // namespace attune::bench
