// Generator "sdpa": fp32 scaled dot-product attention, out = softmax(q·kᵀ·scale)·v.
// Generator params fix the variant (head_dim, causal, mask); `config` is the schedule
// (a schedules::Config as JSON; empty = the space's default for the target).
#include "Halide.h"

#include "generators/generator_util.h"
#include "generators/sdpa_algorithm.h"
#include "schedules/apply.h"

namespace {

using namespace Halide;
using namespace attune::generators;

class SdpaGenerator : public Generator<SdpaGenerator> {
 public:
  GeneratorParam<int> head_dim{"head_dim", 64};  // 0 = any head_dim
  GeneratorParam<bool> causal{"causal", false};
  GeneratorParam<bool> has_mask{"has_mask", false};
  GeneratorParam<bool> decode{"decode", false};  // default schedule for seq_q <= 16 (split-KV)
  GeneratorParam<std::string> config{"config", ""};

  Input<Buffer<float>> q{"q", 4};          // (d, i, h, b)
  Input<Buffer<float>> k{"k", 4};          // (d, j, hk, b)
  Input<Buffer<float>> v{"v", 4};          // (d, j, hk, b)
  Input<Buffer<uint8_t>> mask{"mask", 2};  // (j, b); unused unless has_mask
  Input<float> scale{"scale"};
  Output<Buffer<float>> out{"out", 4};     // (d, i, h, b)

  void generate() {
    const auto cfg = resolve_config("sdpa", config, get_target(), head_dim, causal, decode);
    SdpaInputs in = sdpa_inputs(q, k, v, mask, scale, head_dim, causal, has_mask);
    const SdpaShapeParams shape = shape_params(cfg, head_dim);
    funcs_ = define_sdpa(in, SdpaAlgorithm(cfg.get("algorithm")), shape);
    out = funcs_.out;

    for (auto* buf : {&q, &k, &v}) constrain_rows(*buf, head_dim);
    constrain_rows(out, head_dim);
    set_estimates();
    if (!get_auto_schedule()) attune::schedules::apply_sdpa(cfg, funcs_, get_target());
  }

 private:
  SdpaFuncs funcs_;

  // Estimates for Halide's autoschedulers (the tuner's baselines): B=1, H=8, S=1024.
  void set_estimates() {
    const int D = head_dim > 0 ? int(head_dim) : 64;
    for (auto* buf : {&q, &k, &v}) buf->set_estimates({{0, D}, {0, 1024}, {0, 8}, {0, 1}});
    mask.set_estimates({{0, 1024}, {0, 1}});
    scale.set_estimate(0.125f);
    out.set_estimates({{0, D}, {0, 1024}, {0, 8}, {0, 1}});
  }
};

}  // namespace

HALIDE_REGISTER_GENERATOR(SdpaGenerator, sdpa)
