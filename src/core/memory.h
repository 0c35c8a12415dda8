// Estimates of the heap memory that node-based containers hold, for the memory figures of
// `herald status` (docs/api.md, NodeStats::peer_state_bytes). Layer: core. Estimates, not
// allocator measurements: each allocation is charged its size rounded up to 16 bytes plus
// glibc's 8-byte chunk header, the size of libstdc++'s node links, and a hash table's bucket.
#pragma once

#include <cstddef>
#include <string>

namespace herald::memory {

// One heap allocation of `bytes` (glibc: 16-byte granules, 8-byte header, at least 32 bytes).
[[nodiscard]] constexpr std::size_t allocation(std::size_t bytes) {
    const std::size_t chunk = (bytes + 8 + 15) / 16 * 16;
    return chunk < 32 ? 32 : chunk;
}
// A std::map / std::set node holding a `value`-byte value (colour, parent, left, right).
[[nodiscard]] constexpr std::size_t map_node(std::size_t value) {
    return allocation(32 + value);
}
// A std::unordered_map node (next pointer, value, cached hash) and its share of the buckets.
[[nodiscard]] constexpr std::size_t hash_node(std::size_t value) {
    return allocation(8 + value + 8) + 8;
}
// Heap bytes of a std::string beyond its object (none within the short-string buffer).
[[nodiscard]] inline std::size_t heap(const std::string& text) {
    return text.capacity() > 15 ? allocation(text.capacity() + 1) : 0;
}

}  // namespace herald::memory
