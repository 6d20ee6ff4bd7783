// The SDPA algorithm as Halide Funcs, shared by the generator (AOT build and the tuner's
// candidate builds). No scheduling here: schedules::apply() decides loops and storage.
#pragma once

#include "Halide.h"

#include "schedules/config.h"

namespace attune::generators {

// Halide dimension order is the reverse of the row-major API order:
// q(d, i, h, b), k/v(d, j, hk, b), mask(j, b), out(d, i, h, b).
struct SdpaInputs {
  Halide::Func q, k, v, mask;
  Halide::Expr head_dim, seq_q, seq_kv, num_heads, num_kv_heads, scale;
  bool causal = false, has_mask = false;
};

// Scores below this are "masked": a row whose max is below it has no visible key.
constexpr float kMaskedScore = -1e30f;

struct SdpaFuncs {
  Halide::Var d{"d"}, i{"i"}, j{"j"}, h{"h"}, b{"b"};
  Halide::Func qs;        // (d, i, h, b)  Q rows, clamped to valid rows, times scale
  Halide::Func kt;        // (j, d, hk, b) K transposed: keys contiguous for vector dot products
  Halide::Func dot;       // (j, i, h, b)  qs · kt accumulator (update over rd)
  Halide::Func scores;    // (j, i, h, b)  masked scaled logits, keys padded to a kv_block multiple
  Halide::Func row_max;   // (i, h, b)     update over rk
  Halide::Func exps;      // (j, i, h, b)  exp(scores - row_max)
  Halide::Func row_sum;   // (i, h, b)     update over rk
  Halide::Func pv;        // (d, i, h, b)  exps · v accumulator (update over rv)
  Halide::Func out;       // (d, i, h, b)
  Halide::RDom rd, rk, rv;  // head_dim; padded keys; real keys
};

// Materialised-scores SDPA: per query row, all scores, stable softmax, then PV.
// `kv_block` pads the key range of scores/max/sum so their vector loops have no tails.
SdpaFuncs define_sdpa(const SdpaInputs& in, int kv_block);

}  // namespace attune::generators
