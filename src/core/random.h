// Random: a small seeded generator (xoshiro256**) passed to engines and the simulator.
// Layer: core. There is no global randomness anywhere in proto, wire or sim.
#pragma once

#include <cstdint>

namespace herald {

class Random {
public:
    explicit Random(std::uint64_t seed) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        for (auto& word : state_) word = splitmix64(seed);
    }

    std::uint64_t next_u64() {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    std::uint32_t next_u32() { return static_cast<std::uint32_t>(next_u64() >> 32); }

    // Uniform in [0, bound); bound > 0. Lemire's multiply-shift; the tiny bias is irrelevant here.
    std::uint64_t below(std::uint64_t bound) {
        __extension__ using Wide = unsigned __int128;  // __extension__: silences -Wpedantic.
        return static_cast<std::uint64_t>((static_cast<Wide>(next_u64()) * bound) >> 64);
    }

    // Uniform in [0, 1).
    double unit() { return double(next_u64() >> 11) * 0x1.0p-53; }

    bool chance(double probability) { return unit() < probability; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t state_[4] = {};
};

}  // namespace herald
