// The measuring machine's name, as tuning records carry it (Record::cpu). Timings of one
// machine say nothing about another, so the database ranks, resumes and exports per machine.
#pragma once

#include <string>

namespace attune::autotune {

// The CPU's model name and, on x86, its family and model numbers: the name alone can be as
// vague as "AMD EPYC" across generations (Zen 4 and Zen 5 differ twofold in FMA peak).
std::string machine_name();
// The first GPU's name as nvidia-smi reports it (as an offline batch's run.sh records it); ""
// without one.
std::string gpu_name();

}  // namespace attune::autotune
