// CPU feature detection and the dispatch's ISA cap (attune::set_max_isa).
#include <algorithm>
#include <atomic>
#include <string>

#include "attune/attention.h"
#include "registry.h"

namespace attune {
namespace detail {

namespace {
std::atomic<int> limit{-1};  // -1: no cap
}

Isa cpu_isa() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd"))
      return Isa::kavx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kavx2;
    return Isa::ksse41;
  }();
  return isa;
}

Isa isa_limit() {
  const int cap = limit.load();
  return cap < 0 ? cpu_isa() : Isa(std::min(cap, int(cpu_isa())));
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kavx512: return "avx512";
    case Isa::kavx2: return "avx2";
    default: return "sse41";
  }
}

}  // namespace detail

void set_max_isa(const std::string& isa) {
  if (isa.empty()) detail::limit = -1;
  else if (isa == "avx512") detail::limit = int(detail::Isa::kavx512);
  else if (isa == "avx2") detail::limit = int(detail::Isa::kavx2);
  else if (isa == "sse41") detail::limit = int(detail::Isa::ksse41);
  else throw Error("attune::set_max_isa: isa must be \"avx512\", \"avx2\", \"sse41\" or \"\", got \"" + isa + "\"");
}

std::string max_isa() { return detail::isa_name(detail::isa_limit()); }

}  // namespace attune
