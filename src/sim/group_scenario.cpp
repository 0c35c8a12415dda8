// The "group" scenario as a ScenarioSpec: every node hosts the group engine, node 1 is the
// group server; the group workload; partitions and crashes of any node from the plan, never
// with a wiped disk (the server's group table is durable), plus crashes of the server.
// Layer: sim.
#include "sim/group_scenario.h"

#include "sim/buggify.h"
#include "sim/engines.h"
#include "sim/group_workload.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

RunReport run_group_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec(o.scenario, o, buggify);
    proto::group::GroupOptions g;
    // The loopback row of docs/groups.md, so that crashes are detected within a run.
    g.heartbeat_interval = Duration::milliseconds(100);
    g.suspicion_timeout = Duration::seconds(1);
    g.retransmit_interval = Duration::milliseconds(100);
    g.request_timeout = Duration::seconds(2);
    g.lookup_ttl = Duration::milliseconds(500);
    g.answer_retention = Duration::seconds(4);
    g.seen_retention = Duration::seconds(10);
    // A node cut off from views while others churn is brought up to date by a reset (G10),
    // which skips views that held its members: the documented limit of G20 (2). Keeping every
    // view of a run lets the checker hold the server to the no-skip promise within history.
    g.history_max = 1024;
    if (o.stall != Duration::zero()) g.member_queue_max = InboxTaking::stalled_queue_max;
    spec.engines = {group_engine(g)};
    GroupWorkloadOptions w;
    w.stall = o.stall;
    w.members = o.processes;
    w.messages = o.messages;
    w.liveness_messages = o.liveness_messages;
    spec.workloads = {[w](Simulation& sim, const std::vector<std::size_t>& slots,
                          Random random) -> std::unique_ptr<ScenarioWorkload> {
        return std::make_unique<GroupWorkload>(sim, slots.at(0), w, std::move(random));
    }};
    spec.faults.wipe = 0.0;
    // Nodes hosting members heartbeat for ever (G11): one per interval in the 5 s quiet phase,
    // each of at most 32 body bytes (u32 count, "open" and "closed" with their view ids), so
    // several fragments under buggify's tiny_fragments.
    constexpr std::uint64_t heartbeat_bytes = 32;
    const std::uint64_t slice = spec.sim.fragment_slice;
    const std::uint64_t fragments = slice == 0 ? 1 : (heartbeat_bytes + slice - 1) / slice;
    const auto heartbeats =
        static_cast<std::uint64_t>(Duration::seconds(5).ns() / g.heartbeat_interval.ns());
    spec.quiet_packets_max = 10 + heartbeats * fragments;
    spec.extra_faults = [&o](Simulation& sim, Random& random) {
        schedule_node1_crashes(sim, o, random);
    };
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim
