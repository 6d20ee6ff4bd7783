// Config: one point of a schedule Space — a kernel name and integer knob values.
// Its identity is a stable hash of its canonical JSON (sorted keys, no spaces), so the
// same schedule gets the same id in the tuner's database, the exported file and the build.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace attune::schedules {

// Version of the code that a Config generates (algorithms and schedule appliers). Bumped when
// a change alters what a config computes or how fast it runs, so that tuning records measured
// with older kernels are neither resumed from nor exported. 2: softmax in log2 units with a
// polynomial 2^x. 3: transposed K rows padded off powers of two. 4: K packed in panels of
// `vec` keys; causal materialised kernels trimmed at the diagonal; split-KV exps as their own
// stage and the group's heads inside the QK key loops. 5: split-KV computes a chunk's scores,
// softmax and PV in one task with PV in register tiles; kv_group_inner packs a GQA group's
// heads as rows of the tiles. 6: flash's online-softmax blocks of pv_kblock keys (several
// register tiles each), its PV loop over a block's real keys (no clamp).
constexpr int kKernelVersion = 6;
// GPU schedules (gpu_sdpa.cpp) are versioned apart, so a change to one class of kernels keeps
// the other's records. 5: the first GPU schedules (numbered on from the CPU's version then).
constexpr int kGpuKernelVersion = 5;

// A Halide target string with a GPU feature (CUDA, OpenCL, Metal, D3D12, OpenGL compute,
// Vulkan): what Halide::Target::has_gpu_feature() says, read from the string (no Halide needed).
bool is_gpu_target(const std::string& target);
// The kernel version of the code that compiles configs for `target`.
int kernel_version_for(const std::string& target);

struct Config {
  std::string kernel;                       // e.g. "sdpa"
  std::map<std::string, std::int64_t> knobs;

  // Throws attune::Error naming the knob when it is missing.
  std::int64_t get(const std::string& knob) const;
  std::int64_t get_or(const std::string& knob, std::int64_t fallback) const;

  std::string to_json() const;  // canonical form
  static Config from_json(const std::string& json);  // throws attune::Error on bad JSON
  std::uint64_t hash() const;   // FNV-1a 64 of to_json()
  std::string hash_hex() const; // 16 hex digits

  bool operator==(const Config& o) const { return kernel == o.kernel && knobs == o.knobs; }
  bool operator!=(const Config& o) const { return !(*this == o); }
};

}  // namespace attune::schedules
