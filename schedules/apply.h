// Schedule appliers: Config -> Halide scheduling directives on an algorithm's Funcs.
// The same appliers serve the AOT build and every candidate the tuner compiles.
#pragma once

#include "Halide.h"

#include "generators/sdpa_algorithm.h"
#include "schedules/config.h"

namespace attune::schedules {

// Default CPU config for the sdpa kernel on `target` (sensible without tuning).
Config default_sdpa_cpu(const Halide::Target& target, int head_dim);

void apply_sdpa_cpu(const Config& config, generators::SdpaFuncs& f, const Halide::Target& target);

}  // namespace attune::schedules
