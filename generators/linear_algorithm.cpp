#include "linear_algorithm.h"

namespace attune::generators {

using namespace Halide;

LinearFuncs define_linear(Func x, Expr in_inner, Expr in_heads, Func w, Func bias, Expr out_inner, int panel) {
  LinearFuncs f;
  Var n = f.n, s = f.s, h = f.h, b = f.b, k = f.k, nI = f.nI, nO = f.nO;
  f.panel = panel;
  f.wt(nI, k, nO, h) = w(k, min(nO * panel + nI, out_inner - 1), h);
  f.r = RDom(0, in_inner, 0, in_heads, "r");
  f.dot(n, s, h, b) = 0.0f;
  f.dot(n, s, h, b) += x(f.r.x, s, f.r.y, b) * f.wt(n % panel, f.r.y * in_inner + f.r.x, n / panel, h);
  f.out(n, s, h, b) = f.dot(n, s, h, b) + bias(n, h);
  return f;
}

}  // namespace attune::generators
