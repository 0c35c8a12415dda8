// Buggify decisions. Layer: sim.
#include "sim/buggify.h"

#include <algorithm>

#include "sim/streams.h"

namespace herald::sim {

bool Buggify::mode(std::string_view name) {
    if (!enabled_) return false;
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the name.
    for (const char c : name) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    const std::uint64_t draw = derive_seed(seed_, static_cast<std::uint64_t>(Stream::buggify) ^ h);
    const bool on = draw % 4 == 0;
    if (on && std::find(active_.begin(), active_.end(), name) == active_.end()) {
        active_.emplace_back(name);
    }
    return on;
}

}  // namespace herald::sim
