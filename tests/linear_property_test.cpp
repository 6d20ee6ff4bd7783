// Property test of the projection GEMM's schedule space (the "linear" kernel of
// multi_head_attention): random valid configs compile through the generator executable the
// build uses and compute y = x·Wᵀ + b exactly like a double loop, on odd sizes and both
// layouts (plain [B, S, F] and head layout [B, H, S, D] inputs and outputs).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <HalideBuffer.h>

#include <filesystem>
#include <random>

#include "autotune/process.h"
#include "schedules/apply.h"

namespace {

using Halide::Runtime::Buffer;
using LinearFn = int (*)(halide_buffer_t*, halide_buffer_t*, halide_buffer_t*, halide_buffer_t*);

struct Shape {
  int c, hx, s, n, hy, b;  // x (c, s, hx, b), y (n, s, hy, b): in = c*hx, out = n*hy features
};
const Shape kShapes[] = {{37, 1, 29, 19, 3, 2}, {16, 4, 1, 64, 2, 1}, {64, 1, 130, 16, 8, 1},
                         {5, 3, 7, 100, 1, 3}, {512, 1, 33, 64, 1, 1}};

class LinearPropertyTest : public ::testing::TestWithParam<int> {};

TEST_P(LinearPropertyTest, RandomConfigIsCorrect) {
  const int index = GetParam();
  std::mt19937_64 rng(2000 + index);  // the host's space (the candidate is compiled for target=host)
  const attune::schedules::Config config =
      attune::schedules::cpu_space("linear", Halide::get_host_target(), 0, false, false).sample(rng);

  const std::string dir = ::testing::TempDir() + "/attune_linear_property_" + std::to_string(index);
  std::filesystem::create_directories(dir);
  using attune::autotune::run_process;
  const auto gen = run_process({ATTUNE_GENERATOR_EXE, "-g", "linear", "-f", "linear_candidate", "-e", "object", "-o",
                                dir, "target=host", "config=" + config.to_json()},
                               {300, 0});
  ASSERT_TRUE(gen.ok()) << config.to_json() << ": " << gen.err;
  const std::string so = dir + "/linear.so";
  const auto link = run_process({"c++", "-shared", "-o", so, dir + "/linear_candidate.o", "-lpthread", "-ldl"}, {60, 0});
  ASSERT_TRUE(link.ok()) << link.err;
  void* lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto fn = reinterpret_cast<LinearFn>(dlsym(lib, "linear_candidate"));
  ASSERT_NE(fn, nullptr);

  const Shape sh = kShapes[size_t(index) % std::size(kShapes)];
  const int in = sh.c * sh.hx;
  Buffer<float> x(sh.c, sh.s, sh.hx, sh.b), w(in, sh.n, sh.hy), bias(sh.n, sh.hy), y(sh.n, sh.s, sh.hy, sh.b);
  std::normal_distribution<float> normal;
  x.for_each_value([&](float& v) { v = normal(rng); });
  w.for_each_value([&](float& v) { v = normal(rng); });
  bias.for_each_value([&](float& v) { v = normal(rng); });
  ASSERT_EQ(fn(x.raw_buffer(), w.raw_buffer(), bias.raw_buffer(), y.raw_buffer()), 0);

  double err = 0, mag = 0;
  for (int b = 0; b < sh.b; ++b)
    for (int hy = 0; hy < sh.hy; ++hy)
      for (int s = 0; s < sh.s; ++s)
        for (int n = 0; n < sh.n; ++n) {
          double acc = bias(n, hy);
          for (int hx = 0; hx < sh.hx; ++hx)
            for (int c = 0; c < sh.c; ++c) acc += double(x(c, s, hx, b)) * w(hx * sh.c + c, n, hy);
          err = std::max(err, std::abs(acc - y(n, s, hy, b)));
          mag = std::max(mag, std::abs(acc));
        }
  EXPECT_LT(err / mag, 1e-5) << config.to_json();
  dlclose(lib);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Configs, LinearPropertyTest, ::testing::Range(0, ATTUNE_PROPERTY_CONFIGS));

}  // namespace
