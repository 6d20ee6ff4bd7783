// Linear layer y = x·Wᵀ + b (PyTorch nn.Linear layout, W is [out_features, in_features]) over
// tensors viewed as (inner, s, h, b): a feature index is h * inner + c. The plain layout
// [B, S, F] is (F, S, 1, B); the head layout [B, H, S, D] is (D, S, H, B). So one algorithm
// serves the MHA input projections (plain -> heads) and the output projection (heads -> plain).
#pragma once

#include "Halide.h"

namespace attune::generators {

struct LinearFuncs {
  Halide::Var n{"n"}, s{"s"}, h{"h"}, b{"b"}, k{"k"}, nI{"nI"}, nO{"nO"};
  // W transposed into panels of `panel` output features x all input features, each contiguous
  // (as GEMM libraries pack B): a register tile's walk down the input features streams one
  // panel instead of striding a row of W per step.
  Halide::Func wt;     // (nI, k, nO, h): output feature nO * panel + nI of head h
  int panel = 1;
  Halide::Func dot;    // (n, s, h, b) accumulator over (rc, rh)
  Halide::Func out;    // (n, s, h, b)
  Halide::RDom r;      // (c, hx) over the input features
};

// x(c, s, hx, b); w(k, n, hy) is W viewed per output head (feature hy * inner + n), likewise
// bias(n, hy); out_inner: output features per head (W's rows per head, for the panels' clamp);
// panel: output features per W panel (the schedule's register tile width).
LinearFuncs define_linear(Halide::Func x, Halide::Expr in_inner, Halide::Expr in_heads, Halide::Func w,
                          Halide::Func bias, Halide::Expr out_inner, int panel);

}  // namespace attune::generators
