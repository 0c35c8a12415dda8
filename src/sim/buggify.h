// Buggify (FoundationDB style): per seed, some harsher modes are switched on — burst loss,
// extreme delays, duplicate storms, clogging storms, slow disks, tiny queues — so that rare
// paths are reached on purpose. Whether a mode is on depends only on (seed, mode name), so
// asking about modes in another order, or adding a mode, changes no other decision.
// Layer: sim.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace herald::sim {

class Buggify {
public:
    // With `enabled` false every mode is off (the --no-buggify flag).
    Buggify(std::uint64_t seed, bool enabled) : seed_(seed), enabled_(enabled) {}

    // Whether mode `name` is on for this run: on for about a quarter of the seeds. Remembers
    // the modes that were on, for the summary.
    bool mode(std::string_view name);

    [[nodiscard]] bool enabled() const { return enabled_; }
    // Names of the modes asked about that were on, in the order first asked.
    [[nodiscard]] const std::vector<std::string>& active() const { return active_; }

private:
    std::uint64_t seed_;
    bool enabled_;
    std::vector<std::string> active_;
};

}  // namespace herald::sim
