// The "rpc" scenarios' runner: builds the simulation, the RPC engines (durable or not, with
// buggify and mutations), the workload, the fault plan (partitions from plan_faults; crashes
// of the server node), runs both phases and adds the counter checker. Layer: sim.
#include "sim/rpc_scenario.h"

#include "sim/buggify.h"
#include "sim/faults.h"
#include "sim/rpc_host.h"
#include "sim/rpc_workload.h"
#include "sim/streams.h"
#include "sim/trace.h"

namespace herald::sim {
namespace {

NetworkOptions network_options(const ScenarioOptions& o, Buggify& buggify) {
    NetworkOptions n;
    n.loss = o.loss;
    n.duplicate = o.duplicate;
    n.reorder = o.reorder;
    n.burst_loss = buggify.mode("burst_loss");
    n.extreme_delay = buggify.mode("extreme_delay");
    n.duplicate_storm = buggify.mode("duplicate_storm");
    if (n.duplicate_storm && n.duplicate < 0.2) n.duplicate = 0.2;
    if (buggify.mode("heavy_tail_latency")) n.shape = JitterShape::pareto;
    return n;
}

proto::rpc::RpcOptions engine_options(const ScenarioOptions& o, bool durable, Buggify& buggify) {
    proto::rpc::RpcOptions r;
    r.durable = durable;
    // A tiny cache makes servers refuse with busy; a short threshold sends RRA's optional Ack
    // often; few response resends leave replies to the client's probes.
    if (buggify.mode("rpc_tiny_cache")) r.cache_entries_max = 3;
    if (buggify.mode("rpc_eager_ack")) r.long_request_threshold = Duration::milliseconds(1);
    if (buggify.mode("rpc_lazy_server")) r.response_retransmit_limit = 1;
    for (const auto& m : o.mutations) {
        if (m == "rpc_ignore_reply_cache") r.mutations.ignore_reply_cache = true;
        if (m == "rpc_skip_execution_marker") r.mutations.skip_execution_marker = true;
        if (m == "rpc_respond_before_durable") r.mutations.respond_before_durable = true;
    }
    return r;
}

// Crashes of the server node only: a crashed client would abandon its calls, and the counter
// could then no longer be compared with the successes exactly.
void schedule_server_crashes(Simulation& sim, const ScenarioOptions& o, Random& random) {
    const auto down_max = Duration::seconds(1);
    const auto window = o.safety - down_max;
    if (window <= Duration::zero()) return;
    for (std::uint32_t i = 0; i < o.crashes; ++i) {
        const Time at = Time::zero() + Duration::nanoseconds(static_cast<std::int64_t>(
                                           random.below(static_cast<std::uint64_t>(window.ns()))));
        const Duration down =
            Duration::milliseconds(1 + static_cast<std::int64_t>(random.below(1000)));
        // Never with a wiped disk: that loses the reply cache, and no promise holds then.
        sim.queue().schedule(at, [&sim] { sim.crash(NodeId{1}, false); });
        sim.queue().schedule(at + down, [&sim] { sim.restart(NodeId{1}); });
    }
}

}  // namespace

RunReport run_rpc_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    const bool exactly_once = o.scenario == "rpc";
    Buggify buggify(seed, o.buggify);
    SimOptions sim_options;
    sim_options.nodes = o.nodes;
    sim_options.network = network_options(o, buggify);
    sim_options.trace = o.trace;
    if (buggify.mode("slow_disk")) sim_options.fsync_max = Duration::milliseconds(50);
    Simulation sim(seed, sim_options);
    const std::size_t slot = sim.add_engine(RpcHost::factory(engine_options(o, true, buggify)));

    RpcWorkloadOptions w;
    w.clients = o.processes;
    w.calls = o.messages;
    w.liveness_calls = o.liveness_messages;
    w.safety = o.safety;
    w.semantics =
        exactly_once ? proto::rpc::Semantics::exactly_once : proto::rpc::Semantics::at_least_once;
    w.durable = true;
    w.long_handlers = buggify.mode("rpc_long_handlers");
    RpcWorkload workload(sim, slot, w, make_stream(seed, Stream::workload));
    sim.set_workload(workload);

    FaultOptions f;
    f.safety = o.safety;
    f.partitions = o.partitions;
    f.crashes = 0;
    Random fault_random = make_stream(seed, Stream::faults);
    const FaultPlan plan = plan_faults(f, o.nodes, Time::zero(), fault_random, buggify);

    sim.note("--", "scenario", Fields().add("name", o.scenario).add("seed", seed).text());
    sim.start_all();
    schedule_faults(sim, plan);
    schedule_server_crashes(sim, o, fault_random);
    run_phase(sim, Time::zero() + o.safety);

    sim.heal();
    for (std::size_t i = 0; i < sim.node_count(); ++i) sim.restart(sim.node_at(i).id());
    sim.history().set_liveness_start(sim.now());
    sim.note("--", "liveness");
    workload.begin_liveness();
    run_liveness_phase(sim, o.liveness_bound, [&] { return workload.done(); });

    RunReport report;
    report.buggify = buggify.active();
    finish_report(sim, o, o.liveness_bound, report);
    for (auto& v : workload.check()) report.violations.push_back(std::move(v));
    for (const auto& [name, value] : workload.numbers()) report.probes[name] = value;
    return report;
}

}  // namespace herald::sim
