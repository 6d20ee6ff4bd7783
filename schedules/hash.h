// FNV-1a 64: the identity of a schedule Config (of its canonical JSON). Header-only so the
// runtime (describe_dispatch) and the tools compute the same id without sharing a library.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace attune::schedules {

inline std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
  return h;
}

inline std::string hash_hex(std::string_view text) {  // 16 hex digits
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  return buf;
}

}  // namespace attune::schedules
