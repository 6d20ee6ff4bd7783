// Generator "linear": y = x·Wᵀ + b for the multi-head attention projections (see
// linear_algorithm.h for the (inner, s, h, b) views). Schedule from a Config.
#include "Halide.h"

#include "generators/generator_util.h"
#include "generators/linear_algorithm.h"
#include "schedules/apply.h"

namespace {

using namespace Halide;
using namespace attune::generators;

class LinearGenerator : public Generator<LinearGenerator> {
 public:
  GeneratorParam<std::string> config{"config", ""};

  Input<Buffer<float>> x{"x", 4};        // (c, s, hx, b)
  Input<Buffer<float>> w{"w", 3};        // (k, n, hy): [out_features, in_features] row-major, per output head
  Input<Buffer<float>> bias{"bias", 2};  // (n, hy)
  Output<Buffer<float>> y{"y", 4};       // (n, s, hy, b)

  void generate() {
    const auto cfg = resolve_config("linear", config, get_target(), 0, false);
    funcs_ = define_linear(x, x.dim(0).extent(), x.dim(2).extent(), w, bias, w.dim(1).extent(), int(cfg.get("width")));
    y = funcs_.out;
    constrain_rows(x, 0);
    constrain_rows(y, 0);
    w.dim(0).set_min(0).set_stride(1);
    w.dim(1).set_min(0).set_stride(w.dim(0).extent());
    w.dim(2).set_min(0);
    bias.dim(0).set_min(0).set_stride(1);
    bias.dim(1).set_min(0);
    x.set_estimates({{0, 512}, {0, 1024}, {0, 1}, {0, 1}});
    w.set_estimates({{0, 512}, {0, 64}, {0, 8}});
    bias.set_estimates({{0, 64}, {0, 8}});
    y.set_estimates({{0, 64}, {0, 1024}, {0, 8}, {0, 1}});
    if (!get_auto_schedule()) attune::schedules::apply_linear_cpu(cfg, funcs_, get_target());
  }

 private:
  LinearFuncs funcs_;
};

}  // namespace

HALIDE_REGISTER_GENERATOR(LinearGenerator, linear)
