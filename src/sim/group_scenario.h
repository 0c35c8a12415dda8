// The "group" scenario (issue 15): group server, views, failure detection and multicast with
// reliability under loss, duplication, reordering, partitions and crashes. Layer: sim.
#pragma once

#include <cstdint>

#include "sim/scenario.h"

namespace herald::sim {

[[nodiscard]] RunReport run_group_scenario(const ScenarioOptions& options, std::uint64_t seed);

}  // namespace herald::sim
