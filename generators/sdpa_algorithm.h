// The SDPA algorithms as Halide Funcs, shared by the generator (AOT build and the tuner's
// candidate builds). No scheduling here: schedules::apply() decides loops and storage.
#pragma once

#include "Halide.h"

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

// Which algorithm computes the attention (a knob of the schedule space: the tuner decides).
// kSplitKv: the KV sequence cut into chunks computed in parallel (each with its own max, sum
// and PV), combined at the end — for decode (few query rows, long KV cache).
enum class SdpaAlgorithm { kMaterialized = 0, kFlash = 1, kSplitKv = 2 };

struct SdpaFuncs {
  SdpaAlgorithm algorithm = SdpaAlgorithm::kMaterialized;
  int static_head_dim = 0;  // 0: head_dim known only at run time
  Halide::Var d{"d"}, i{"i"}, j{"j"}, h{"h"}, b{"b"};
  Halide::Expr group;     // query heads per KV head (num_heads / num_kv_heads)
  Halide::Func qs;        // (d, i, h, b)  Q rows, clamped to valid rows, times scale
  // K transposed into panels of k_panel keys x head_dim, each contiguous (as GEMM libraries
  // pack B): the QK loop's walk down head_dim for a key block streams through one panel
  // instead of striding seq_kv floats per step (cache sets, TLB). Read it through k_t().
  Halide::Func kt;        // (jI, d, jO, hk, b): key jO * k_panel + jI
  int k_panel = 1;
  Halide::Expr k_t(Halide::Expr key, Halide::Expr d, Halide::Expr hk, Halide::Expr b) const {
    return kt(key % k_panel, d, key / k_panel, hk, b);
  }
  Halide::Func out;       // (d, i, h, b)
  Halide::Func v;         // the V input (schedules may stage it)

  // kMaterialized: all scores of a query row, stable softmax, then PV.
  Halide::Func dot;       // (j, i, h, b)  qs · kt accumulator (update over rd)
  Halide::Func scores;    // (j, i, h, b)  masked scaled logits, keys padded to a kv_block multiple
  Halide::Func row_max;   // (i, h, b)     update over rk
  Halide::Func exps;      // (j, i, h, b)  2^(scores - row_max) (scores in log2 units)
  Halide::Func row_sum;   // (i, h, b)     update over rk
  Halide::Func pv;        // (d, i, h, b)  exps · v accumulator (update over rv)
  // With pv_kblock keys per block, pv reads pvt, the tile's sum over blocks (rv) of pvb.
  Halide::Func pvb;       // (d, kb, ii, it, h, b) exps · v over key block kb (update over rvb)
  Halide::Func pvt;       // (d, ii, it, h, b) row ii of query tile it (update over rv)
  Halide::RDom rvb;
  Halide::Func probs;     // (j, i, h, b)  softmax probabilities (attention weights)
  Halide::RDom rd, rk, rv;  // head_dim; padded keys; real keys

  // kFlash: online softmax over KV blocks of pv_kblock keys for query tiles of q_tile rows.
  Halide::Var jj{"jj"}, kb{"kb"}, ii{"ii"}, it{"it"};
  Halide::Func bdot;      // (jj, kb, i, h, b) block scores accumulator (update over rd)
  Halide::Func bscore;    // (jj, kb, i, h, b) masked scaled block scores
  Halide::Func bmax;      // (kb, i, h, b)     block row max (update over rjj)
  Halide::Func bexp;      // (jj, kb, i, h, b) 2^(score - block max)
  Halide::Func bsum;      // (kb, i, h, b)     (update over rjj)
  Halide::Func bpv;       // (d, kb, i, h, b)  bexp · v block (update over rpv: flash, the block's real keys)
  Halide::Func state;     // (d, ii, it, h, b) Tuple(acc, max, sum), update over rb (KV blocks)
  Halide::RDom rjj, rpv, rb;

  // kSplitKv: the kb blocks above are the chunks; their partials are combined over rc.
  // With pack_group (GQA packing) the blocks' (i, h) are (r, KV head): row r is query row
  // r % seq_q of the KV head's (r / seq_q)-th query head, so one K/V row serves the group.
  bool pack_group = false;
  Halide::Func qp;            // (d, r, hk, b) packed rows of qs
  Halide::Func chunk;         // (d, kb, i, h, b) Tuple(bpv, bmax, bsum) of chunk kb
  Halide::Expr full_chunks;   // true when every chunk is kv_block keys long (constant trip counts)
  Halide::Func chunk_weight;  // (kb, i, h, b) 2^(chunk max - global max)
  Halide::Func global_max;    // (i, h, b) update over rc
  Halide::Func numerator;     // (d, i, h, b) update over rc
  Halide::Func denominator;   // (i, h, b) update over rc
  Halide::RDom rc;
};

struct SdpaShapeParams {
  int kv_block = 64;  // keys per block (padding granule of the materialised kernel)
  int q_tile = 32;    // query rows per tile (flash state granule)
  int head_dim = 64;  // compile-time head_dim, 0 = any (read from the buffers)
  int k_panel = 1;    // keys per K panel (SdpaFuncs::kt): the vector width
  int pv_kblock = 0;  // keys per PV block: materialised (0 = one pass over all keys), flash (0 = kv_block)
  bool pack_group = false;  // split-KV: a KV head's query heads are the rows of its blocks
};

SdpaFuncs define_sdpa(const SdpaInputs& in, SdpaAlgorithm algorithm, const SdpaShapeParams& p);

}  // namespace attune::generators
