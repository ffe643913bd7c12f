// Helpers shared by the memory engine's striped tables: a string-keyed hash map that can
// be searched with a string_view (no temporary std::string per lookup) and the choice of
// lock stripe for a key. Pure functions and type aliases; no state, any thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gyre::memory_detail {

// Deliberately not noexcept: libstdc++ then stores each node's hash code (as it does for
// std::hash<std::string>), so a lookup compares cached hashes instead of rehashing every
// key it walks past in a bucket.
struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

// Number of stripes actually used: `requested` rounded up to a power of two, at least 1.
inline size_t stripe_count(size_t requested) {
  return std::bit_ceil(requested == 0 ? 1 : requested);
}

// Stripe of `key` for a power-of-two stripe count (mask = count - 1). Takes the high bits
// of a multiplicative remix so that the stripe does not share the low bits the maps
// inside a stripe use for their buckets.
inline size_t stripe_index(std::string_view key, size_t mask) {
  const uint64_t h = static_cast<uint64_t>(string_hash{}(key)) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h >> 32) & mask;
}

}  // namespace gyre::memory_detail
