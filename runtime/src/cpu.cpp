// CPU feature detection and the dispatch's ISA cap (attune::set_max_isa).
#include <algorithm>
#include <atomic>
#include <sstream>
#include <string>
#include <vector>

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

namespace {
// Halide x86 target features -> whether this CPU has them, and the ISA level they belong to.
struct Feature {
  const char* name;
  bool supported;
  Isa level;
};
const std::vector<Feature>& x86_features() {
  static const std::vector<Feature> table = [] {
    __builtin_cpu_init();
    const bool skx = __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512dq");
    return std::vector<Feature>{
        {"sse41", bool(__builtin_cpu_supports("sse4.1")), Isa::ksse41},
        {"avx", bool(__builtin_cpu_supports("avx")), Isa::kavx2},
        {"avx2", bool(__builtin_cpu_supports("avx2")), Isa::kavx2},
        {"fma", bool(__builtin_cpu_supports("fma")), Isa::kavx2},
        {"f16c", bool(__builtin_cpu_supports("f16c")), Isa::kavx2},
        {"avx512", __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd"), Isa::kavx512},
        {"avx512_skylake", skx, Isa::kavx512},
        {"avx512_cannonlake", skx && __builtin_cpu_supports("avx512ifma") && __builtin_cpu_supports("avx512vbmi"),
         Isa::kavx512},
        {"avx512_sapphirerapids", skx && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni"),
         Isa::kavx512},
        {"avx512_knl", __builtin_cpu_supports("avx512er") && __builtin_cpu_supports("avx512pf"), Isa::kavx512},
        {"fma4", bool(__builtin_cpu_supports("fma4")), Isa::kavx2},
    };
  }();
  return table;
}
}  // namespace

bool target_runs_here(const std::string& target, Isa* isa, std::string* why) {
  std::vector<std::string> parts;
  std::stringstream in(target);
  for (std::string p; std::getline(in, p, '-');) parts.push_back(p);
  if (parts.size() < 3 || parts[0] != "x86" || parts[1] != "64" || parts[2] != "linux") {
    *why = "target " + target + " is not x86-64-linux code";
    return false;
  }
  *isa = Isa::ksse41;
  for (size_t i = 3; i < parts.size(); ++i) {
    const std::string& f = parts[i];
    for (const char* gpu : {"cuda", "opencl", "metal", "d3d12compute", "openglcompute", "hvx", "vulkan", "webgpu"})
      if (f.rfind(gpu, 0) == 0) {
        *why = "target " + target + " needs a GPU runtime (" + f + "), this runtime runs CPU code only";
        return false;
      }
    for (const Feature& x : x86_features()) {
      if (f != x.name) continue;
      if (!x.supported) {
        *why = "target " + target + " needs the CPU feature " + f + ", which this CPU lacks";
        return false;
      }
      *isa = std::max(*isa, x.level);
    }
  }
  return true;
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
