// Schedule appliers: Config -> Halide scheduling directives on an algorithm's Funcs.
// The same appliers serve the AOT build and every candidate the tuner compiles.
#pragma once

#include "Halide.h"

#include "generators/linear_algorithm.h"
#include "generators/sdpa_algorithm.h"
#include "schedules/config.h"
#include "schedules/space.h"

namespace attune::schedules {

// A kernel's schedule space for `target`: the GPU space for a CUDA/OpenCL target, else the CPU one.
Space space_for_target(const std::string& kernel, const Halide::Target& target, int head_dim, bool causal,
                       bool decode = false);

// A kernel's schedule space for a CPU target (vector width and register count from the target).
Space cpu_space(const std::string& kernel, const Halide::Target& target, int head_dim, bool causal,
                bool decode = false);

// Schedule for the attention-weights output (f.probs) of the materialised algorithm.
void apply_probs_cpu(const Config& config, generators::SdpaFuncs& f, const Halide::Target& target);

// Schedule for the linear (projection GEMM) kernel.
void apply_linear_cpu(const Config& config, generators::LinearFuncs& f, const Halide::Target& target);

void apply_sdpa_cpu(const Config& config, generators::SdpaFuncs& f, const Halide::Target& target);
void apply_sdpa_gpu(const Config& config, generators::SdpaFuncs& f, const Halide::Target& target);
// apply_sdpa_gpu for a GPU target, else apply_sdpa_cpu.
void apply_sdpa(const Config& config, generators::SdpaFuncs& f, const Halide::Target& target);

}  // namespace attune::schedules
