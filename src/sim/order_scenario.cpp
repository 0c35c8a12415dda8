// The "order" scenarios as ScenarioSpecs: every node hosts the ordering engine; the order
// workload installs the views (it plays the group server) and multicasts; partitions and
// crashes of any node from the plan (disks are not used). Layer: sim.
#include "sim/order_scenario.h"

#include "sim/buggify.h"
#include "sim/engines.h"
#include "sim/order_workload.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

proto::order::OrderMode order_mode_of_seed(std::uint64_t seed) {
    return static_cast<proto::order::OrderMode>(1 + seed % 5);
}

RunReport run_order_scenario(const ScenarioOptions& o, std::uint64_t seed,
                             proto::order::OrderMode mode) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec(o.scenario, o, buggify);
    proto::order::OrderOptions options;
    spec.engines = {order_engine(options)};
    OrderWorkloadOptions w;
    w.mode = mode;
    w.members = o.processes;
    w.messages = o.messages;
    w.liveness_messages = o.liveness_messages;
    spec.workloads = {[w](Simulation& sim, const std::vector<std::size_t>& slots,
                          Random random) -> std::unique_ptr<ScenarioWorkload> {
        return std::make_unique<OrderWorkload>(sim, slots.at(0), w, std::move(random));
    }};
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim
