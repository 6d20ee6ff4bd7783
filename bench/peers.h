// Unfused attention peers built on oneDNN: QKᵀ GEMM, softmax, PV GEMM, threads over heads.
#pragma once

namespace attune::bench {

enum class Softmax { kPlainLoop, kOneDnnPrimitive };

// Same layout as attune::sdpa (non-causal, no mask, num_kv_heads == num_heads).
void onednn_unfused(const float* q, const float* k, const float* v, float* out, int batch,
                    int heads, int seq_q, int seq_kv, int head_dim, Softmax softmax);

}  // namespace attune::bench
