// attune::use_openmp(): run attune's parallel loops on the application's OpenMP threads
// (see attune::set_parallel_for). Header-only: compile the file that calls it with OpenMP
// (-fopenmp, or link OpenMP::OpenMP_CXX in CMake); attune itself does not link OpenMP.
#pragma once

#include <attune/attention.h>

#ifndef _OPENMP
#error "<attune/openmp.h> needs OpenMP: compile with -fopenmp (CMake: target_link_libraries(app PRIVATE OpenMP::OpenMP_CXX))"
#endif

namespace attune {

// Each attune loop becomes an OpenMP parallel for over the current team's threads
// (omp_set_num_threads / OMP_NUM_THREADS decide how many); dynamic, one task at a time, since
// attune's tasks differ in cost (causal tiles).
inline void use_openmp() {
  set_parallel_for([](int n, const std::function<void(int)>& task) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; ++i) task(i);
  });
}

}  // namespace attune
