// Halide 14's autoschedulers on attune's own sdpa generator (head_dim 64, non-causal), AOT-
// compiled for the same AVX-512 target as attune's kernels: the baselines the tuner must beat.
// Their schedules are made for the generator's estimates (B=1, H=8, S=1024); other options
// (causal, mask, GQA) or a failing kernel throw attune::Error. Same signature as attune::sdpa.
#pragma once

#include <attune/attention.h>

namespace attune::bench {

void halide_mullapudi2016(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
                          int seq_q, int seq_kv, int head_dim, const SdpaOptions& options = {});
void halide_li2018(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
                   int seq_q, int seq_kv, int head_dim, const SdpaOptions& options = {});
void halide_adams2019(const float* q, const float* k, const float* v, float* out, int batch, int num_heads,
                      int seq_q, int seq_kv, int head_dim, const SdpaOptions& options = {});

}  // namespace attune::bench
