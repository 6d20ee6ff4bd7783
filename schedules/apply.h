// Schedule appliers: Config -> Halide scheduling directives on an algorithm's Funcs.
// The same appliers serve the AOT build and every candidate the tuner compiles.
#pragma once

#include "Halide.h"

#include "generators/sdpa_algorithm.h"
#include "schedules/config.h"
#include "schedules/space.h"

namespace attune::schedules {

// The sdpa schedule space for a CPU target (vector width and register count from the target).
Space sdpa_cpu_space(const Halide::Target& target, int head_dim, bool causal);

void apply_sdpa_cpu(const Config& config, generators::SdpaFuncs& f, const Halide::Target& target);

}  // namespace attune::schedules
