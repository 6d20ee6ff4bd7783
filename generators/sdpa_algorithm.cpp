#include "sdpa_algorithm.h"

namespace attune::generators {

using namespace Halide;

SdpaFuncs define_sdpa(const SdpaInputs& in, int kv_block) {
  SdpaFuncs f;
  Var d = f.d, i = f.i, j = f.j, h = f.h, b = f.b;
  Var hk("hk");
  Expr group = in.num_heads / in.num_kv_heads;  // GQA: query heads per KV head
  Expr kv_pad = (in.seq_kv + kv_block - 1) / kv_block * kv_block;

  f.qs(d, i, h, b) = in.q(d, clamp(i, 0, in.seq_q - 1), h, b) * in.scale;
  f.kt(j, d, hk, b) = in.k(d, clamp(j, 0, in.seq_kv - 1), hk, b);

  f.rd = RDom(0, in.head_dim, "rd");
  f.dot(j, i, h, b) = 0.0f;
  f.dot(j, i, h, b) += f.qs(f.rd, i, h, b) * f.kt(j, f.rd, h / group, b);

  Expr visible = j < in.seq_kv;
  if (in.causal) visible = visible && j <= i + (in.seq_kv - in.seq_q);  // bottom-right aligned
  if (in.has_mask) visible = visible && in.mask(clamp(j, 0, in.seq_kv - 1), b) != 0;
  // Additive mask rather than select(visible, dot, ...): Halide would trim dot's bounds to
  // the select's condition, and the register-blocked dot needs constant-size blocks.
  f.scores(j, i, h, b) = f.dot(j, i, h, b) + select(visible, 0.0f, kMaskedScore);

  f.rk = RDom(0, kv_pad, "rk");
  f.row_max(i, h, b) = kMaskedScore;
  f.row_max(i, h, b) = max(f.row_max(i, h, b), f.scores(f.rk, i, h, b));

  f.exps(j, i, h, b) = exp(f.scores(j, i, h, b) - f.row_max(i, h, b));
  f.row_sum(i, h, b) = 0.0f;
  f.row_sum(i, h, b) += f.exps(f.rk, i, h, b);

  f.rv = RDom(0, in.seq_kv, "rv");
  f.pv(d, i, h, b) = 0.0f;
  f.pv(d, i, h, b) += f.exps(f.rv, i, h, b) * in.v(d, f.rv, h / group, b);

  Expr any_visible = f.row_max(i, h, b) > kMaskedScore * 0.5f;
  f.out(d, i, h, b) = select(any_visible, f.pv(d, i, h, b) / f.row_sum(i, h, b), 0.0f);
  return f;
}

}  // namespace attune::generators
