// GPU schedules (CUDA, OpenCL) for the materialised SDPA algorithm.
//
// One kernel per stage, scores and exps in GPU memory: K packed into panels of `vec` keys;
// QK^T in thread blocks of q_tile x kv_block scores, each thread a register tile of qk_rows x
// qk_keys (Q rows and K panels optionally staged in shared memory); row max and row sum with 32
// threads per row (rfactor); exps elementwise; PV in blocks of pv_q_tile x pv_block_width
// outputs, each thread a register tile of pv_rows x pv_width (P and V read through L1). The
// knob max_registers is no schedule: the runner hands it to Halide's CUDA runtime, which caps
// registers when the driver loads the kernels. Next: a fused (flash) GPU schedule, and P and V
// tiles staged in shared memory with the key loop outside the thread loops.
#include "schedules/apply.h"

#include <algorithm>

#include "attune/attention.h"

namespace attune::schedules {

using namespace Halide;
using generators::SdpaAlgorithm;
using generators::SdpaFuncs;

namespace {

struct GpuKnobs {
  int q_tile, kv_block, vec, qk_keys, qk_rows, qk_unroll, pv_q_tile, pv_block_width, pv_width, pv_rows, pv_unroll,
      stat_rows;
  bool qk_stage;
  explicit GpuKnobs(const Config& c)
      : q_tile(int(c.get("q_tile"))), kv_block(int(c.get("kv_block"))), vec(int(c.get("vec"))),
        qk_keys(int(c.get("qk_keys"))),
        qk_rows(int(c.get("qk_rows"))), qk_unroll(int(c.get("qk_unroll"))), pv_q_tile(int(c.get("pv_q_tile"))),
        pv_block_width(int(c.get("pv_block_width"))), pv_width(int(c.get("pv_width"))),
        pv_rows(int(c.get("pv_rows"))), pv_unroll(int(c.get("pv_unroll"))), stat_rows(int(c.get("stat_rows"))),
        qk_stage(c.get("qk_stage") != 0) {}
};

// A block's cooperative copy of `f`'s region (computed at `at`, so stored in shared memory):
// the elements of its first `dims` dimensions (the others have extent 1 in a block), in
// storage order, spread over the block's tx x ty threads.
void stage_in_block(Func f, LoopLevel at, int dims, int tx, int ty) {
  std::vector<Var> a = f.args();
  Var all("all"), rest("rest"), t("t"), x("x"), y("y");
  Stage s = f;
  s.fuse(a[0], a[1], all);
  for (int n = 2; n < dims; ++n) s.fuse(all, a[n], all);
  f.compute_at(at);
  s.split(all, rest, t, tx * ty, TailStrategy::GuardWithIf).split(t, y, x, tx).gpu_threads(x, y);
}

// Row max or sum over `rk`: 32 threads per row each reduce a strided share of the keys
// (consecutive threads read consecutive keys), then one thread per row the 32 partials.
void schedule_row_stat(const GpuKnobs& k, Func stat, RVar rk, Var row, Var h, Var b) {
  Var rO("rO"), rI("rI"), hb("hb"), u("u");
  RVar kO("kO"), kI("kI");
  Func partial = stat.update().split(rk, kO, kI, 32).rfactor(kI, u);
  stat.compute_root();
  for (Stage s : {Stage(stat), stat.update()})
    s.split(row, rO, rI, k.stat_rows, TailStrategy::GuardWithIf).fuse(h, b, hb).gpu_blocks(rO, hb).gpu_threads(rI);
  partial.compute_at(stat, rO).reorder(u, row).gpu_threads(u, row);
  partial.update().reorder(kO, u, row).gpu_threads(u, row);
}

void apply_materialized(const GpuKnobs& k, SdpaFuncs& f) {
  Var d = f.d, i = f.i, j = f.j, h = f.h, b = f.b, hb("hb");

  // K packed into panels: thread (d, panel) stores its vec keys as one vector.
  {
    const std::vector<Var> a = f.kt.args();  // jI, d, jO, hk, b
    Var dO("dO"), dI("dI"), pO("pO"), pI("pI"), hkb("hkb");
    f.kt.compute_root().bound(a[0], 0, f.k_panel).vectorize(a[0]).fuse(a[3], a[4], hkb)
        .gpu_tile(a[1], a[2], dO, pO, dI, pI, 16, 16, TailStrategy::GuardWithIf).gpu_blocks(hkb);
  }

  // QK^T: blocks of q_tile rows x kv_block keys; threads of qk_rows x qk_keys (vectors of vec keys).
  {
    const int tx = k.kv_block / k.qk_keys, ty = k.q_tile / k.qk_rows;
    Var jO("jO"), iO("iO"), jT("jT"), iT("iT"), jR("jR"), iR("iR");
    f.scores.compute_root()
        .align_bounds(j, k.kv_block)  // blocks start on kt panels (causal trims the keys' range)
        .split(j, jO, jT, k.kv_block)  // keys are padded to a kv_block multiple
        .split(i, iO, iT, k.q_tile, TailStrategy::RoundUp)  // rows past seq_q read a clamped Q row
        .split(jT, jT, jR, k.qk_keys)
        .split(iT, iT, iR, k.qk_rows)
        .reorder(jR, iR, jT, iT, jO, iO, h, b)
        .fuse(h, b, hb)
        .gpu_blocks(jO, iO, hb)
        .gpu_threads(jT, iT)
        .vectorize(jR, k.vec)
        .unroll(jR)
        .unroll(iR);
    RVar rO("rO"), rI("rI");
    f.dot.compute_at(f.scores, jT).vectorize(j, k.vec).unroll(j).unroll(i);
    f.dot.update()
        .split(f.rd.x, rO, rI, k.qk_unroll, TailStrategy::GuardWithIf)
        .reorder(j, i, rI, rO)
        .vectorize(j, k.vec)
        .unroll(j)
        .unroll(i)
        .unroll(rI);
    if (k.qk_stage) {
      const LoopLevel block(f.scores, jO);
      stage_in_block(f.qs, block, 2, tx, ty);  // d, i
      // Keys contiguous per head_dim step: a warp's vector loads then hit distinct banks.
      Func kt_s = f.kt.in(f.dot);
      const std::vector<Var> a = kt_s.args();  // jI, d, jO, hk, b
      kt_s.reorder_storage(a[0], a[2], a[1], a[3], a[4]);
      stage_in_block(kt_s, block, 3, tx, ty);  // jI, d, jO
    }
  }

  // Row statistics and the exps (elementwise, vec keys per thread).
  schedule_row_stat(k, f.row_max, f.rk.x, i, h, b);
  {
    Var jO("jO"), iO("iO"), jT("jT"), iT("iT"), jV("jV");
    f.exps.compute_root()
        .split(j, j, jV, 4)  // keys are padded to a kv_block multiple: whole float4s
        .vectorize(jV)
        .fuse(h, b, hb)
        .gpu_tile(j, i, jO, iO, jT, iT, 32, 8, TailStrategy::GuardWithIf)
        .gpu_blocks(hb);
  }
  schedule_row_stat(k, f.row_sum, f.rk.x, i, h, b);

  // PV: blocks of pv_q_tile rows x pv_block_width columns; threads of pv_rows x pv_width.
  {
    const int vw = std::min(4, k.pv_width);  // float4 at most: the widest load and store
    Var dO("dO"), iO("iO"), dT("dT"), iT("iT"), dR("dR"), iR("iR");
    Stage(f.out)
        .split(d, dO, dT, k.pv_block_width)  // divides head_dim (a static multiple of 8)
        .split(i, iO, iT, k.pv_q_tile, TailStrategy::GuardWithIf)
        .split(dT, dT, dR, k.pv_width)
        .split(iT, iT, iR, k.pv_rows, TailStrategy::GuardWithIf)
        .reorder(dR, iR, dT, iT, dO, iO, h, b)
        .fuse(h, b, hb)
        .gpu_blocks(dO, iO, hb)
        .gpu_threads(dT, iT)
        .vectorize(dR, vw)
        .unroll(dR)
        .unroll(iR);
    RVar rO("rO"), rI("rI");
    f.pv.compute_at(f.out, dT).vectorize(d, vw).unroll(d).unroll(i);
    f.pv.update()
        .split(f.rv.x, rO, rI, k.pv_unroll, TailStrategy::GuardWithIf)
        .reorder(d, i, rI, rO)
        .vectorize(d, vw)
        .unroll(d)
        .unroll(i)
        .unroll(rI);
  }
}

}  // namespace

void apply_sdpa_gpu(const Config& c, SdpaFuncs& f, const Target&) {
  if (f.algorithm != SdpaAlgorithm::kMaterialized)
    throw Error("GPU schedule: only the materialised algorithm (0) has one");
  if (f.static_head_dim <= 0) throw Error("GPU schedule: needs a compile-time head_dim");
  apply_materialized(GpuKnobs(c), f);
}

}  // namespace attune::schedules
