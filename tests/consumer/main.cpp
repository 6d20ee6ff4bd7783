// Outside consumer: checks attune::sdpa on shapes the in-tree tests do not use against its
// own double loop, and that bad input gets a clear attune::Error.
#include <attune/attention.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

static double check(int B, int H, int Sq, int Skv, int D, bool causal) {
  std::vector<float> q(size_t(B) * H * Sq * D), k(size_t(B) * H * Skv * D), v(k.size()), o(q.size());
  unsigned s = 12345;
  auto rnd = [&] { s = s * 1103515245u + 12345u; return float((s >> 9) & 0xffff) / 32768.0f - 1.0f; };
  for (auto* t : {&q, &k, &v}) for (float& x : *t) x = rnd();
  attune::SdpaOptions opt;
  opt.causal = causal;
  attune::sdpa(q.data(), k.data(), v.data(), o.data(), B, H, Sq, Skv, D, opt);
  double err = 0, mag = 0;
  for (int bh = 0; bh < B * H; ++bh)
    for (int i = 0; i < Sq; ++i) {
      std::vector<double> p(Skv, 0.0);
      double mx = -1e300, sum = 0;
      const int last = causal ? i + Skv - Sq : Skv - 1;
      for (int j = 0; j <= last && j < Skv; ++j) {
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += double(q[(size_t(bh) * Sq + i) * D + d]) * k[(size_t(bh) * Skv + j) * D + d];
        p[j] = dot / std::sqrt(double(D));
        mx = std::max(mx, p[j]);
      }
      for (int j = 0; j <= last && j < Skv; ++j) sum += (p[j] = std::exp(p[j] - mx));
      for (int d = 0; d < D; ++d) {
        double acc = 0;
        for (int j = 0; j <= last && j < Skv; ++j) acc += p[j] / sum * v[(size_t(bh) * Skv + j) * D + d];
        err = std::max(err, std::abs(acc - o[(size_t(bh) * Sq + i) * D + d]));
        mag = std::max(mag, std::abs(acc));
      }
    }
  return err / mag;
}

int main() {
  const double e1 = check(2, 3, 77, 130, 64, false), e2 = check(1, 2, 91, 91, 96, true);
  std::printf("consumer: relative max error %.2e (non-causal), %.2e (causal)\n", e1, e2);
  if (!(e1 <= 1e-4 && e2 <= 1e-4)) return 1;
  std::vector<float> x(64);
  try {
    attune::sdpa(x.data(), x.data(), x.data(), x.data(), 1, 0, 1, 1, 64);
    std::printf("consumer: no error for num_heads=0\n");
    return 1;
  } catch (const attune::Error& e) {
    std::printf("consumer: bad input rejected: %s\n", e.what());
    if (std::string(e.what()).find("num_heads") == std::string::npos) return 1;
  }
  return 0;
}
