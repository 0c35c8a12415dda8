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
    n.probe_interval = Duration::milliseconds(250);  // Rule 14, scaled to the sim's seconds.
    n.dead_after = Duration::seconds(1);
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
    w.probe_interval = n.probe_interval;
    w.dead_after = n.dead_after;
    // Leases far longer than the failure detection: a crashed client's names must go because
    // its node is declared dead or restarted (rule 14), not at their lease end.
    if (buggify.mode("naming_long_leases")) w.lease = Duration::seconds(20);
    spec.workloads = {[w](Simulation& sim, const std::vector<std::size_t>& slots,
                          Random random) -> std::unique_ptr<ScenarioWorkload> {
        return std::make_unique<NamingWorkload>(sim, slots.at(0), w, std::move(random));
    }};
    spec.faults.wipe = 0.0;  // The server's table lives on its disk.
    // The server probes every holder it has not heard from for ever (rule 14): in the 5 s
    // quiet phase one probe and one answer per interval and holder node.
    spec.quiet_packets_max =
        10 + 2 * static_cast<std::uint64_t>(Duration::seconds(5).ns() / n.probe_interval.ns());
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim
