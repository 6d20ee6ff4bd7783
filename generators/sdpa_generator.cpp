// Generator "sdpa": fp32 scaled dot-product attention.
// Generator params fix the variant (head_dim, causal, mask); `config` is the schedule
// (a schedules::Config as JSON; empty = the target's default).
#include "Halide.h"

#include "attune/attention.h"

#include "generators/sdpa_algorithm.h"
#include "schedules/apply.h"

namespace {

using namespace Halide;

class SdpaGenerator : public Generator<SdpaGenerator> {
 public:
  GeneratorParam<int> head_dim{"head_dim", 64};
  GeneratorParam<bool> causal{"causal", false};
  GeneratorParam<bool> has_mask{"has_mask", false};
  GeneratorParam<std::string> config{"config", ""};

  Input<Buffer<float>> q{"q", 4};              // (d, i, h, b)
  Input<Buffer<float>> k{"k", 4};              // (d, j, hk, b)
  Input<Buffer<float>> v{"v", 4};              // (d, j, hk, b)
  Input<Buffer<uint8_t>> mask{"mask", 2};      // (j, b); unused unless has_mask
  Input<float> scale{"scale"};
  Output<Buffer<float>> out{"out", 4};         // (d, i, h, b)

  void generate() {
    using attune::schedules::Config;
    const auto space = attune::schedules::sdpa_cpu_space(get_target(), head_dim, causal);
    const Config cfg = std::string(config).empty() ? space.default_config() : Config::from_json(config);
    if (auto why = space.validate(cfg)) throw attune::Error("sdpa generator: invalid config: " + *why);

    attune::generators::SdpaInputs in;
    in.q = q; in.k = k; in.v = v; in.mask = mask;
    in.head_dim = head_dim > 0 ? Expr(int(head_dim)) : q.dim(0).extent();
    in.seq_q = q.dim(1).extent();
    in.seq_kv = k.dim(1).extent();
    in.num_heads = q.dim(2).extent();
    in.num_kv_heads = k.dim(2).extent();
    in.scale = scale;
    in.causal = causal;
    in.has_mask = has_mask;
    attune::generators::SdpaShapeParams shape;
    shape.kv_block = int(cfg.get_or("kv_block", 64));
    shape.q_tile = int(cfg.get_or("q_tile", 32));
    shape.head_dim = head_dim;
    const auto algorithm = attune::generators::SdpaAlgorithm(cfg.get_or("algorithm", 0));
    funcs_ = attune::generators::define_sdpa(in, algorithm, shape);
    out = funcs_.out;

    constrain_dense(q);
    constrain_dense(k);
    constrain_dense(v);
    constrain_dense(out);
    set_estimates();
    if (!get_auto_schedule()) attune::schedules::apply_sdpa_cpu(cfg, funcs_, get_target());
  }

 private:
  attune::generators::SdpaFuncs funcs_;

  // Row-major [b, h, s, d], contiguous within a batch, with a compile-time head_dim: constant strides let
  // LLVM fold address arithmetic in the inner loops.
  template <typename Buf>
  void constrain_dense(Buf& buf) {
    if (head_dim > 0) buf.dim(0).set_extent(int(head_dim));
    buf.dim(0).set_min(0).set_stride(1);
    buf.dim(1).set_min(0).set_stride(buf.dim(0).extent());
    buf.dim(2).set_min(0).set_stride(buf.dim(0).extent() * buf.dim(1).extent());
    buf.dim(3).set_min(0);  // batch stride is free: the runtime may pass head slices
  }

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
