// Long sequences run in O(seq · head_dim) memory: sdpa at B=1, H=2, S=32768, D=64 (four
// 16 MiB tensors) must keep the process's peak RSS within 512 MiB of the tensors — the
// seq x seq score matrix (4 GiB per head here) is never materialised. Two heads (one per core
// of the test machines) keep the test short: the compute is 4·H·S²·D = 0.55 TFLOP.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "attune/attention.h"
#include "runtime/src/scratch.h"

TEST(Memory, LongSequencePeakRssStaysSmall) {
  const int B = 1, H = 2, S = 32768, D = 64;
  const size_t n = size_t(B) * H * S * D;
  std::vector<float> q(n), k(n), v(n), out(n);
  for (size_t i = 0; i < n; ++i) {  // cheap deterministic inputs
    q[i] = float((i * 7919) % 1000) * 1e-3f - 0.5f;
    k[i] = float((i * 104729) % 1000) * 1e-3f - 0.5f;
    v[i] = float((i * 1299709) % 1000) * 1e-3f - 0.5f;
  }
  attune::sdpa(q.data(), k.data(), v.data(), out.data(), B, H, S, S, D);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double peak_mib = usage.ru_maxrss / 1024.0;
  RecordProperty("peak_rss_mib", int(peak_mib));
  const double tensors_mib = 4.0 * n * sizeof(float) / (1 << 20);
  EXPECT_LT(peak_mib, tensors_mib + 512.0) << "inputs and output are " << tensors_mib
                                            << " MiB; the rest is kernel scratch";
  // The output is a convex combination of V rows: finite and within V's range everywhere.
  for (size_t i = 0; i < n; i += 4099) {
    ASSERT_TRUE(std::isfinite(out[i]));
    ASSERT_LE(std::abs(out[i]), 0.5f);
  }
  // A few rows in full against a double-precision softmax over all 32768 keys.
  const double scale = 1.0 / std::sqrt(double(D));
  std::vector<double> p(S);
  for (int h = 0; h < H; ++h)
    for (int i : {0, 1, 12345, S - 1}) {
      const float* qi = &q[(size_t(h) * S + i) * D];
      double mx = -1e300, sum = 0;
      for (int j = 0; j < S; ++j) {
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += double(qi[d]) * k[(size_t(h) * S + j) * D + d];
        p[j] = dot * scale;
        mx = std::max(mx, p[j]);
      }
      for (int j = 0; j < S; ++j) sum += p[j] = std::exp(p[j] - mx);
      for (int d = 0; d < D; ++d) {
        double acc = 0;
        for (int j = 0; j < S; ++j) acc += p[j] * v[(size_t(h) * S + j) * D + d];
        // |v| <= 0.5: an absolute tolerance of 1e-4 relative to V's range
        ASSERT_NEAR(out[(size_t(h) * S + i) * D + d], acc / sum, 0.5e-4) << "head " << h << " row " << i;
      }
    }
}

// Kernel scratch is kept for the next call: a second identical call faults no new pages in
// (glibc had handed each tile's scratch back to the kernel and faulted it in again: a fresh
// process's first call at S=4096 took 260k page faults and ran at 40% speed). Covers the
// materialised (medium) and flash-or-materialised (long) kernels and attention_probs.
TEST(Memory, ScratchIsReusedAcrossCalls) {
  auto faults = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return long(u.ru_minflt);
  };
  for (const int S : {2048, 8192}) {
    const int H = 2, D = 64;
    const size_t n = size_t(H) * S * D;
    std::vector<float> q(n, 0.01f), k(n, 0.02f), v(n, 0.5f), out(n, 0.0f);
    attune::sdpa(q.data(), k.data(), v.data(), out.data(), 1, H, S, S, D);
    const long before = faults();
    attune::sdpa(q.data(), k.data(), v.data(), out.data(), 1, H, S, S, D);
    EXPECT_LT(faults() - before, 64) << "S=" << S << ": page faults in a repeated call";
    EXPECT_NEAR(out[n - 1], 0.5f, 1e-6f);  // uniform attention over a constant V
  }
}

// A thread that ends leaves its scratch blocks to the others: a call from a short-lived thread
// (std::async, a thread per request) used to hand its pages back to the kernel as it ended, and
// the next thread's first call at S=512 took 3.8 ms instead of 2.0 (its pages trapped anew).
TEST(Memory, ScratchOfAnEndedThreadIsReused) {
  using attune::detail::scratch_free;
  using attune::detail::scratch_malloc;
  const std::size_t bytes = std::size_t(3) << 20;  // no other test leaves a block of this size
  void* first = nullptr;
  void* second = nullptr;
  std::thread([&] { scratch_free(nullptr, first = scratch_malloc(nullptr, bytes)); }).join();
  std::thread([&] { scratch_free(nullptr, second = scratch_malloc(nullptr, bytes)); }).join();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(second, first) << "the block of a thread that ended was not reused";
}
