// The "order" scenarios as ScenarioSpecs: every node hosts the ordering engine; the order
// workload installs the views (it plays the group server) and multicasts; partitions and
// crashes of any node from the plan (disks are not used). Layer: sim.
#include "sim/order_scenario.h"

#include <map>
#include <string_view>
#include <utility>

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

std::vector<ScenarioInfo> with_order_scenarios(std::vector<ScenarioInfo> list) {
    using proto::order::OrderMode;
    list.push_back({"order",
                    "ordered multicast in one group (the mode by seed: fifo, sequencer, abcast, "
                    "cbcast, absolute in turn) under loss, duplication, reordering, partitions "
                    "and crash/restart of any node, with a view change and flush after each; "
                    "checks FIFO, no duplicates, total, causal and timestamp order, same "
                    "messages per view, no loss",
                    [](const ScenarioOptions& o, std::uint64_t seed) {
                        return run_order_scenario(o, seed, order_mode_of_seed(seed));
                    }});
    for (auto mode : {OrderMode::fifo, OrderMode::sequencer, OrderMode::abcast, OrderMode::cbcast,
                      OrderMode::absolute}) {
        static const std::map<OrderMode, std::pair<std::string_view, std::string_view>> names = {
            {OrderMode::fifo, {"order_fifo", "as order, FIFO order only"}},
            {OrderMode::sequencer,
             {"order_sequencer", "as order, total order by a sequencer (the view's first member)"}},
            {OrderMode::abcast, {"order_abcast", "as order, total order by ABCAST"}},
            {OrderMode::cbcast, {"order_cbcast", "as order, causal order by CBCAST"}},
            {OrderMode::absolute, {"order_absolute", "as order, absolute (timestamp) order"}},
        };
        const auto& [name, description] = names.at(mode);
        list.push_back({name, description, [mode](const ScenarioOptions& o, std::uint64_t seed) {
                            return run_order_scenario(o, seed, mode);
                        }});
    }
    return list;
}

}  // namespace herald::sim
