// The "naming" scenario: node 1 hosts the name server; clients on every other node race for a
// small pool of names under loss, duplication, reordering, partitions and crashes (the server's
// disk survives). Layer: sim.
#pragma once

#include <cstdint>

#include "sim/scenario.h"

namespace herald::sim {

[[nodiscard]] RunReport run_naming_scenario(const ScenarioOptions& options, std::uint64_t seed);

}  // namespace herald::sim
