#include "linear_algorithm.h"

namespace attune::generators {

using namespace Halide;

LinearFuncs define_linear(Func x, Expr in_inner, Expr in_heads, Func w, Func bias) {
  LinearFuncs f;
  Var n = f.n, s = f.s, h = f.h, b = f.b, k = f.k;
  f.wt(n, k, h) = w(k, n, h);
  f.r = RDom(0, in_inner, 0, in_heads, "r");
  f.dot(n, s, h, b) = 0.0f;
  f.dot(n, s, h, b) += x(f.r.x, s, f.r.y, b) * f.wt(n, f.r.y * in_inner + f.r.x, h);
  f.out(n, s, h, b) = f.dot(n, s, h, b) + bias(n, h);
  return f;
}

}  // namespace attune::generators
