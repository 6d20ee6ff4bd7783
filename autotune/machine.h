// The measuring machine's name, as tuning records carry it (Record::cpu). Timings of one
// machine say nothing about another, so the database ranks, resumes and exports per machine.
#pragma once

#include <string>

namespace attune::autotune {

// The CPU's model name and, on x86, its family and model numbers: the name alone can be as
// vague as "AMD EPYC" across generations (Zen 4 and Zen 5 differ twofold in FMA peak).
std::string machine_name();
// The first GPU's name as nvidia-smi reports it; "" without one.
std::string gpu_name();
// The machine that measures kernels for `target` (a Halide target string) here, as records
// name it: for a GPU target the GPU (when nvidia-smi names one), else the CPU.
std::string measuring_machine(const std::string& target);

}  // namespace attune::autotune
