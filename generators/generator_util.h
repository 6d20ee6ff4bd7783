// Helpers shared by attune's generators (buffer layout constraints).
#pragma once

#include "Halide.h"

namespace attune::generators {

// Row-major [b, h, s, inner], contiguous within a batch (the batch stride is free: the
// runtime may pass head slices). A compile-time inner extent (> 0) makes every stride a
// constant, which lets LLVM fold the address arithmetic of the inner loops.
template <typename Buf>
void constrain_rows(Buf& buf, int inner_extent) {
  if (inner_extent > 0) buf.dim(0).set_extent(inner_extent);
  buf.dim(0).set_min(0).set_stride(1);
  buf.dim(1).set_min(0).set_stride(buf.dim(0).extent());
  buf.dim(2).set_min(0).set_stride(buf.dim(0).extent() * buf.dim(1).extent());
  buf.dim(3).set_min(0);
}

}  // namespace attune::generators
