// Space: the knobs of a kernel's schedule for a target class, their domains and the
// constraints between them. Operations the tuner needs: size, random sampling of valid
// configs, neighbours/mutation, crossover, validation with a reason. No Halide here.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "schedules/config.h"

namespace attune::schedules {

struct Knob {
  std::string name;
  std::vector<std::int64_t> values;  // ordered: neighbours are adjacent values
  std::string help;
};

// What the space depends on: the kernel's variant and the target's vector width.
struct SpaceParams {
  std::string kernel = "sdpa";
  int head_dim = 64;     // 0 = generic (any head_dim at run time)
  bool causal = false;
  bool decode = false;   // the default config targets few query rows (split-KV)
  int vector_width = 16; // floats per native vector (16 AVX-512, 8 AVX2, 4 SSE)
  int num_registers = 32;  // vector registers (32 AVX-512, 16 otherwise)
  bool gpu = false;        // a GPU target (CUDA, OpenCL): block/thread knobs, not vector/register ones
  // The one workload the space is searched for, where known (the tuner; 0 = any, as the AOT
  // build compiles a kernel for a bucket of shapes): canonical() also folds knobs this shape
  // makes dead.
  int seq_kv = 0;
  int kv_group = 0;  // query heads per KV head (1: dense, no GQA packing to do)
};

class Space {
 public:
  // GPU limits the space respects (any CUDA device of capability >= 5, any OpenCL GPU).
  static constexpr int kMaxGpuThreads = 1024;         // threads per block
  static constexpr int kMaxGpuSharedBytes = 48 << 10;  // static shared memory per block
  static constexpr int kGpuRegistersPerBlock = 64 << 10;  // 32-bit registers per block

  explicit Space(const SpaceParams& p);

  const SpaceParams& params() const { return params_; }
  const std::vector<Knob>& knobs() const { return knobs_; }
  double size() const;  // product of the domains (before constraints)

  // Empty if valid, else the first violated constraint, e.g. "pv_width 48 does not divide head_dim 64".
  std::optional<std::string> validate(const Config& c) const;
  Config default_config() const;
  // `c` with knobs it lacks taken from the default config: configs tuned before a knob was
  // added keep compiling (with the knob's default), as an exported file ages.
  Config complete(const Config& c) const;
  // `c` with the knobs its algorithm ignores at fixed values, so that configs compiling to the
  // same kernel are equal (the search then measures each kernel once). sample, mutate,
  // crossover, neighbours and default_config return canonical configs.
  Config canonical(const Config& c) const;
  // A valid canonical config: the algorithm drawn 8:1 for the workload class's own (split-KV
  // for decode, query tiles otherwise), then every other knob uniform.
  Config sample(std::mt19937_64& rng) const;
  Config mutate(const Config& c, std::mt19937_64& rng) const;        // 1-2 knobs moved to a neighbour value
  Config crossover(const Config& a, const Config& b, std::mt19937_64& rng) const;  // per-knob pick
  std::vector<Config> neighbours(const Config& c) const;            // valid one-step moves

 private:
  SpaceParams params_;
  std::vector<Knob> knobs_;
  const Knob* knob(const std::string& name) const;  // nullptr if the space has no such knob
  Config repair_or_resample(Config c, std::mt19937_64& rng) const;
  std::optional<std::string> validate_gpu(const Config& c) const;
};

}  // namespace attune::schedules
