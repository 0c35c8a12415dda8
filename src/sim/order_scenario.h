// The "order" scenarios (issue 16): ordered multicast in one group under loss, duplication,
// reordering, partitions and crashes with view changes, one scenario per ordering mode
// ("order_fifo", ...), and "order", which takes the mode from the seed. Layer: sim.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/order/order_messages.h"
#include "sim/scenario.h"

namespace herald::sim {

// `atomic`: the order_atomic workload (ft-atomic multicasts, senders crashing mid-multicast).
[[nodiscard]] RunReport run_order_scenario(const ScenarioOptions& options, std::uint64_t seed,
                                           proto::order::OrderMode mode, bool atomic = false);
// The mode of scenario "order" for `seed`: fifo, sequencer, abcast, cbcast, absolute in turn.
[[nodiscard]] proto::order::OrderMode order_mode_of_seed(std::uint64_t seed);
// `list` with the order scenarios appended (the registry of scenario.cpp).
[[nodiscard]] std::vector<ScenarioInfo> with_order_scenarios(std::vector<ScenarioInfo> list);

}  // namespace herald::sim
