// Engine defaults. Layer: proto.
#include "proto/engine.h"

#include "core/assert.h"

namespace herald::proto {

void Engine::on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) {
    (void)token, (void)status, (void)now, (void)out;
    const bool engine_persists = false;  // Yet a write of it completed: a driver bug.
    HERALD_ASSERT(engine_persists);
}

}  // namespace herald::proto
