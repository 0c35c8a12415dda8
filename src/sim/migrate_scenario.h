// The "migrate" scenario (docs/migration.md): a mobile receiver hops between nodes while one
// sender per node streams to it, under loss, duplication, reordering, partitions and crashes
// of nodes that do not host it (a migration target may die half-way). Layer: sim.
#pragma once

#include <cstdint>

#include "sim/scenario.h"

namespace herald::sim {

[[nodiscard]] RunReport run_migrate_scenario(const ScenarioOptions& options, std::uint64_t seed);

}  // namespace herald::sim
