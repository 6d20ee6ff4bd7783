// Halide's scratch memory (halide_malloc / halide_free) for attune's kernels.
//
// glibc hands freed blocks back to the kernel (munmap of big ones, trimming of its arenas), so
// every task of a call faulted its scratch in again, page by page: a fresh process's first call
// at S=4096 took 260k page faults and ran at 40% of the speed of a repeated one. Instead every
// block is whole pages, and each thread keeps the blocks it freed (up to kMaxCachedBytes) and
// reuses them; a thread that ends leaves its blocks to the others. New blocks come from a
// reserve prefaulted as the library loads, then from fresh mappings (populated; from 2 MiB on,
// 2 MiB-aligned and advised as huge pages).
#pragma once

#include <cstddef>

namespace attune::detail {

void* scratch_malloc(void* user_context, std::size_t bytes);
void scratch_free(void* user_context, void* ptr);

// Maps the reserve (`bytes`, rounded up to 2 MiB) and touches every page of it; once, from the
// library's load-time warm-up thread. Blocks may be cut from it while it is being touched.
void prefault_reserve(std::size_t bytes);

// What one thread keeps at most, in at most kMaxCachedBlocks blocks (its oldest go first).
constexpr std::size_t kMaxCachedBytes = std::size_t(256) << 20;
constexpr int kMaxCachedBlocks = 32;  // a task holds a few blocks: score tiles, row sums, ...

}  // namespace attune::detail
