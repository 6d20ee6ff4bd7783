// Hooks into the Halide runtimes attune runs (its own and loaded packs'): error capture and
// the thread pool size.
#pragma once

#include <string>

namespace attune::detail {

// Halide error handler: keeps the message for take_halide_error().
void capture_halide_error(void* user_context, const char* msg);
// The message the Halide runtime reported for the failed call on this thread: errors raised on
// the calling thread, else (an error raised inside a parallel loop, on a worker thread) the
// latest one raised anywhere in the process. Cleared when taken.
std::string take_halide_error();

}  // namespace attune::detail
