// A naive double-precision SDPA check shared by the consumer apps (no attune internals here:
// these projects see only the installed package).
#pragma once

#include <attune/attention.h>

#include <algorithm>
#include <cmath>
#include <vector>

// Runs attune::sdpa on random inputs and returns its max error relative to the output's magnitude.
inline double check_sdpa(int B, int H, int Sq, int Skv, int D, bool causal) {
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

