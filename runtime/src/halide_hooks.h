// Hooks into the Halide runtime linked into attune: error capture and the thread pool size.
#pragma once

#include <string>

namespace attune::detail {

// The last message the Halide runtime reported on this thread (cleared when taken).
std::string take_halide_error();

}  // namespace attune::detail
