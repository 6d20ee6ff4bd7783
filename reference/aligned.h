// 64-byte aligned vectors for the tensors that the runner, benchmarks and tests pass to kernels.
// Frameworks allocate tensors this way (PyTorch's CPU allocator, oneDNN): measuring with
// malloc's 16-byte alignment of large blocks would split every 64-byte vector load across
// two cache lines (3% at S=2048) and time a case that real callers do not hit.
#pragma once

#include <cstdlib>
#include <new>
#include <vector>

namespace attune::reference {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::size_t kAlignment = 64;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    if (void* p = std::aligned_alloc(kAlignment, bytes)) return static_cast<T*>(p);
    throw std::bad_alloc();
  }
  void deallocate(T* p, std::size_t) { std::free(p); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace attune::reference
