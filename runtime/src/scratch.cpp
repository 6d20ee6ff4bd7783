#include "scratch.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace attune::detail {
namespace {

// Every block starts with a header; the pointer handed to Halide follows it, kAlign-aligned
// (vector loads; Halide also reads a few bytes either side of a buffer, hence kSlack).
constexpr std::size_t kAlign = 128, kSlack = 64, kPage = 4096, kHugePage = std::size_t(2) << 20;

struct Header {
  void* base;            // the block's first page
  std::size_t mapped;    // the block's bytes, whole pages
  std::size_t capacity;  // usable bytes from the user pointer on
  bool in_reserve;       // cut from the reserve: released, never unmapped (see unmap)
};

Header* header_of(void* p) { return reinterpret_cast<Header*>(static_cast<char*>(p) - sizeof(Header)); }

void* place(void* base, std::size_t mapped, bool in_reserve) {
  char* user = static_cast<char*>(base) + kAlign;  // base is page-aligned: room for the header
  *header_of(user) = Header{base, mapped, mapped - kAlign - kSlack, in_reserve};
  return user;
}

// Faults [p, p + bytes) in with one call rather than a trap per page.
void populate(char* p, std::size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  madvise(p, bytes, MADV_POPULATE_WRITE);  // Linux >= 5.14; older kernels fault on first use
#endif
}

// Populates [p, p + bytes) and reads one byte of every page: in VMs the first access to a page
// traps even when populated (~4.5 us a page here). Reads, so a block already in use is untouched.
void prefault(char* p, std::size_t bytes) {
  populate(p, bytes);
  for (std::size_t at = 0; at < bytes; at += kPage) (void)*static_cast<volatile char*>(p + at);
}

// `bytes` (a page multiple) of fresh memory; from 2 MiB on, starting on a 2 MiB boundary and
// advised as huge pages (a tail short of a whole huge page stays in small pages).
char* map_fresh(std::size_t bytes) {
  const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
  const std::size_t pad = bytes >= kHugePage ? kHugePage : 0;
  void* raw = mmap(nullptr, bytes + pad, prot, flags, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  if (!pad) return static_cast<char*>(raw);
  const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  if (const std::size_t tail = start + pad - aligned) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
#endif
  return reinterpret_cast<char*>(aligned);
}

// The reserve: one mapping that the library prefaults in the background as it loads
// (prefault_reserve), so a process's first calls take their scratch from pages already touched
// rather than trapping on each (S=512: 2.2 MB of scratch, ~3 ms of a 2.2 ms call). Blocks are cut
// from its front and cached like any other block once freed (evicted ones are released, not
// unmapped: see unmap).
struct Reserve {
  std::atomic<char*> base{nullptr};  // published after size
  std::size_t size = 0;
  std::atomic<std::size_t> used{0};

  char* cut(std::size_t bytes) {
    char* const start = base.load(std::memory_order_acquire);
    std::size_t at = used.load(std::memory_order_relaxed);
    do {
      if (!start || at + bytes > size) return nullptr;
    } while (!used.compare_exchange_weak(at, at + bytes, std::memory_order_relaxed));
    return start + at;
  }
};
Reserve reserve;

// A block of `bytes` (a page multiple): from the reserve while it lasts, else freshly mapped and
// populated (the block is about to be written whole: a tile's scores, K's panels).
void* map_block(std::size_t bytes) {
  if (char* p = reserve.cut(bytes)) return place(p, bytes, true);
  char* p = map_fresh(bytes);
  if (!p) return nullptr;
  populate(p, bytes);
  return place(p, bytes, false);
}

// A reserve block's pages go back to the kernel but stay mapped: the warm-up may still be
// reading through the reserve (it would fault on an unmapped page; this one reads zeros).
void unmap(Header* h) {
  if (h->in_reserve) madvise(h->base, h->mapped, MADV_DONTNEED);
  else munmap(h->base, h->mapped);
}

// The big blocks this thread freed, oldest first.
struct Cache {
  Header* blocks[kMaxCachedBlocks] = {};
  int count = 0;
  std::size_t bytes = 0;

  // The smallest cached block that fits and is not more than about twice too big (a row's sums
  // must not take the block K's panels will ask for again).
  void* take(std::size_t need) {
    int best = -1;
    for (int n = 0; n < count; ++n) {
      const std::size_t c = blocks[n]->capacity;
      if (c >= need && c <= 2 * need + kPage && (best < 0 || c < blocks[best]->capacity)) best = n;
    }
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
  ~Cache();
  static thread_local bool alive;  // false once this thread's cache is destroyed (thread exit)
};
thread_local bool Cache::alive = true;
thread_local Cache cache;

// The blocks of threads that ended, for any thread to take: a call from a short-lived thread
// (std::async, a thread per request) leaves its pages touched for the next one. Under a mutex,
// taken only when a thread's own cache has no fit. Created on first use (the load-time warm-up
// may allocate before this file's statics are initialised) and never destroyed (workers
// outlive statics).
std::mutex orphans_mutex;  // constant-initialised
Cache& orphans() {
  static Cache* const c = new Cache;
  return *c;
}

Cache::~Cache() {
  alive = false;
  std::lock_guard<std::mutex> lock(orphans_mutex);
  while (count > 0) {
    Header* h = blocks[0];
    remove(0);
    orphans().put(h);
  }
}

}  // namespace

void* scratch_malloc(void*, std::size_t bytes) {
  if (Cache::alive)
    if (void* p = cache.take(bytes)) return p;
  {
    std::lock_guard<std::mutex> lock(orphans_mutex);
    if (void* p = orphans().take(bytes)) return p;
  }
  return map_block((bytes + kAlign + kSlack + kPage - 1) / kPage * kPage);
}

void scratch_free(void*, void* p) {
  if (!p) return;
  Header* h = header_of(p);
  if (Cache::alive) return cache.put(h);
  std::lock_guard<std::mutex> lock(orphans_mutex);
  orphans().put(h);
}

void prefault_reserve(std::size_t bytes) {
  bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  if (reserve.base.load() || bytes == 0) return;
  char* p = map_fresh(bytes);
  if (!p) return;
  reserve.size = bytes;
  reserve.base.store(p, std::memory_order_release);  // blocks may be cut from here on; their
  prefault(p, bytes);                                 // users fault what is not yet touched
}

}  // namespace attune::detail
