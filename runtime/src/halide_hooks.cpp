#include "halide_hooks.h"

#include <dlfcn.h>

#include <mutex>

#include "scratch.h"
#include "thread_pool.h"

namespace {
thread_local std::string thread_error;
std::mutex process_error_mutex;
std::string process_error;  // errors raised on worker threads land here too
}  // namespace

// Halide's runtime declares halide_error weak: this definition replaces the default, which
// prints to stderr, so kernel errors reach the caller inside attune::Error instead.
extern "C" void halide_error(void* user_context, const char* msg) {
  attune::detail::capture_halide_error(user_context, msg);
}

namespace attune::detail {
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

void install_halide_hooks(void* handle) {
  auto set = [&](const char* setter, auto hook) {
    using Setter = decltype(hook) (*)(decltype(hook));
    if (auto fn = reinterpret_cast<Setter>(dlsym(handle, setter))) fn(hook);
  };
  set("halide_set_error_handler", &capture_halide_error);
  set("halide_set_custom_do_par_for", &do_par_for);
  set("halide_set_custom_malloc", &scratch_malloc);
  set("halide_set_custom_free", &scratch_free);
}
}  // namespace attune::detail
