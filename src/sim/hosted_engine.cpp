// HostedEngine defaults. Layer: sim.
#include "sim/hosted_engine.h"

#include "core/assert.h"

namespace herald::sim {

void HostedEngine::on_durable(std::uint64_t /*token*/, Time /*now*/, proto::Effects& /*out*/) {
    // Only an engine that emitted a PersistEffect gets here; one that did must override this.
    HERALD_ASSERT(false);
}

void HostedEngine::on_consumed(Pid /*receiver*/, std::uint32_t /*count*/, Time /*now*/,
                               proto::Effects& /*out*/) {}

}  // namespace herald::sim
