// Kernel packs (`attune export --pack`): the best tuned config per kernel variant and sequence
// bucket of one target, AOT-compiled into a shared library that attune::load_kernel_pack()
// loads into applications built before it (ABI: runtime/src/kernel_pack.h).
#pragma once

#include <string>
#include <vector>

#include "autotune/candidate.h"
#include "autotune/database.h"

namespace attune::autotune {

// The tuned workload chosen for each (kernel, head_dim, causal, mask, sequence bucket) of
// `target` on `machine` ("": any): the one with the most query-key pairs, then one without GQA
// (the rule the build's attune_load_tuned_configs() applies to exported files).
std::vector<Record> best_per_bucket(const Database& db, const std::string& target, const std::string& machine);

struct PackResult {
  int kernels = 0;
  double seconds = 0;
};
// Builds `out` (a .so) of `machine`'s tuned configs with tc.generator_exe and tc.compiler for
// tc.target (resolved, not "host"); throws attune::Error naming the step that failed.
PackResult build_kernel_pack(const Toolchain& tc, const Database& db, const std::string& machine,
                             const std::string& out, const std::string& work_dir);

}  // namespace attune::autotune
