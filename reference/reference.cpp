#include "reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attune::reference {

double SdpaProblem::effective_scale() const {
  return scale != 0.0f ? double(scale) : 1.0 / std::sqrt(double(head_dim));
}

void sdpa(const SdpaProblem& p, const float* q, const float* k, const float* v,
          std::vector<double>& out, std::vector<double>* probs) {
  const int B = p.batch, H = p.num_heads, Hkv = p.kv_heads(), Sq = p.seq_q, Skv = p.seq_kv,
            D = p.head_dim;
  const int group = H / Hkv;
  const double scale = p.effective_scale();
  out.assign(size_t(B) * H * Sq * D, 0.0);
  if (probs) probs->assign(size_t(B) * H * Sq * Skv, 0.0);
  std::vector<double> s(Skv);
  std::vector<char> visible(Skv);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int hk = h / group;
      const float* qh = q + (size_t(b) * H + h) * Sq * D;
      const float* kh = k + (size_t(b) * Hkv + hk) * Skv * D;
      const float* vh = v + (size_t(b) * Hkv + hk) * Skv * D;
      for (int i = 0; i < Sq; ++i) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j < Skv; ++j) {
          bool vis = true;
          if (p.causal && j > i + Skv - Sq) vis = false;
          if (p.key_padding_mask && !p.key_padding_mask[size_t(b) * Skv + j]) vis = false;
          visible[j] = vis;
          if (!vis) continue;
          double acc = 0;
          for (int d = 0; d < D; ++d) acc += double(qh[size_t(i) * D + d]) * kh[size_t(j) * D + d];
          s[j] = acc * scale;
          mx = std::max(mx, s[j]);
        }
        if (mx == -std::numeric_limits<double>::infinity()) continue;  // no visible key: zeros
        double sum = 0;
        for (int j = 0; j < Skv; ++j) {
          s[j] = visible[j] ? std::exp(s[j] - mx) : 0.0;
          sum += s[j];
        }
        double* o = &out[((size_t(b) * H + h) * Sq + i) * D];
        for (int j = 0; j < Skv; ++j) {
          const double pj = s[j] / sum;
          if (probs) (*probs)[((size_t(b) * H + h) * Sq + i) * Skv + j] = pj;
          if (pj == 0) continue;
          for (int d = 0; d < D; ++d) o[d] += pj * vh[size_t(j) * D + d];
        }
      }
    }
}

void linear(const float* x, const float* w, const float* b, int rows, int in, int out, std::vector<double>& y) {
  y.assign(size_t(rows) * out, 0.0);
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      double acc = b ? b[o] : 0.0;
      for (int c = 0; c < in; ++c) acc += double(x[size_t(r) * in + c]) * w[size_t(o) * in + c];
      y[size_t(r) * out + o] = acc;
    }
}

double visible_pairs(int seq_q, int seq_kv, bool causal) {
  if (!causal) return double(seq_q) * seq_kv;
  double pairs = 0;
  for (int i = 0; i < seq_q; ++i) pairs += std::clamp<double>(double(i) + 1 + seq_kv - seq_q, 0, seq_kv);
  return pairs;
}

double relative_max_error(const float* a, const std::vector<double>& b) {
  double err = 0, mag = 0;
  for (size_t n = 0; n < b.size(); ++n) {
    if (!std::isfinite(a[n])) return std::numeric_limits<double>::infinity();
    err = std::max(err, std::abs(double(a[n]) - b[n]));
    mag = std::max(mag, std::abs(b[n]));
  }
  return err / std::max(mag, 1e-30);
}

}  // namespace attune::reference
