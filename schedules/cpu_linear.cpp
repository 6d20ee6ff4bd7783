// CPU schedule for the linear (projection GEMM) kernel: W packed in panels once; per task a tile of
// rows x all output features of one output head, register tiles of `rows` x `width`
// accumulators (width along output features, vectorised), reduced over input features.
#include "schedules/apply.h"

namespace attune::schedules {

using namespace Halide;

void apply_linear_cpu(const Config& c, generators::LinearFuncs& f, const Target&) {
  const int row_tile = int(c.get("row_tile")), rows = int(c.get("rows")), width = int(c.get("width"));
  const int vec = int(c.get("vec"));
  Var n = f.n, s = f.s, h = f.h, b = f.b, k = f.k;
  Var so("so"), si("si"), task("task"), no("no"), ni("ni"), sO("sO"), sI("sI");
  Var panels("panels");
  f.wt.compute_root().bound(f.nI, 0, f.panel).vectorize(f.nI, vec).fuse(f.nO, h, panels).parallel(panels);
  // Register tiles must be constant-size to live in registers: row groups shift inwards inside
  // a task (row_tile is a multiple of rows). When the outputs cover a whole task tile, the
  // tasks shift inwards too, so the register tile's rows are a constant (guarded task rows
  // made every row of the unrolled tile a run-time check: ~40 instructions per 12 FMAs);
  // fewer rows are predicated.
  Expr seq = f.out.output_buffer().dim(1).extent();
  for (bool full : {true, false}) {
    Stage st = full ? Stage(f.out.specialize(seq >= row_tile)) : Stage(f.out);
    const TailStrategy tail = full ? TailStrategy::ShiftInwards : TailStrategy::GuardWithIf;
    st.split(s, so, si, row_tile, tail).fuse(so, h, task).fuse(task, b, task).parallel(task);
    // Feature tiles start on W panel boundaries (never shifted inwards): the register tile
    // then reads whole panels with dense loads; a partial last tile is predicated.
    st.split(n, no, ni, width, TailStrategy::GuardWithIf)
        .split(si, sO, sI, rows, TailStrategy::ShiftInwards)
        .reorder(ni, sI, no, sO, task)
        .vectorize(ni, vec, TailStrategy::GuardWithIf)
        .unroll(sI);
  }
  // The accumulator tile is one W panel wide at a panel boundary, a constant-size buffer
  // (guarded feature tiles would otherwise give it a run-time extent: no registers).
  f.dot.compute_at(f.out, no)
      .align_bounds(n, width)
      .bound_extent(n, width)
      .unroll(s)
      .vectorize(n, vec, TailStrategy::GuardWithIf)
      .unroll(n);
  f.dot.update().reorder(n, s, f.r.x, f.r.y).unroll(s).vectorize(n, vec, TailStrategy::GuardWithIf).unroll(n);
  f.dot.store_in(MemoryType::Stack);  // small register tile: never the heap
}

}  // namespace attune::schedules
