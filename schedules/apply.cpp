// The schedule space and applier for a target: GPU targets (CUDA, OpenCL) get the GPU space
// and schedules, every other target the CPU ones.
#include "schedules/apply.h"

namespace attune::schedules {

Space space_for_target(const std::string& kernel, const Halide::Target& target, int head_dim, bool causal,
                       bool decode) {
  if (!target.has_gpu_feature()) return cpu_space(kernel, target, head_dim, causal, decode);
  SpaceParams p;
  p.kernel = kernel;
  p.head_dim = head_dim;
  p.causal = causal;
  p.decode = decode;
  p.gpu = true;
  return Space(p);
}

void apply_sdpa(const Config& config, generators::SdpaFuncs& f, const Halide::Target& target) {
  if (target.has_gpu_feature())
    apply_sdpa_gpu(config, f, target);
  else
    apply_sdpa_cpu(config, f, target);
}

}  // namespace attune::schedules
