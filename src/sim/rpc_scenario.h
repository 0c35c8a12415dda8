// The "rpc" scenarios: client processes call a non-idempotent counter service with RR, RRA and
// RARA (chosen per call) under loss, duplication, reordering, partitions and crashes with
// restart of the server node. "rpc": exactly-once with the durable reply cache; checks that
// the counter ends at exactly the number of successful calls and that no request runs twice.
// "rpc_at_least_once": at-least-once; reports the re-runs. "rpc_volatile": exactly-once with
// the reply cache in memory, server crashes included. Layer: sim.
#pragma once

#include <cstdint>

#include "proto/rpc/rpc_options.h"
#include "sim/scenario.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

[[nodiscard]] RunReport run_rpc_scenario(const ScenarioOptions& options, std::uint64_t seed);

// The pieces other scenarios reuse: the RPC engine's options for `options` (durable; buggify
// modes and mutations applied), and the counter workload driving the engine at `engine_index`.
[[nodiscard]] proto::rpc::RpcOptions rpc_engine_options(const ScenarioOptions& options,
                                                        Buggify& buggify);
[[nodiscard]] ScenarioSpec::MakeWorkload rpc_workload(const ScenarioOptions& options,
                                                      Buggify& buggify, std::size_t engine_index);

}  // namespace herald::sim
