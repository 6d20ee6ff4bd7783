// Unfused attention peers built on oneDNN, per (batch, head): S = Q·Kᵀ·scale (dnnl_sgemm),
// P = softmax(S), O = P·V (dnnl_sgemm); threads over heads. Same signature and layout as
// attune::sdpa, so the benchmark treats all implementations alike. They support options.scale
// only: causal, a key-padding mask or GQA throw attune::Error (as an unsupported option does
// in attune).
#pragma once

#include <attune/attention.h>

namespace attune::bench {

// "oneDNN-unfused": softmax as a plain C++ loop (row max, exp and sum, normalise).
void onednn_unfused(const float* q, const float* k, const float* v, float* out, int batch,
                    int num_heads, int seq_q, int seq_kv, int head_dim, const SdpaOptions& options = {});

// "oneDNN-unfused-strong": softmax by oneDNN's primitive (softmax_accurate over the last axis),
// what a careful oneDNN user writes.
void onednn_unfused_strong(const float* q, const float* k, const float* v, float* out, int batch,
                           int num_heads, int seq_q, int seq_kv, int head_dim,
                           const SdpaOptions& options = {});

// Not attention: the same two GEMMs per head without the softmax (the scores go straight into
// PV). The speed oneDNN's GEMMs reach on these shapes on this machine: a practical ceiling for
// any attention built on GEMMs, next to the FMA peak (which no memory traffic limits).
void onednn_gemms_only(const float* q, const float* k, const float* v, float* out, int batch,
                       int num_heads, int seq_q, int seq_kv, int head_dim, const SdpaOptions& options = {});

}  // namespace attune::bench

namespace attune::bench {

// The multi-head attention layer from oneDNN GEMMs: Q/K/V projections (dnnl_sgemm + bias),
// head split, onednn_unfused attention, head merge, output projection. nn.Linear weights.
void onednn_mha(const float* x, float* out, int batch, int seq, int model_dim, int heads,
                const float* w_q, const float* w_k, const float* w_v, const float* w_o,
                const float* b_q, const float* b_k, const float* b_v, const float* b_o);

}  // namespace attune::bench
