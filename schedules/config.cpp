#include "config.h"

#include "schedules/hash.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <regex>

#include "attune/attention.h"

namespace attune::schedules {

bool is_gpu_target(const std::string& target) {
  static const std::regex gpu("(^|-)(cuda|opencl|metal|d3d12compute|openglcompute|vulkan)(-|$)");
  return std::regex_search(target, gpu);
}

int kernel_version_for(const std::string& target) {
  return is_gpu_target(target) ? kGpuKernelVersion : kKernelVersion;
}

std::int64_t Config::get(const std::string& knob) const {
  auto it = knobs.find(knob);
  if (it == knobs.end()) throw Error("config for kernel '" + kernel + "' lacks knob '" + knob + "'");
  return it->second;
}

std::int64_t Config::get_or(const std::string& knob, std::int64_t fallback) const {
  auto it = knobs.find(knob);
  return it == knobs.end() ? fallback : it->second;
}

std::string Config::to_json() const {
  nlohmann::json j = nlohmann::json::object();  // std::map underneath: keys sorted
  j["kernel"] = kernel;
  for (const auto& [k, v] : knobs) j["knobs"][k] = v;
  if (knobs.empty()) j["knobs"] = nlohmann::json::object();
  return j.dump();
}

Config Config::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(std::string("config: invalid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("kernel") || !j["kernel"].is_string())
    throw Error("config: expected an object with a string 'kernel'");
  Config c;
  c.kernel = j["kernel"].get<std::string>();
  if (j.contains("knobs")) {
    if (!j["knobs"].is_object()) throw Error("config: 'knobs' must be an object");
    for (const auto& [k, v] : j["knobs"].items()) {
      if (!v.is_number_integer()) throw Error("config: knob '" + k + "' must be an integer");
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(INT64_MAX))
        throw Error("config: knob '" + k + "' is outside the 64-bit integer range");
      c.knobs[k] = v.get<std::int64_t>();
    }
  }
  return c;
}

std::uint64_t Config::hash() const { return fnv1a64(to_json()); }

std::string Config::hash_hex() const { return schedules::hash_hex(to_json()); }

}  // namespace attune::schedules
