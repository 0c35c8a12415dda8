// Deterministic random sub-streams: every component of a run draws from its own generator,
// derived from the run's seed and a stream number, so that adding draws in one component (or
// turning tracing on) never shifts the random choices of another. Layer: sim.
#pragma once

#include <cstdint>

#include "core/random.h"

namespace herald::sim {

// Stream numbers. Per-node engine streams are `engine_base + node * 4096 + incarnation`.
enum class Stream : std::uint64_t {
    buggify = 1,
    faults = 2,
    network = 3,
    workload = 4,
    disk = 5,
    workload_extra = 100,  // + i: the i-th workload (i >= 1) of a scenario with several.
    engine_base = 1'000,
};

// A 64-bit mix of (seed, stream) (splitmix64 finalizer over both words).
[[nodiscard]] constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t x = seed ^ (stream * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

[[nodiscard]] inline Random make_stream(std::uint64_t seed, Stream stream,
                                        std::uint64_t offset = 0) {
    return Random(derive_seed(seed, static_cast<std::uint64_t>(stream) + offset));
}

}  // namespace herald::sim
