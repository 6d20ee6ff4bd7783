// Loading a kernel pack at run time: this app is built once; a hardware owner later runs
// `attune tune` + `attune export --pack faster.so` on their machine, and the app picks up the
// pack's kernels with one call, no rebuild. Usage: pack_example PACK.so [BxHxSqxSkvxD]
#include <attune/attention.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

double seconds_per_call(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                        std::vector<float>& out, const int s[5]) {
  attune::sdpa(q.data(), k.data(), v.data(), out.data(), s[0], s[1], s[2], s[3], s[4]);  // warm-up
  const int reps = 20;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) attune::sdpa(q.data(), k.data(), v.data(), out.data(), s[0], s[1], s[2], s[3], s[4]);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

void print(const char* when, const attune::DispatchInfo& d, double sec) {
  std::printf("%s: %s (%s, bucket %s, config %s): %.3f ms\n", when, d.kernel.c_str(), d.source.c_str(),
              d.bucket.c_str(), d.config_hash.empty() ? "default" : d.config_hash.c_str(), sec * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PACK.so [BxHxSqxSkvxD]\n", argv[0]);
    return 2;
  }
  int s[5] = {1, 4, 128, 300, 64};
  if (argc > 2 && std::sscanf(argv[2], "%dx%dx%dx%dx%d", &s[0], &s[1], &s[2], &s[3], &s[4]) != 5) {
    std::fprintf(stderr, "shape must be BxHxSqxSkvxD\n");
    return 2;
  }
  std::vector<float> q(size_t(s[0]) * s[1] * s[2] * s[4]), k(size_t(s[0]) * s[1] * s[3] * s[4]), v(k.size());
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (auto* t : {&q, &k, &v})
    for (float& x : *t) x = normal(rng);
  std::vector<float> built_in(q.size()), packed(q.size());

  try {
    print("built-in", attune::describe_dispatch("sdpa", s[0], s[1], s[2], s[3], s[4]), seconds_per_call(q, k, v, built_in, s));
    const attune::PackInfo pack = attune::load_kernel_pack(argv[1]);
    std::printf("loaded %s: %d kernels for %s (pack ABI %d)\n", pack.path.c_str(), pack.kernels, pack.target.c_str(),
                pack.abi_version);
    const attune::DispatchInfo d = attune::describe_dispatch("sdpa", s[0], s[1], s[2], s[3], s[4]);
    print("with pack", d, seconds_per_call(q, k, v, packed, s));
    float diff = 0, mag = 0;
    for (size_t i = 0; i < q.size(); ++i) {
      diff = std::max(diff, std::abs(packed[i] - built_in[i]));
      mag = std::max(mag, std::abs(built_in[i]));
    }
    std::printf("max |pack - built-in| = %.2e (output magnitude %.2f)\n", diff, mag);
    if (d.source != pack.path) {
      std::printf("the pack has no kernel for this workload: built-in kernels run\n");
      return 3;
    }
    return diff <= 1e-4f * std::max(1.0f, mag) ? 0 : 1;
  } catch (const attune::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
