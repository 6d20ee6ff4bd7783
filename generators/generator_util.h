// Helpers shared by attune's generators (buffer layout constraints).
#pragma once

#include <string>

#include "Halide.h"

#include "attune/attention.h"
#include "generators/sdpa_algorithm.h"
#include "schedules/apply.h"

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

// The config a generator compiles: `json` if given (validated against the kernel's space,
// invalid configs are rejected before compiling), else the space's default for the target.
inline schedules::Config resolve_config(const std::string& kernel, const std::string& json,
                                        const Halide::Target& target, int head_dim, bool causal,
                                        bool decode = false) {
  const auto space = schedules::space_for_target(kernel, target, head_dim, causal, decode);
  const schedules::Config cfg =
      json.empty() ? space.default_config() : space.complete(schedules::Config::from_json(json));
  if (auto why = space.validate(cfg)) throw Error(kernel + " generator: invalid config: " + *why);
  return cfg;
}

// Algorithm inputs from a generator's buffers (q/k/v as (d, s, h, b), mask as (j, b)).
template <typename Buf, typename MaskBuf, typename Scalar>
SdpaInputs sdpa_inputs(Buf& q, Buf& k, Buf& v, MaskBuf& mask, Scalar& scale, int head_dim,
                       bool causal, bool has_mask) {
  SdpaInputs in;
  in.q = q; in.k = k; in.v = v; in.mask = mask; in.scale = scale;
  in.head_dim = head_dim > 0 ? Halide::Expr(head_dim) : q.dim(0).extent();
  in.seq_q = q.dim(1).extent();
  in.seq_kv = k.dim(1).extent();
  in.num_heads = q.dim(2).extent();
  in.num_kv_heads = k.dim(2).extent();
  in.causal = causal;
  in.has_mask = has_mask;
  return in;
}

inline SdpaShapeParams shape_params(const schedules::Config& cfg, int head_dim) {
  SdpaShapeParams shape;
  shape.kv_block = int(cfg.get("kv_block"));
  shape.q_tile = int(cfg.get("q_tile"));
  shape.head_dim = head_dim;
  shape.k_panel = int(cfg.get("vec"));
  shape.pv_kblock = int(cfg.get_or("pv_kblock", 0));
  shape.pack_group = cfg.get_or("kv_group_inner", 0) != 0;
  return shape;
}

}  // namespace attune::generators
