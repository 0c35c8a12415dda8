// The "rpc" scenarios as ScenarioSpecs: every node hosts the RPC engine (durable but in
// rpc_volatile, with buggify
// and mutations applied); the counter workload; partitions from the plan and crashes of the
// server node; the workload's counter check. Layer: sim.
#include "sim/rpc_scenario.h"

#include "sim/buggify.h"
#include "sim/engines.h"
#include "sim/rpc_workload.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

// The server node's crashes come from schedule_node1_crashes: a crashed client would abandon
// its calls, and the counter could then no longer be compared with the successes exactly.

proto::rpc::RpcOptions rpc_engine_options(const ScenarioOptions& o, Buggify& buggify) {
    proto::rpc::RpcOptions r;
    r.durable = o.scenario != "rpc_volatile";
    // A tiny cache makes servers refuse with busy; a short threshold sends RRA's optional Ack
    // often; few response resends leave replies to the client's probes.
    if (buggify.mode("rpc_tiny_cache")) r.cache_entries_max = 3;
    if (buggify.mode("rpc_eager_ack")) r.long_request_threshold = Duration::milliseconds(1);
    if (buggify.mode("rpc_lazy_server")) r.response_retransmit_limit = 1;
    // New client nodes prove their address with a cookie first, as on a node without a key
    // (docs/rpc.md, "Admission"); short cookie periods make cookies expire during calls.
    if (buggify.mode("rpc_admission")) {
        r.admission_cookies = true;
        r.cookie_key.fill(0xC0);
        r.cookie_period = Duration::seconds(2);
    }
    for (const auto& m : o.mutations) {
        if (m == "rpc_ignore_reply_cache") r.mutations.ignore_reply_cache = true;
        if (m == "rpc_skip_execution_marker") r.mutations.skip_execution_marker = true;
        if (m == "rpc_respond_before_durable") r.mutations.respond_before_durable = true;
    }
    return r;
}

ScenarioSpec::MakeWorkload rpc_workload(const ScenarioOptions& o, Buggify& buggify,
                                        std::size_t engine_index) {
    RpcWorkloadOptions w;
    w.clients = o.processes;
    w.calls = o.messages;
    w.liveness_calls = o.liveness_messages;
    w.safety = o.safety;
    w.semantics = o.scenario == "rpc_at_least_once" ? proto::rpc::Semantics::at_least_once
                                                    : proto::rpc::Semantics::exactly_once;
    w.durable = o.scenario != "rpc_volatile";
    w.long_handlers = buggify.mode("rpc_long_handlers");
    return [w, engine_index](Simulation& sim, const std::vector<std::size_t>& slots,
                             Random random) -> std::unique_ptr<ScenarioWorkload> {
        return std::make_unique<RpcWorkload>(sim, slots.at(engine_index), w, std::move(random));
    };
}

RunReport run_rpc_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec(o.scenario, o, buggify);
    spec.engines = {rpc_engine(rpc_engine_options(o, buggify))};
    spec.workloads = {rpc_workload(o, buggify, 0)};
    spec.faults.crashes = 0;  // The server's crashes below, never with a wiped disk.
    spec.faults.wipe = 0.0;
    spec.extra_faults = [&o](Simulation& sim, Random& random) {
        schedule_node1_crashes(sim, o, random);
    };
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim
