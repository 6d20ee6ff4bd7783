#include "machine.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "schedules/config.h"

namespace attune::autotune {

std::string machine_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name, family, model;
  while (std::getline(in, line) && (name.empty() || family.empty() || model.empty())) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string value = line.substr(std::min(line.size(), colon + 2));
    if (name.empty() && line.rfind("model name", 0) == 0) name = value;
    else if (family.empty() && line.rfind("cpu family", 0) == 0) family = value;
    else if (model.empty() && line.rfind("model\t", 0) == 0) model = value;
  }
  if (name.empty()) name = "unknown";
  return family.empty() || model.empty() ? name : name + " (family " + family + ", model " + model + ")";
}

std::string gpu_name() {
  FILE* p = popen("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null", "r");
  if (!p) return "";
  char line[256] = "";
  const bool got = std::fgets(line, sizeof line, p) != nullptr;
  pclose(p);
  std::string name = got ? line : "";
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r' || name.back() == ' ')) name.pop_back();
  return name;
}

std::string measuring_machine(const std::string& target) {
  if (schedules::is_gpu_target(target)) {
    const std::string gpu = gpu_name();
    if (!gpu.empty()) return gpu;
  }
  return machine_name();
}

}  // namespace attune::autotune
