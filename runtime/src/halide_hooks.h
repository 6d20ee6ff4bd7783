// Hooks into the Halide runtimes attune runs (its own, loaded packs' and the tuner's candidates'):
// error capture, the thread pool (thread_pool.h) and scratch memory (scratch.h).
#pragma once

#include <string>

namespace attune::detail {

// Halide error handler: keeps the message for take_halide_error().
void capture_halide_error(void* user_context, const char* msg);
// The message the Halide runtime reported for the failed call on this thread: errors raised on
// the calling thread, else (an error raised inside a parallel loop, on a worker thread) the
// latest one raised anywhere in the process. Cleared when taken.
std::string take_halide_error();

// Points the Halide runtime of a dlopen'ed library (a kernel pack, a tuning candidate) at
// attune's error handler, thread pool and scratch allocator, as attune's own runtime is from
// load time on, so a pack's kernels run (and a candidate is timed) exactly as built-in ones.
void install_halide_hooks(void* dl_handle);

}  // namespace attune::detail
