// Generator "attention_probs": the attention weights softmax(q·kᵀ·scale) for interpretability.
// Same signature as "sdpa" (v is accepted and unused) so one registry and one runner serve
// both; out is (j, i, h, b), each row summing to 1 or all zeros when no key is visible.
#include "Halide.h"

#include "generators/generator_util.h"
#include "generators/sdpa_algorithm.h"
#include "schedules/apply.h"

namespace {

using namespace Halide;
using namespace attune::generators;

class AttentionProbsGenerator : public Generator<AttentionProbsGenerator> {
 public:
  GeneratorParam<int> head_dim{"head_dim", 64};  // 0 = any head_dim
  GeneratorParam<bool> causal{"causal", false};
  GeneratorParam<bool> has_mask{"has_mask", false};
  GeneratorParam<std::string> config{"config", ""};

  Input<Buffer<float>> q{"q", 4};          // (d, i, h, b)
  Input<Buffer<float>> k{"k", 4};          // (d, j, hk, b)
  Input<Buffer<float>> v{"v", 4};          // unused
  Input<Buffer<uint8_t>> mask{"mask", 2};  // (j, b); unused unless has_mask
  Input<float> scale{"scale"};
  Output<Buffer<float>> probs{"probs", 4}; // (j, i, h, b)

  void generate() {
    const auto cfg = resolve_config("attention_probs", config, get_target(), head_dim, causal);
    SdpaInputs in = sdpa_inputs(q, k, k, mask, scale, head_dim, causal, has_mask);
    const SdpaShapeParams shape = shape_params(cfg, head_dim);
    funcs_ = define_sdpa(in, SdpaAlgorithm::kMaterialized, shape);
    probs = funcs_.probs;

    for (auto* buf : {&q, &k, &v}) constrain_rows(*buf, head_dim);
    constrain_rows(probs, 0);
    const int D = head_dim > 0 ? int(head_dim) : 64;
    for (auto* buf : {&q, &k, &v}) buf->set_estimates({{0, D}, {0, 1024}, {0, 8}, {0, 1}});
    mask.set_estimates({{0, 1024}, {0, 1}});
    scale.set_estimate(0.125f);
    probs.set_estimates({{0, 1024}, {0, 1024}, {0, 8}, {0, 1}});
    if (!get_auto_schedule()) attune::schedules::apply_probs_cpu(cfg, funcs_, get_target());
  }

 private:
  SdpaFuncs funcs_;
};

}  // namespace

HALIDE_REGISTER_GENERATOR(AttentionProbsGenerator, attention_probs)
