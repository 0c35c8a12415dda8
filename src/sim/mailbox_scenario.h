// The "mailbox" scenario: senders and competing receivers use a persistent and a transient
// mailbox hosted by node 1 under loss, duplication, reordering, partitions and crashes of the
// host (its disk survives, with a random prefix of unfinished writes). Layer: sim.
#pragma once

#include <cstdint>

#include "sim/scenario.h"

namespace herald::sim {

[[nodiscard]] RunReport run_mailbox_scenario(const ScenarioOptions& options, std::uint64_t seed);

}  // namespace herald::sim
