#include "sdpa_algorithm.h"

#include <algorithm>
#include <cmath>

namespace attune::generators {

using namespace Halide;

namespace {

// 0 where query i may attend key j, kMaskedScore elsewhere (keys past seq_kv included).
// Added to the scores rather than select(visible, dot, ...): Halide would trim dot's bounds
// to the select's condition, and the register-blocked dot needs constant-size blocks.
Expr mask_bias(const SdpaInputs& in, Expr j, Expr i, Expr b) {
  Expr visible = j < in.seq_kv;
  if (in.causal) visible = visible && j <= i + (in.seq_kv - in.seq_q);  // bottom-right aligned
  if (in.has_mask) visible = visible && in.mask(clamp(j, 0, in.seq_kv - 1), b) != 0;
  return select(visible, 0.0f, kMaskedScore);
}

// 2^x for x <= 0 (a score minus a running or row max, in log2 units): round(x) via the
// 1.5*2^23 trick, 2^fraction by a degree-5 minimax polynomial on [-0.5, 0.5] (relative error
// < 2.3e-7, ~2 ulp; oneDNN's exp is degree 5 too), 2^round(x) built directly in the exponent
// bits. About half the vector instructions of Halide's exp (which rounds with a split vroundps
// and selects around under/overflow); softmax spends a tenth of its time here, and Cephes'
// degree-6 polynomial with round(x) through an int conversion cost ~2% more at S=32768. x <=
// -127 (masked keys) gives exactly 0.
Expr exp2_nonpositive(Expr x) {
  Expr t = max(x, -127.0f);
  // round(t) sits in the low mantissa bits of r, and r - 1.5*2^23 is round(t) exactly. Strict:
  // Halide's simplifier would cancel the two additions (and fold constants across f below).
  Expr r = strict_float(t + 12582912.0f);
  Expr f = strict_float(t - (r - 12582912.0f));  // [-0.5, 0.5]
  Expr p = 1.327646896e-3f;
  for (float c : {9.675542824e-3f, 5.550713465e-2f, 2.402212024e-1f, 6.931469440e-1f})
    p = p * f + c;
  p = p * f + 1.000000119f;
  // (round(t) + 127) << 23 is 2^round(t) (the high bits of r shift out); round(t) = -127: 0.0f.
  // Unsigned, so the bit arithmetic may wrap.
  return p * reinterpret<float>((reinterpret<uint32_t>(r) + cast<uint32_t>(127)) << 23);
}

// KV blocks of kv_block keys covering the keys (the last one padded; padded keys are masked).
Expr num_kv_blocks(const SdpaInputs& in, Expr kv_block) { return (in.seq_kv + kv_block - 1) / kv_block; }

void define_materialized(const SdpaInputs& in, const SdpaShapeParams& p, SdpaFuncs& f) {
  Var d = f.d, i = f.i, j = f.j, h = f.h, b = f.b;
  Expr group = in.num_heads / in.num_kv_heads;
  Expr kv_pad = num_kv_blocks(in, p.kv_block) * p.kv_block;

  f.dot(j, i, h, b) = 0.0f;
  f.dot(j, i, h, b) += f.qs(f.rd, i, h, b) * f.k_t(j, f.rd, h / group, b);
  f.scores(j, i, h, b) = f.dot(j, i, h, b) + mask_bias(in, j, i, b);

  // Causal: the keys a tile of q_tile query rows can see end at its last row's diagonal
  // (bottom-right aligned). The reductions stop there, in whole kv_blocks, so Halide trims each
  // tile's scores, exps and PV to that prefix: the work above the diagonal is skipped, not
  // masked. The bound is the same for all rows of a tile, so loops are trimmed, not predicated.
  auto visible_keys = [&](Expr tile) {  // keys of query tile `tile` not above the diagonal
    Expr last_key = tile * p.q_tile + (p.q_tile - 1) + (in.seq_kv - in.seq_q);
    return clamp((last_key / p.kv_block + 1) * p.kv_block, 0, kv_pad);  // floor division
  };
  f.rk = RDom(0, kv_pad, "rk");
  // In whole vectors (visible_keys is a kv_block multiple): the row statistics' rfactor splits
  // rk into vector lanes, which then share the condition (one trimmed loop, not a predicate
  // per lane).
  if (in.causal) f.rk.where(f.rk / p.k_panel < visible_keys(i / p.q_tile) / p.k_panel);
  f.row_max(i, h, b) = kMaskedScore;
  f.row_max(i, h, b) = max(f.row_max(i, h, b), f.scores(f.rk, i, h, b));
  f.exps(j, i, h, b) = exp2_nonpositive(f.scores(j, i, h, b) - f.row_max(i, h, b));
  f.row_sum(i, h, b) = 0.0f;
  f.row_sum(i, h, b) += f.exps(f.rk, i, h, b);

  const int KB = p.pv_kblock;
  if (KB == 0) {
    f.rv = RDom(0, in.seq_kv, "rv");
    if (in.causal) f.rv.where(f.rv < visible_keys(i / p.q_tile));
    f.pv(d, i, h, b) = 0.0f;
    f.pv(d, i, h, b) += f.exps(f.rv, i, h, b) * in.v(d, f.rv, h / group, b);
  } else {
    // PV in blocks of KB keys, accumulated per query tile: pvt(d, ii, it) sums the blocks'
    // partials pvb. Indexed by tile `it` (as flash's state), the keys a tile sees are a bound
    // of its pure vars, so Halide trims each block's key loop to them (blocks past the end run
    // zero keys) rather than predicating per row.
    Var kb = f.kb, ii = f.ii, it = f.it;
    const int T = p.q_tile;
    Expr row = it * T + ii;
    f.rvb = RDom(0, KB, "rvb");
    Expr key = kb * KB + f.rvb;
    f.rvb.where(key < (in.causal ? min(visible_keys(it), in.seq_kv) : in.seq_kv));
    f.pvb(d, kb, ii, it, h, b) = 0.0f;
    // The where clause keeps key < seq_kv; bounds inference, taking kb and rvb apart, would
    // not see it (and a clamp would cost scalar work per key in the inner loop).
    Expr v_key = unsafe_promise_clamped(key, 0, in.seq_kv - 1);
    f.pvb(d, kb, ii, it, h, b) += f.exps(key, row, h, b) * in.v(d, v_key, h / group, b);
    f.rv = RDom(0, (in.seq_kv + KB - 1) / KB, "rv");
    f.pvt(d, ii, it, h, b) = 0.0f;
    f.pvt(d, ii, it, h, b) += f.pvb(d, f.rv, ii, it, h, b);
    f.pv(d, i, h, b) = f.pvt(d, i % T, i / T, h, b);
  }

  Expr any_visible = f.row_max(i, h, b) > kMaskedScore * 0.5f;
  f.probs(j, i, h, b) = select(any_visible, f.exps(j, i, h, b) / f.row_sum(i, h, b), 0.0f);
  f.out(d, i, h, b) = select(any_visible, f.pv(d, i, h, b) / f.row_sum(i, h, b), 0.0f);
}

// Per KV block kb of KB keys: block scores, block max, exps, sum and PV (block-local softmax).
// Rows (i, h) are query row i of head h, or with f.pack_group packed row i of KV head h.
void define_kv_blocks(const SdpaInputs& in, Expr KB, bool trim_pv, SdpaFuncs& f) {
  Var d = f.d, i = f.i, h = f.h, b = f.b, jj = f.jj, kb = f.kb;
  Expr group = in.num_heads / in.num_kv_heads;
  Expr key = kb * KB + jj;
  Func q = f.qs;
  Expr q_row = i, kv_head = h / group;
  if (f.pack_group) {
    // Rows past the group (register tiles round up) read its last row.
    Expr r = clamp(i, 0, group * in.seq_q - 1);
    f.qp(d, i, h, b) = f.qs(d, r % in.seq_q, h * group + r / in.seq_q, b);
    q = f.qp;
    q_row = i % in.seq_q;
    kv_head = h;
  }

  f.bdot(jj, kb, i, h, b) = 0.0f;
  f.bdot(jj, kb, i, h, b) += q(f.rd, i, h, b) * f.k_t(key, f.rd, kv_head, b);
  Func& bscore = f.bscore;
  bscore(jj, kb, i, h, b) = f.bdot(jj, kb, i, h, b) + mask_bias(in, key, q_row, b);

  f.rjj = RDom(0, KB, "rjj");
  f.bmax(kb, i, h, b) = kMaskedScore;
  f.bmax(kb, i, h, b) = max(f.bmax(kb, i, h, b), bscore(f.rjj, kb, i, h, b));
  f.bexp(jj, kb, i, h, b) = exp2_nonpositive(bscore(jj, kb, i, h, b) - f.bmax(kb, i, h, b));
  f.bsum(kb, i, h, b) = 0.0f;
  f.bsum(kb, i, h, b) += f.bexp(f.rjj, kb, i, h, b);
  // PV over the block's keys; padded keys have bexp == 0 but must not read past V. Trimmed:
  // the where clause cuts the last block's loop short, so the V row index needs no clamp (flash:
  // a clamp per key was 8 scalar instructions beside the 12 FMAs of the inner loop). Else a
  // constant trip count and a clamped index (split-KV decode, memory-bound: measured 0-7%
  // faster so).
  Expr vkey;
  if (trim_pv) {
    f.rpv = RDom(0, KB, "rpv");
    f.rpv.where(kb * KB + f.rpv < in.seq_kv);
    vkey = unsafe_promise_clamped(kb * KB + f.rpv, 0, in.seq_kv - 1);
  } else {
    f.rpv = f.rjj;
    vkey = clamp(kb * KB + f.rpv, 0, in.seq_kv - 1);
  }
  f.bpv(d, kb, i, h, b) = 0.0f;
  f.bpv(d, kb, i, h, b) += f.bexp(f.rpv, kb, i, h, b) * in.v(d, vkey, kv_head, b);
}

// Online softmax: per KV block, block-local max/exp/sum/PV; the running state rescales
// itself and the block by 2^-|running max - block max| (one of the two factors is 1).
// Blocks of pv_kblock keys (a multiple of the register tile's kv_block; 0: one register tile
// per block): a long block amortises the state update, a short one keeps its scores in L1.
void define_flash(const SdpaInputs& in, const SdpaShapeParams& p, SdpaFuncs& f) {
  Var d = f.d, i = f.i, h = f.h, b = f.b, ii = f.ii, it = f.it;
  const int KB = p.pv_kblock > 0 ? p.pv_kblock : p.kv_block, T = p.q_tile;
  define_kv_blocks(in, KB, /*trim_pv=*/true, f);

  // Blocks entirely above the causal diagonal of tile `it` are not visited at all.
  f.rb = RDom(0, num_kv_blocks(in, KB), "rb");
  if (in.causal) f.rb.where(f.rb * KB <= it * T + (T - 1) + (in.seq_kv - in.seq_q));
  Expr row = it * T + ii;
  f.state(d, ii, it, h, b) = Tuple(0.0f, kMaskedScore, 0.0f);
  Expr acc = f.state(d, ii, it, h, b)[0], m = f.state(d, ii, it, h, b)[1],
       l = f.state(d, ii, it, h, b)[2];
  Expr bm = f.bmax(f.rb, row, h, b);
  Expr alpha = exp2_nonpositive(-abs(m - bm));
  Expr keep_old = m >= bm;
  Expr a_old = select(keep_old, 1.0f, alpha), a_blk = select(keep_old, alpha, 1.0f);
  f.state(d, ii, it, h, b) = Tuple(acc * a_old + f.bpv(d, f.rb, row, h, b) * a_blk, max(m, bm),
                                   l * a_old + f.bsum(f.rb, row, h, b) * a_blk);

  Expr s_acc = f.state(d, i % T, i / T, h, b)[0], s_m = f.state(d, i % T, i / T, h, b)[1],
       s_l = f.state(d, i % T, i / T, h, b)[2];
  f.out(d, i, h, b) = select(s_m > kMaskedScore * 0.5f, s_acc / s_l, 0.0f);
}

// Split-KV: chunks of kv_block keys are independent partial softmaxes, combined by weight
// 2^(chunk max - global max). Chunks can run in parallel: decode's parallelism.
void define_split_kv(const SdpaInputs& in, const SdpaShapeParams& p, SdpaFuncs& f) {
  Var d = f.d, i = f.i, h = f.h, b = f.b, kb = f.kb;
  f.pack_group = p.pack_group;
  // Chunks of kv_block keys; where all keys fit in one, a chunk only as long as the keys, in
  // whole units of up to 64 (the QK register tile's width): decode at 16 keys computed a chunk
  // of 1024 (~60x the work), and short contexts are where generation starts.
  const int unit = std::min(64, p.kv_block & -p.kv_block);
  f.full_chunks = in.seq_kv >= p.kv_block;
  Expr chunk_keys = min(p.kv_block / unit, (in.seq_kv + unit - 1) / unit) * unit;
  define_kv_blocks(in, chunk_keys, /*trim_pv=*/false, f);
  // A chunk's partial in one stage (its PV, max and sum): the schedule computes the chunk's
  // scores and softmax inside it, once.
  f.chunk(d, kb, i, h, b) = Tuple(f.bpv(d, kb, i, h, b), f.bmax(kb, i, h, b), f.bsum(kb, i, h, b));
  auto chunk_max = [&](Expr c) { return f.chunk(0, c, i, h, b)[1]; };
  f.rc = RDom(0, num_kv_blocks(in, chunk_keys), "rc");
  f.global_max(i, h, b) = kMaskedScore;
  f.global_max(i, h, b) = max(f.global_max(i, h, b), chunk_max(f.rc));
  f.chunk_weight(kb, i, h, b) = exp2_nonpositive(chunk_max(kb) - f.global_max(i, h, b));
  f.numerator(d, i, h, b) = 0.0f;
  f.numerator(d, i, h, b) += f.chunk_weight(f.rc, i, h, b) * f.chunk(d, f.rc, i, h, b)[0];
  f.denominator(i, h, b) = 0.0f;
  f.denominator(i, h, b) += f.chunk_weight(f.rc, i, h, b) * f.chunk(0, f.rc, i, h, b)[2];
  // Back from packed rows: query row i of head h is row (h % group) * seq_q + i of KV head h / group.
  Expr r = i, hr = h;
  if (f.pack_group) {
    r = (h % f.group) * in.seq_q + i;
    hr = h / f.group;
  }
  Expr any_visible = f.global_max(r, hr, b) > kMaskedScore * 0.5f;
  f.out(d, i, h, b) = select(any_visible, f.numerator(d, r, hr, b) / f.denominator(r, hr, b), 0.0f);
}

}  // namespace

SdpaFuncs define_sdpa(const SdpaInputs& in, SdpaAlgorithm algorithm, const SdpaShapeParams& p) {
  SdpaFuncs f;
  f.algorithm = algorithm;
  f.static_head_dim = p.head_dim;
  f.group = in.num_heads / in.num_kv_heads;
  f.k_panel = p.k_panel;
  f.v = in.v;
  Var d = f.d, i = f.i, j = f.j, h = f.h, b = f.b;
  Var hk("hk");
  // Scores in log2 units (scale·log2(e) folded into Q): softmax then needs 2^x, not e^x.
  f.qs(d, i, h, b) = in.q(d, clamp(i, 0, in.seq_q - 1), h, b) * (in.scale * float(M_LOG2E));
  Var jI("jI"), jO("jO");
  f.kt(jI, d, jO, hk, b) = in.k(d, clamp(jO * p.k_panel + jI, 0, in.seq_kv - 1), hk, b);
  f.rd = RDom(0, in.head_dim, "rd");
  switch (algorithm) {
    case SdpaAlgorithm::kMaterialized: define_materialized(in, p, f); break;
    case SdpaAlgorithm::kFlash: define_flash(in, p, f); break;
    case SdpaAlgorithm::kSplitKv: define_split_kv(in, p, f); break;
  }
  return f;
}

}  // namespace attune::generators
