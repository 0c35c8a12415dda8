// The "naming" scenario as a ScenarioSpec. Layer: sim.
#include "sim/naming_scenario.h"

#include "sim/buggify.h"
#include "sim/engines.h"
#include "sim/naming_workload.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

RunReport run_naming_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec("naming", o, buggify);
    proto::naming::NamingOptions n;
    n.server_node = NodeId{1};
    n.retransmit = Duration::milliseconds(100);
    if (buggify.mode("naming_tiny_tables")) {
        n.names_max = 2;
        n.replies_max = 2;
        n.cache_max = 1;
    }
    spec.engines = {naming_engine(n)};
    NamingWorkloadOptions w;
    w.clients = o.processes;
    w.ops = o.messages;
    w.liveness_ops = o.liveness_messages;
    w.safety = o.safety;
    spec.workloads = {[w](Simulation& sim, const std::vector<std::size_t>& slots,
                          Random random) -> std::unique_ptr<ScenarioWorkload> {
        return std::make_unique<NamingWorkload>(sim, slots.at(0), w, std::move(random));
    }};
    spec.faults.wipe = 0.0;  // The server's table lives on its disk.
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim
