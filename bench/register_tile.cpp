#include "register_tile.h"

#include <algorithm>

#include "autotune/fma_peak.h"
#include "reference/aligned.h"
#include "simd.h"

namespace attune::bench {
namespace {

using namespace simd;
constexpr int kRows = 6, kCols = 2;  // 12 accumulators + 2 B vectors + 1 broadcast <= 16 registers

float tile_loop(const float* a, const float* b, int keys, int row_floats, long repetitions) {
  Vec sink = splat(0);
  for (long r = 0; r < repetitions; ++r) {
    const float* bt = b + (r % (row_floats / (kCols * kLanes))) * kCols * kLanes;  // next slice of the rows
    Vec acc[kRows][kCols];
    for (auto& row : acc)
      for (Vec& v : row) v = splat(0);
    for (int k = 0; k < keys; ++k) {
      const Vec b0 = load(bt + size_t(k) * row_floats), b1 = load(bt + size_t(k) * row_floats + kLanes);
      for (int i = 0; i < kRows; ++i) {
        const Vec x = splat(a[i * keys + k]);
        acc[i][0] = fma(x, b0, acc[i][0]);
        acc[i][1] = fma(x, b1, acc[i][1]);
      }
    }
    for (auto& row : acc) sink = add(sink, add(row[0], row[1]));  // the tile is used
  }
  return reduce(sink);
}

}  // namespace

double run_register_tile(int keys, int row_floats, long repetitions) {
  row_floats = std::max(row_floats, kCols * kLanes);
  const int threads = autotune::on_every_thread(0, [&](int) {
    attune::reference::AlignedVector<float> a(size_t(kRows) * keys, 1e-3f), b(size_t(keys) * row_floats, 1e-3f);
    return tile_loop(a.data(), b.data(), keys, row_floats, repetitions);
  });
  return double(threads) * repetitions * keys * kRows * kCols * kLanes * 2;
}

}  // namespace attune::bench
