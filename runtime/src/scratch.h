// Halide's scratch memory (halide_malloc / halide_free) for attune's kernels.
//
// glibc hands big freed blocks back to the kernel (munmap, heap trimming), so every task of a
// call faulted its score tiles in again, page by page: a fresh process's first call at S=4096
// took 260k page faults and ran at 40% of the speed of a repeated one. Instead each thread
// keeps the big blocks it freed (up to kMaxCachedBytes) and reuses them; new big blocks are
// mapped on 2 MiB boundaries and advised as huge pages, so the first use faults 512x fewer times.
#pragma once

#include <cstddef>

namespace attune::detail {

void* scratch_malloc(void* user_context, std::size_t bytes);
void scratch_free(void* user_context, void* ptr);

// Blocks at least this big are cached per thread; smaller ones come from malloc. Not higher:
// glibc's per-thread arenas trim a freed block at their top, so a task's 32 KiB buffers were
// faulted in again by every task (170 faults in a first S=512 call, ~10 us each in a VM).
constexpr std::size_t kMinCachedBytes = std::size_t(16) << 10;
// What one thread keeps at most, in at most kMaxCachedBlocks blocks (its oldest go first).
constexpr std::size_t kMaxCachedBytes = std::size_t(256) << 20;
constexpr int kMaxCachedBlocks = 16;

}  // namespace attune::detail
