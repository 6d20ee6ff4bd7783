#include "halide_hooks.h"

#include <HalideRuntime.h>

#include <atomic>
#include <thread>

#include "attune/attention.h"

namespace {
thread_local std::string last_error;
std::atomic<int> requested_threads{0};

int hardware_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? int(hw) : 1;
}
}  // namespace

// Halide's runtime declares halide_error weak: this definition replaces the default, which
// prints to stderr, so kernel errors reach the caller inside attune::Error instead.
extern "C" void halide_error(void* /*user_context*/, const char* msg) { last_error += msg; }

namespace attune {
namespace detail {
std::string take_halide_error() {
  std::string e;
  e.swap(last_error);
  return e.empty() ? "unknown error" : e;
}
}  // namespace detail

void set_num_threads(int n) {
  if (n < 0) throw Error("attune::set_num_threads: n must be >= 0, got " + std::to_string(n));
  requested_threads = n;
  halide_set_num_threads(n > 0 ? n : hardware_threads());
}

int num_threads() {
  const int n = requested_threads;
  return n > 0 ? n : hardware_threads();
}
}  // namespace attune
