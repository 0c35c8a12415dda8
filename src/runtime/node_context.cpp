// Service defaults. Layer: runtime.
#include "runtime/node_context.h"

#include "core/assert.h"

namespace herald::runtime {

void Service::execute(proto::ExecuteEffect& execution) {
    (void)execution;
    const bool service_runs_handlers = false;  // Yet its engine asked for a run: a bug.
    HERALD_ASSERT(service_runs_handlers);
}

}  // namespace herald::runtime
