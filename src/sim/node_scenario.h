// The "node" scenario: every node hosts what a real node hosts — the direct engine and the RPC
// engine together, in one EngineSet — and both workloads run at once: processes message each
// other (all send modes and buffering strategies) while clients call the counter service
// (RR, RRA, RARA, exactly-once, durable). Faults: loss, duplication, reordering, partitions,
// clogging, crashes with restart of any node (never with a wiped disk: the reply cache's
// promise needs it). Checkers: those of both scenarios. Layer: sim.
#pragma once

#include <cstdint>

#include "sim/scenario.h"

namespace herald::sim {

[[nodiscard]] RunReport run_node_scenario(const ScenarioOptions& options, std::uint64_t seed);

}  // namespace herald::sim
