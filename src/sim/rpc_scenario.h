// The "rpc" scenarios: client processes call a non-idempotent counter service with RR, RRA and
// RARA (chosen per call) under loss, duplication, reordering, partitions and crashes with
// restart of the server node. "rpc": exactly-once with the durable reply cache; checks that
// the counter ends at exactly the number of successful calls and that no request runs twice.
// "rpc_at_least_once": at-least-once; reports the re-runs. Layer: sim.
#pragma once

#include <cstdint>

#include "sim/scenario.h"

namespace herald::sim {

[[nodiscard]] RunReport run_rpc_scenario(const ScenarioOptions& options, std::uint64_t seed);

}  // namespace herald::sim
