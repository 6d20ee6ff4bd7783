// The kernel pack ABI shared by the runtime (packs.cpp, which loads packs) and the tuner's
// pack builder (`attune export --pack`). Bump attune::kPackAbiVersion on any change.
#pragma once

namespace attune::detail {

// extern "C" int attune_pack_abi_version(void): attune::kPackAbiVersion of the builder.
constexpr const char* kPackAbiSymbol = "attune_pack_abi_version";
// extern "C" const char* attune_pack_manifest(void): JSON {"target": Halide target string,
// "attune_version": ..., "kernels": [{"name", "generator", "head_dim", "causal", "mask",
// "buckets": ["decode"|"short"|"medium"|"long", ...], "config": {...}}]}; each kernel is an
// exported function `name` with the generator's signature (see attune/kernel_registry.h).
constexpr const char* kPackManifestSymbol = "attune_pack_manifest";

}  // namespace attune::detail
