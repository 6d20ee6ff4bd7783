#include "scratch.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace attune::detail {
namespace {

// Every block starts with a header; the pointer handed to Halide follows it, kAlign-aligned
// (vector loads; Halide also reads a few bytes either side of a buffer, hence kSlack).
constexpr std::size_t kAlign = 128, kSlack = 64, kHugePage = std::size_t(2) << 20;

struct Header {
  void* base;            // what malloc or mmap returned (mmap: the mapping's start)
  std::size_t mapped;    // bytes mapped; 0 = from malloc
  std::size_t capacity;  // usable bytes from the user pointer on
};

Header* header_of(void* p) { return reinterpret_cast<Header*>(static_cast<char*>(p) - sizeof(Header)); }

void* place(void* base, std::size_t mapped, std::size_t total) {
  char* user = static_cast<char*>(base) + kAlign;  // base is kAlign-aligned: room for the header
  *header_of(user) = Header{base, mapped, total - kAlign - kSlack};
  return user;
}

// A mapping of `bytes`, its pages faulted in by one call rather than one trap per page (the
// block is about to be written whole: a tile's scores, K's panels). From 2 MiB on, a 2 MiB
// multiple on a 2 MiB boundary, advised as huge pages (smaller blocks would fault a whole huge
// page in for a few small pages' worth of use).
void* map_block(std::size_t bytes) {
  const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (bytes < kHugePage) {
    void* p = mmap(nullptr, bytes, prot, flags | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  void* raw = mmap(nullptr, bytes + kHugePage, prot, flags, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  if (const std::size_t tail = start + bytes + kHugePage - (aligned + bytes)) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  void* block = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(block, bytes, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
  madvise(block, bytes, MADV_POPULATE_WRITE);  // Linux >= 5.14; older kernels fault on first use
#endif
  return block;
}

void unmap(Header* h) { munmap(h->base, h->mapped); }

// The big blocks this thread freed, oldest first.
struct Cache {
  Header* blocks[kMaxCachedBlocks] = {};
  int count = 0;
  std::size_t bytes = 0;

  void* take(std::size_t need) {
    int best = -1;
    for (int n = 0; n < count; ++n)
      if (blocks[n]->capacity >= need && (best < 0 || blocks[n]->capacity < blocks[best]->capacity)) best = n;
    if (best < 0) return nullptr;
    Header* h = blocks[best];
    remove(best);
    return reinterpret_cast<char*>(h) + sizeof(Header);
  }
  void put(Header* h) {
    if (h->mapped > kMaxCachedBytes) return unmap(h);
    while (count == kMaxCachedBlocks || bytes + h->mapped > kMaxCachedBytes) evict_oldest();
    blocks[count++] = h;
    bytes += h->mapped;
  }
  void remove(int n) {
    bytes -= blocks[n]->mapped;
    for (int m = n; m + 1 < count; ++m) blocks[m] = blocks[m + 1];
    --count;
  }
  void evict_oldest() {
    Header* h = blocks[0];
    remove(0);  // before unmapping: the header lives in the block
    unmap(h);
  }
  ~Cache() {
    while (count > 0) evict_oldest();
    alive = false;
  }
  static thread_local bool alive;  // false once this thread's cache is destroyed (thread exit)
};
thread_local bool Cache::alive = true;
thread_local Cache cache;

}  // namespace

void* scratch_malloc(void*, std::size_t bytes) {
  if (bytes < kMinCachedBytes) {
    const std::size_t total = bytes + kAlign + kSlack;
    void* base = std::aligned_alloc(kAlign, (total + kAlign - 1) / kAlign * kAlign);
    return base ? place(base, 0, total) : nullptr;
  }
  if (Cache::alive)
    if (void* p = cache.take(bytes)) return p;
  const std::size_t total = bytes + kAlign + kSlack;
  const std::size_t granule = total >= kHugePage ? kHugePage : kMinCachedBytes;
  const std::size_t mapped = (total + granule - 1) / granule * granule;
  void* base = map_block(mapped);
  return base ? place(base, mapped, mapped) : nullptr;
}

void scratch_free(void*, void* p) {
  if (!p) return;
  Header* h = header_of(p);
  if (h->mapped == 0) return std::free(h->base);
  if (Cache::alive) return cache.put(h);
  unmap(h);
}

}  // namespace attune::detail
