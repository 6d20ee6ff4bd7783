#include "halide_hooks.h"

#include <HalideRuntime.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "attune/attention.h"
#include "registry.h"

namespace {
thread_local std::string thread_error;
std::mutex process_error_mutex;
std::string process_error;  // errors raised on Halide's worker threads land here too
std::atomic<int> requested_threads{0};

int hardware_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? int(hw) : 1;
}
}  // namespace

// Halide's runtime declares halide_error weak: this definition replaces the default, which
// prints to stderr, so kernel errors reach the caller inside attune::Error instead.
extern "C" void halide_error(void* user_context, const char* msg) {
  attune::detail::capture_halide_error(user_context, msg);
}

namespace attune {
namespace detail {
void capture_halide_error(void* /*user_context*/, const char* msg) {
  thread_error += msg;
  std::lock_guard<std::mutex> lock(process_error_mutex);
  process_error = msg;
}

std::string take_halide_error() {
  std::string e;
  e.swap(thread_error);
  std::lock_guard<std::mutex> lock(process_error_mutex);
  if (e.empty()) e.swap(process_error);
  process_error.clear();
  while (!e.empty() && e.back() == '\n') e.pop_back();
  return e.empty() ? "unknown error" : e;
}
}  // namespace detail

void set_num_threads(int n) {
  if (n < 0) throw Error("attune::set_num_threads: n must be >= 0, got " + std::to_string(n));
  requested_threads = n;
  halide_set_num_threads(num_threads());
  detail::set_pack_num_threads(num_threads());
}

int num_threads() {
  const int n = requested_threads;
  return n > 0 ? n : hardware_threads();
}
}  // namespace attune
