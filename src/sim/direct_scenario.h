// The "direct" scenario: P processes on N nodes send messages to each other through the direct
// engine with random send modes, full-queue policies and deadlines, while receivers use all
// four buffering strategies; faults: loss, duplication, reordering, partitions, clogging,
// crashes with restart. Checkers: no loss, no duplicates, FIFO, operations, liveness.
// Layer: sim.
#pragma once

#include <cstdint>

#include "proto/direct/direct_options.h"
#include "sim/scenario.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

[[nodiscard]] RunReport run_direct_scenario(const ScenarioOptions& options, std::uint64_t seed);

// The pieces other scenarios reuse: the direct engine's options for `options` (buggify modes
// and mutations applied), and the direct workload driving the engine at `engine_index`.
[[nodiscard]] proto::direct::DirectOptions direct_engine_options(const ScenarioOptions& options,
                                                                 Buggify& buggify);
[[nodiscard]] ScenarioSpec::MakeWorkload direct_workload(const ScenarioOptions& options,
                                                         Buggify& buggify,
                                                         std::size_t engine_index);

}  // namespace herald::sim
