// attune's parallel runtime: Halide's parallel loops (halide_do_par_for) run here, on
// attune's own thread pool, on the process's OpenMP threads (attune::set_thread_pool) or on
// the application's pool (attune::set_parallel_for).
//
// Why not Halide's own pool: its workers are spawned by the first calling thread and inherit
// that thread's CPU affinity, so an application that pins its threads (OMP_PROC_BIND, a pinned
// request thread) got every worker on one core: half the speed on two cores. attune's workers
// set their own affinity to worker_cpus() (less the calling thread's CPU), whatever the caller's.
#pragma once

#include <cstdint>

namespace attune::detail {

// Halide's halide_do_par_for signature: runs task(user_context, i, closure) for every i in
// [min, min + extent) and returns 0, or the first nonzero value a task returned (or -1 with
// the error reported to capture_halide_error if the application's parallel_for failed).
using HalideTask = int (*)(void* user_context, int index, std::uint8_t* closure);
int do_par_for(void* user_context, HalideTask task, int min, int extent, std::uint8_t* closure);

// One small sdpa call, made by the load-time warm-up (thread_pool.cpp) so that dispatch, the
// Halide runtime, the pool and the allocator have run once before the application's first call.
// Defined in attention.cpp; weak: the tuner's runner links the pool and the allocator alone
// (its processes run without the warm-up), and there it is null.
[[gnu::weak]] void warm_call() noexcept;

}  // namespace attune::detail
