// CPU schedule for the materialised-scores SDPA kernel.
//
// One parallel task = (query tile, head, batch). Per task: the tile's scores over all keys
// are materialised (q_tile x kv_pad), computed in register blocks of qk_rows x kv_block
// (dot accumulators small and constant-sized, so LLVM keeps them in vector registers);
// row max/sum reduce 'vec' lanes at a time (rfactor); PV is register-blocked
// pv_rows x pv_width along head_dim. K is transposed once up front (keys contiguous).
#include "schedules/apply.h"

#include "attune/attention.h"

namespace attune::schedules {

using namespace Halide;

Config default_sdpa_cpu(const Target& target, int head_dim) {
  const int vec = target.natural_vector_size<float>();
  Config c;
  c.kernel = "sdpa";
  c.knobs = {{"q_tile", 32},  {"kv_block", 4 * vec}, {"qk_rows", 4},
             {"pv_rows", 4},  {"pv_width", std::min(head_dim, 4 * vec)},
             {"vec", vec},    {"rfactor", 1}};
  return c;
}

void apply_sdpa_cpu(const Config& c, generators::SdpaFuncs& f, const Target& target) {
  (void)target;
  const int q_tile = int(c.get("q_tile")), kv_block = int(c.get("kv_block"));
  const int qk_rows = int(c.get("qk_rows")), pv_rows = int(c.get("pv_rows"));
  const int pv_width = int(c.get("pv_width")), vec = int(c.get("vec"));
  const bool use_rfactor = c.get("rfactor") != 0;
  Var d = f.d, i = f.i, j = f.j, h = f.h, b = f.b;

  // Output: query tiles x heads x batch in parallel; register tiles of pv_rows x pv_width.
  Var io("io"), ii("ii"), task("task"), dO("dO"), dI("dI"), iO("iO"), iI("iI");
  f.out.split(i, io, ii, q_tile, TailStrategy::GuardWithIf)
      .fuse(io, h, task)
      .fuse(task, b, task)
      .parallel(task)
      .split(d, dO, dI, pv_width)
      .split(ii, iO, iI, pv_rows, TailStrategy::GuardWithIf)
      .reorder(dI, iI, dO, iO, task)
      .vectorize(dI)
      .unroll(iI);
  f.pv.compute_at(f.out, dO).vectorize(d).unroll(i);
  f.pv.update().reorder(d, i, f.rv.x).vectorize(d).unroll(i);

  // K transposed once for all tasks.
  Var hk("hk"), jO("jO"), jI("jI");
  Var hkb("hkb");
  f.kt.compute_root().split(j, jO, jI, vec).reorder(jI, d, jO).vectorize(jI).fuse(hk, b, hkb).parallel(hkb);

  // Per task: Q tile (scaled), scores, softmax statistics, exps.
  f.qs.compute_at(f.out, task).vectorize(d, vec);
  f.scores.compute_at(f.out, task)
      .split(j, jO, jI, kv_block)
      .split(i, iO, iI, qk_rows)
      .reorder(jI, iI, jO, iO)
      .vectorize(jI)
      .unroll(iI);
  f.dot.compute_at(f.scores, jO).vectorize(j).unroll(i);
  f.dot.update().reorder(j, i, f.rd.x).vectorize(j).unroll(i);

  f.exps.compute_at(f.out, task).vectorize(j, vec);
  for (Func* stat : {&f.row_max, &f.row_sum}) {
    stat->compute_at(f.out, task);
    if (use_rfactor) {
      RVar kO("kO"), kI("kI");
      Var u("u");
      Func partial = stat->update().split(f.rk.x, kO, kI, vec).rfactor(kI, u);
      partial.compute_at(f.out, task).reorder_storage(u, i).vectorize(u);
      partial.update().reorder(u, kO, i).vectorize(u);
    }
  }
}

}  // namespace attune::schedules
