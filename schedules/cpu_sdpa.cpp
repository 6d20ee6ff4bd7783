// CPU schedules for the SDPA algorithms.
//
// One parallel task = (query tile, head, batch). Score blocks are computed in register tiles
// of qk_rows x kv_block (small constant-size accumulator Funcs, fully vectorised/unrolled so
// LLVM keeps them in vector registers); row max/sum reduce `vec` lanes at a time (rfactor);
// PV is register-blocked pv_rows x pv_width along head_dim. K is transposed once up front.
#include "schedules/apply.h"

#include <algorithm>

#include "attune/attention.h"

namespace attune::schedules {

using namespace Halide;
using generators::SdpaAlgorithm;
using generators::SdpaFuncs;

Space cpu_space(const std::string& kernel, const Target& target, int head_dim, bool causal, bool decode) {
  SpaceParams p;
  p.decode = decode;
  p.kernel = kernel;
  p.head_dim = head_dim;
  p.causal = causal;
  p.vector_width = target.natural_vector_size<float>();
  p.num_registers = target.has_feature(Target::AVX512) ? 32 : 16;
  return Space(p);
}

namespace {

struct Knobs {
  int q_tile, kv_block, qk_rows, pv_rows, pv_width, vec, pv_kblock, q_group;
  bool rfactor, k_transpose, key_blocks_outer, pv_stream;  // kv_group_inner: the algorithm's pack_group
  TailStrategy d_tail;  // along head_dim: exact for a static multiple of vec, else guarded
  Knobs(const Config& c, int head_dim)
      : q_tile(int(c.get("q_tile"))), kv_block(int(c.get("kv_block"))),
        qk_rows(int(c.get("qk_rows"))), pv_rows(int(c.get("pv_rows"))),
        pv_width(int(c.get("pv_width"))), vec(int(c.get("vec"))),
        pv_kblock(int(c.get_or("pv_kblock", 0))), q_group(int(c.get_or("q_group", 1))),
        rfactor(c.get("rfactor") != 0),
        k_transpose(c.get_or("k_transpose", 1) != 0),
        key_blocks_outer(c.get_or("qk_order", 0) != 0), pv_stream(c.get_or("pv_stream", 0) != 0),
        d_tail(head_dim > 0 && head_dim % vec == 0 ? TailStrategy::Auto : TailStrategy::GuardWithIf) {}
};

// One parallel task per (outer, head, batch): fuses the three loops into `task`.
Stage& parallel_tasks(Stage& s, Var outer, Var h, Var b, Var task) {
  return s.fuse(outer, h, task).fuse(task, b, task).parallel(task);
}

// Score block: `scores` (stored) over (key, row) computed in register tiles by `dot`.
void schedule_scores(const Knobs& k, Func scores, Func dot, Var key, Var row, RVar rd, LoopLevel at) {
  Var kO("kO"), kI("kI"), rO("rO"), rI("rI");
  scores.compute_at(at)
      .align_bounds(key, k.kv_block)  // key blocks start on panel boundaries of kt (see k_t())
      .split(key, kO, kI, k.kv_block)
      .split(row, rO, rI, k.qk_rows)
      .reorder(k.key_blocks_outer ? std::vector<VarOrRVar>{kI, rI, rO, kO} : std::vector<VarOrRVar>{kI, rI, kO, rO})
      .vectorize(kI)
      .unroll(rI);
  // Vectors of `vec` keys (one kt panel each), unrolled over the block's vectors and rows.
  Var vO("vO"), vI("vI");
  dot.compute_at(scores, k.key_blocks_outer ? rO : kO).split(key, vO, vI, k.vec).vectorize(vI).unroll(vO).unroll(row);
  dot.update().split(key, vO, vI, k.vec).reorder(vI, vO, row, rd).vectorize(vI).unroll(vO).unroll(row);
}

// Row statistic (max or sum) over `rk`: rfactor into `vec` lanes so the reduction is vertical.
void schedule_row_stat(const Knobs& k, Func stat, RVar rk, Var row, LoopLevel at) {
  stat.compute_at(at);
  if (!k.rfactor) return;
  RVar kO("kO"), kI("kI");
  Var u("u");
  Func partial = stat.update().split(rk, kO, kI, k.vec).rfactor(kI, u);
  // rfactor stores u outermost; keep it innermost so the vector access is dense.
  partial.compute_at(at).reorder_storage(u, row).vectorize(u);
  partial.update().reorder(u, kO, row).vectorize(u);
}

// PV register tile (rows x pv_width accumulators), reduced over the keys `rk`.
void schedule_pv(const Knobs& k, Func pv, Var d, Var row, RVar rk, LoopLevel at) {
  pv.compute_at(at).unroll(row).store_in(MemoryType::Stack);
  pv.update().reorder(d, row, rk).unroll(row);
  if (k.d_tail == TailStrategy::GuardWithIf) {  // extent along d not a constant: predicate
    pv.vectorize(d, k.vec, TailStrategy::GuardWithIf);
    pv.update().vectorize(d, k.vec, TailStrategy::GuardWithIf);
  } else {
    pv.vectorize(d);
    pv.update().vectorize(d);
  }
}

// A query tile's accumulator `acc` (over d and `row`, the tile's rows) folds in one KV block
// per step of `block`: per register tile (pv_rows x pv_width), the block's PV `block_pv` is
// summed in registers over `key`, then added to acc.
// With `group` (flash's q_group), acc holds several tiles (indexed by group) and the block loop
// runs outside them: each KV block serves every tile of the group from L2.
void schedule_block_fold(const Knobs& k, Func acc, Var d, Var row, RVar block, Func block_pv, Var pv_row,
                         RVar key, LoopLevel tile, const Var* group = nullptr) {
  Var dO("dO"), dI("dI"), iO("iO"), iI("iI");
  acc.compute_at(tile).vectorize(d, k.vec, TailStrategy::GuardWithIf);
  std::vector<VarOrRVar> order{dI, iI, dO, iO};
  if (group) order.push_back(*group);
  order.push_back(block);
  acc.update()
      .split(d, dO, dI, k.pv_width, k.d_tail)
      .split(row, iO, iI, k.pv_rows)
      .reorder(order)
      .vectorize(dI)
      .unroll(iI);
  schedule_pv(k, block_pv, d, pv_row, key, LoopLevel(acc, dO));
}

// Materialised algorithm, per query tile: Q rows, all scores, their max, exps and sum.
void schedule_softmax_tile(const Knobs& k, SdpaFuncs& f, LoopLevel tile) {
  f.qs.compute_at(tile).vectorize(f.d, k.vec, k.d_tail);
  schedule_scores(k, f.scores, f.dot, f.j, f.i, f.rd.x, tile);
  f.exps.compute_at(tile).vectorize(f.j, k.vec);
  schedule_row_stat(k, f.row_max, f.rk.x, f.i, tile);
  schedule_row_stat(k, f.row_sum, f.rk.x, f.i, tile);
}

void apply_materialized(const Knobs& k, SdpaFuncs& f) {
  Var d = f.d, i = f.i, h = f.h, b = f.b;
  Var io("io"), ii("ii"), task("task"), dO("dO"), dI("dI"), iO("iO"), iI("iI");
  Stage out = f.out;
  parallel_tasks(out.split(i, io, ii, k.q_tile, TailStrategy::GuardWithIf), io, h, b, task)
      .split(d, dO, dI, k.pv_width, k.d_tail)
      .split(ii, iO, iI, k.pv_rows, TailStrategy::GuardWithIf)
      .reorder(dI, iI, dO, iO, task)
      .vectorize(dI)
      .unroll(iI);
  if (k.pv_kblock == 0) {
    schedule_pv(k, f.pv, d, i, f.rv.x, LoopLevel(f.out, dO));
  } else {
    // Key blocks: the tile's accumulator pvt lives at the task (q_tile x head_dim, in L1); per
    // block, each register tile sums its keys (pvb) and adds itself to pvt. A V block is then
    // read from L1 by all row groups, where a whole-key walk per row group streamed all of V
    // (beyond L2 next to K and the scores) q_tile / pv_rows times.
    schedule_block_fold(k, f.pvt, d, f.ii, f.rv.x, f.pvb, f.ii, f.rvb.x, LoopLevel(f.out, task));
  }
  schedule_softmax_tile(k, f, LoopLevel(f.out, task));
}

void apply_flash(const Knobs& k, SdpaFuncs& f) {
  Var d = f.d, i = f.i, h = f.h, b = f.b, jj = f.jj, ii = f.ii, it = f.it;
  Var task("task"), ig("ig"), ir("ir");
  // A task is q_group state tiles (q_tile rows each) of the output.
  Stage out = f.out;
  const bool grouped = k.q_group > 1;
  if (grouped)
    parallel_tasks(out.split(i, ig, ir, k.q_tile * k.q_group, TailStrategy::GuardWithIf), ig, h, b, task);
  else
    parallel_tasks(out.split(i, it, ii, k.q_tile, TailStrategy::GuardWithIf), it, h, b, task);
  out.vectorize(d, k.vec, TailStrategy::GuardWithIf);
  LoopLevel tile(f.out, task);
  f.qs.compute_at(tile).vectorize(d, k.vec, k.d_tail);

  // State (the online softmax's accumulator): per KV block rb, fold in the block's PV; grouped,
  // per KV block, each tile of the group in turn.
  schedule_block_fold(k, f.state, d, ii, f.rb.x, f.bpv, i, f.rpv.x, tile, grouped ? &it : nullptr);

  LoopLevel block = grouped ? LoopLevel(f.state, it) : LoopLevel(f.state, f.rb.x);
  schedule_scores(k, f.bscore, f.bdot, jj, i, f.rd.x, block);
  f.bexp.compute_at(block).vectorize(jj, k.vec);
  schedule_row_stat(k, f.bmax, f.rjj.x, i, block);
  schedule_row_stat(k, f.bsum, f.rjj.x, i, block);
}

// Split-KV combination: per (head, batch), all query rows.
void schedule_split_kv_combine(const Knobs& k, SdpaFuncs& f) {
  Var d = f.d, h = f.h, b = f.b, task("task");
  f.out.fuse(h, b, task).parallel(task).vectorize(d, k.vec, TailStrategy::GuardWithIf);
  LoopLevel at(f.out, task);
  f.global_max.compute_at(at);
  f.denominator.compute_at(at);
  f.numerator.compute_at(at).vectorize(d, k.vec, TailStrategy::GuardWithIf);
  f.numerator.update().vectorize(d, k.vec, TailStrategy::GuardWithIf);
}

// Split-KV (decode): one parallel task per chunk computes the chunk's scores, softmax and PV
// partial (stages at the task: the chunk's K and V come from memory once, its scores stay in
// cache, and there is one parallel loop, not one per stage). A task is a (chunk, head, batch),
// or with kv_group_inner (GQA packing) a (chunk, KV head, batch) whose rows are the query rows
// of all heads of the group, register-blocked together: each K and V row loaded serves them
// all. The combination is parallel over (head, batch).
void apply_split_kv(const Knobs& k, SdpaFuncs& f) {
  Var d = f.d, i = f.i, h = f.h, b = f.b, jj = f.jj, kb = f.kb;
  Var task("task"), dO("dO"), dI("dI"), iO("iO"), iI("iI"), jO("jO"), jI("jI");
  Func partial = f.chunk;
  partial.compute_root();
  Stage s = partial;
  // Chunks in parallel inside (head, batch) in parallel: with the three fused into one loop,
  // bounds inference would see a range of chunks per task (the fused index's modulo), and the
  // PV register tile a variable size it cannot keep in registers.
  if (k.pv_stream) {  // PV at the chunk: the partial is a copy of its rows (no register tiles)
    s.reorder(d, i, kb, h, b).fuse(h, b, task).parallel(task).parallel(kb).vectorize(d, k.vec, k.d_tail);
  } else {
    s.split(d, dO, dI, k.pv_width, k.d_tail).split(i, iO, iI, k.pv_rows, TailStrategy::RoundUp).reorder(dI, iI, dO, iO, kb, h, b);
    s.fuse(h, b, task).parallel(task).parallel(kb).vectorize(dI).unroll(iI);
  }
  // Long KV: chunks of kv_block keys, loops of constant trip count (a chunk as long as the
  // keys of a short KV, see define_split_kv, has runtime ones: up to 14% slower at 4096 keys in
  // one A/B). The specialisation copies the loop nest scheduled so far.
  partial.specialize(f.full_chunks);
  const LoopLevel chunk(partial, kb);
  f.qs.compute_at(chunk).vectorize(d, k.vec, k.d_tail);
  if (f.pack_group) f.qp.compute_at(chunk).vectorize(d, k.vec, k.d_tail);

  // Scores in register tiles of qk_rows rows.
  f.bscore.compute_at(chunk);
  if (k.k_transpose) {
    // From the transposed K: qk_rows x (up to) 4 vectors of keys.
    f.bscore.split(jj, jO, jI, std::min(4 * k.vec, k.kv_block))
        .split(i, iO, iI, k.qk_rows, TailStrategy::RoundUp)
        .reorder(jI, iI, jO, iO)
        .vectorize(jI, k.vec)
        .unroll(iI);
    f.bdot.compute_at(f.bscore, jO).vectorize(jj, k.vec).unroll(i);
    f.bdot.update().reorder(jj, i, f.rd.x).vectorize(jj, k.vec).unroll(i);
  } else {
    // Straight from K's rows (no transposed copy: decode reads K once): per key, each row sums
    // `lanes` head_dim lanes at a time in independent vector accumulators (one would chain
    // every FMA on its predecessor's latency), then one horizontal sum per row.
    const int D = f.static_head_dim;
    int lanes = k.vec;
    for (int n : {4, 2})
      if (D > 0 && D % (n * k.vec) == 0 && k.qk_rows * n <= 12) {
        lanes = n * k.vec;
        break;
      }
    RVar rO("rO"), rI("rI");
    Var u("u");
    f.bscore.split(i, iO, iI, k.qk_rows, TailStrategy::RoundUp).reorder(iI, jj, iO).unroll(iI);
    f.bdot.compute_at(f.bscore, jj).unroll(i);
    Func lane_sums = f.bdot.update().split(f.rd.x, rO, rI, lanes, TailStrategy::GuardWithIf).rfactor(rI, u);
    lane_sums.compute_at(f.bscore, jj).reorder_storage(u, i).vectorize(u, k.vec).unroll(u).unroll(i);
    lane_sums.update().reorder(u, i, rO).vectorize(u, k.vec).unroll(u).unroll(i);
    f.bdot.update().atomic().vectorize(rI).unroll(i);  // horizontal sums as shuffle trees
  }
  schedule_row_stat(k, f.bmax, f.rjj.x, i, chunk);
  schedule_row_stat(k, f.bsum, f.rjj.x, i, chunk);
  // 2^(score - chunk max) once per key and row, vectorised over keys (inlined into PV it was a
  // scalar polynomial per key).
  f.bexp.compute_at(chunk).vectorize(jj, k.vec);
  if (k.pv_stream) {
    // PV key by key: each V row is read once, in order, straight from memory, and added into
    // all rows' accumulators (a rows x head_dim tile in L1), so the V stream runs while PV
    // computes instead of in a copy before it (register tiles would pass over V per tile).
    f.bpv.compute_at(chunk).vectorize(d, k.vec, k.d_tail);
    f.bpv.update().reorder(d, i, f.rpv.x).vectorize(d, k.vec, k.d_tail);
  } else {
    // PV: register tiles of pv_rows x pv_width, summed over the chunk's keys.
    schedule_pv(k, f.bpv, d, i, f.rpv.x, LoopLevel(partial, dO));
    // A tile narrower than head_dim reads a slice of each V row per pass: V's first pass from
    // memory would then stride through rows (a cache line or two of each), which the hardware
    // prefetchers do not stream. Copying the chunk's V rows first reads them in order.
    if (f.static_head_dim == 0 || k.pv_width < f.static_head_dim)
      f.v.in(f.bpv).compute_at(chunk).vectorize(f.v.args()[0], k.vec, k.d_tail);
  }
  schedule_split_kv_combine(k, f);
}

// K transposed into vector-wide panels once for all tasks.
void schedule_kt(const Knobs& k, SdpaFuncs& f) {
  const std::vector<Var> a = f.kt.args();  // jI, d, jO, hk, b
  Var hkb("hkb");
  f.kt.compute_root().bound(a[0], 0, f.k_panel).vectorize(a[0]).fuse(a[3], a[4], hkb).parallel(hkb);
}

}  // namespace

void apply_probs_cpu(const Config& c, SdpaFuncs& f, const Target&) {
  const Knobs k(c, f.static_head_dim);
  schedule_kt(k, f);
  Var i = f.i, j = f.j, h = f.h, b = f.b, io("io"), ii("ii"), task("task");
  Stage probs = f.probs;
  parallel_tasks(probs.split(i, io, ii, k.q_tile, TailStrategy::GuardWithIf), io, h, b, task)
      .vectorize(j, k.vec, TailStrategy::GuardWithIf);
  schedule_softmax_tile(k, f, LoopLevel(f.probs, task));
}

void apply_sdpa_cpu(const Config& c, SdpaFuncs& f, const Target&) {
  const Knobs k(c, f.static_head_dim);
  if (k.k_transpose) schedule_kt(k, f);  // else kt stays inline: K is read in place
  switch (f.algorithm) {
    case SdpaAlgorithm::kMaterialized: apply_materialized(k, f); break;
    case SdpaAlgorithm::kFlash: apply_flash(k, f); break;
    case SdpaAlgorithm::kSplitKv: apply_split_kv(k, f); break;
  }
}

}  // namespace attune::schedules
