// The "direct" scenario: P processes on N nodes send messages to each other through the direct
// engine with random send modes, full-queue policies and deadlines, while receivers use all
// four buffering strategies; faults: loss, duplication, reordering, partitions, clogging,
// crashes with restart. Checkers: no loss, no duplicates, FIFO, operations, liveness.
// Layer: sim.
#pragma once

#include <cstdint>

#include "sim/scenario.h"

namespace herald::sim {

[[nodiscard]] RunReport run_direct_scenario(const ScenarioOptions& options, std::uint64_t seed);

}  // namespace herald::sim
