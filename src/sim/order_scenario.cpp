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
                             proto::order::OrderMode mode, bool atomic) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec(o.scenario, o, buggify);
    proto::order::OrderOptions options;
    for (const auto& m : o.mutations) {
        if (m == "order_flush_intersection") options.mutations.flush_intersection = true;
        if (m == "order_flush_next_view_id") options.mutations.flush_next_view_id = true;
        if (m == "order_no_relay") options.mutations.no_relay = true;
    }
    if (o.stall != Duration::zero()) options.member_queue_max = InboxTaking::stalled_queue_max;
    spec.engines = {order_engine(options)};
    OrderWorkloadOptions w;
    w.stall = o.stall;
    w.view_lag = o.view_lag;
    w.pause_views = o.pause_views;
    w.pause_coordinator = o.pause_coordinator;
    w.mode = mode;
    w.members = o.processes;
    w.messages = o.messages;
    w.liveness_messages = o.liveness_messages;
    using proto::group::AddressKind;
    if (o.address == "multicast") {  // 239.193.0.1:7410, the first a group server picks (G22).
        w.address = {AddressKind::multicast, proto::IpGroup{4, {239, 193, 0, 1}, 7410}};
    } else if (o.address == "broadcast") {
        w.address.kind = AddressKind::broadcast;
    }
    if (atomic) {  // docs/groups.md G23: half ft-atomic, senders crashing mid-multicast.
        w.ft_percent = 50;
        w.sender_crash_percent = 10;
    }
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
    list.push_back({"order_atomic",
                    "atomic and fault-tolerant atomic multicast (docs/groups.md G23): as order "
                    "(the mode by seed), half the multicasts fault-tolerant atomic (receivers "
                    "re-multicast on first sight), and up to two senders crash 0-400 us after a "
                    "multicast; checks atomicity among survivors (same messages per view) and "
                    "that every delivery names the view its receiver had installed",
                    [](const ScenarioOptions& o, std::uint64_t seed) {
                        return run_order_scenario(o, seed, order_mode_of_seed(seed), true);
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
