// The "direct" scenario's runner: builds the simulation, the engines (with buggify and
// mutations applied), the workload and the fault plan, then runs both phases. Layer: sim.
#include "sim/direct_scenario.h"

#include <algorithm>

#include "sim/buggify.h"
#include "sim/direct_host.h"
#include "sim/direct_workload.h"
#include "sim/faults.h"
#include "sim/streams.h"

namespace herald::sim {

namespace {

// With a short channel_idle: the most a clog, and apart from it an extreme delay, may hold a
// packet back, so that with the 50 ms reordering delay packets live less than channel_idle/4.
Duration packet_delay_max(const ScenarioOptions& o) {
    return o.channel_idle / 10;
}

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
    // The engine assumes packets live less than channel_idle/4 (direct README rule 18);
    // few_channels makes channel_idle 4 s, so a clog (<= 500 ms) plus this stays below 1 s.
    if (buggify.mode("few_channels")) n.extreme_delay_max = Duration::milliseconds(300);
    if (o.channel_idle != Duration::zero()) {
        n.extreme_delay_max = std::min(n.extreme_delay_max, packet_delay_max(o));
    }
    return n;
}

proto::direct::DirectOptions engine_options(const ScenarioOptions& o, Buggify& buggify) {
    proto::direct::DirectOptions d;
    // Small windows and buffers reach flow control and back-pressure with few messages.
    if (buggify.mode("small_window")) d.window_messages = 2;
    if (buggify.mode("small_channel_buffer")) d.channel_buffer_max = 2;
    if (buggify.mode("eager_retransmit")) d.retransmit_initial = Duration::milliseconds(2);
    if (buggify.mode("few_channels")) {
        // Channels run out (sends get queue_full, receivers refuse new channels) and idle
        // ones are swept within the liveness bound; README rule 18 wants idle > peer_timeout.
        d.channels_max = 10;
        d.peer_timeout = Duration::seconds(2);
        d.channel_idle = Duration::seconds(4);
    }
    if (o.channel_idle != Duration::zero()) {
        d.channel_idle = o.channel_idle;
        d.peer_timeout = std::min(d.peer_timeout, o.channel_idle / 2);
        // A sender gives an epoch up when it has heard nothing on it for channel_idle/2
        // (rule 18): retransmissions must come, and draw acks, well within that. A message
        // that is not due when the timer fires waits one more rto, so gaps reach 2 x rto.
        d.retransmit_max = std::min(d.retransmit_max, o.channel_idle / 8);
        d.retransmit_initial = std::min(d.retransmit_initial, d.retransmit_max);
    }
    d.epoch_first = o.epoch_first;
    if (o.channels_max != 0) d.channels_max = o.channels_max;
    for (const auto& m : o.mutations) {
        if (m == "skip_duplicate_check") d.mutations.skip_duplicate_check = true;
        if (m == "skip_reorder_buffer") d.mutations.skip_reorder_buffer = true;
        if (m == "never_retransmit") d.mutations.never_retransmit = true;
        if (m == "complete_before_ack") d.mutations.complete_before_ack = true;
    }
    return d;
}

}  // namespace

RunReport run_direct_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    SimOptions sim_options;
    sim_options.nodes = o.nodes;
    sim_options.network = network_options(o, buggify);
    sim_options.trace = o.trace;
    if (buggify.mode("slow_disk")) sim_options.fsync_max = Duration::milliseconds(50);
    Simulation sim(seed, sim_options);
    const std::size_t slot = sim.add_engine(DirectHost::factory(engine_options(o, buggify)));

    DirectWorkloadOptions w;
    w.processes = o.processes;
    w.messages = o.messages;
    w.liveness_messages = o.liveness_messages;
    w.safety = o.safety;
    w.slow_consumers = buggify.mode("slow_consumers");
    w.tiny_queues = buggify.mode("tiny_queues");
    w.liveness_nonblocking = !buggify.mode("few_channels") && o.channels_max == 0;
    DirectWorkload workload(sim, slot, w, make_stream(seed, Stream::workload));
    sim.set_workload(workload);

    FaultOptions f;
    f.safety = o.safety;
    f.partitions = o.partitions;
    f.crashes = o.crashes;
    f.clogs = o.clogs;
    f.wipe = o.wipe;
    if (o.channel_idle != Duration::zero()) f.clog_max = packet_delay_max(o);
    Random fault_random = make_stream(seed, Stream::faults);
    const FaultPlan plan = plan_faults(f, o.nodes, Time::zero(), fault_random, buggify);

    sim.note("--", "scenario", Fields().add("name", "direct").add("seed", seed).text());
    sim.start_all();
    schedule_faults(sim, plan);
    run_phase(sim, Time::zero() + o.safety);

    sim.heal();
    for (std::size_t i = 0; i < sim.node_count(); ++i) sim.restart(sim.node_at(i).id());
    sim.history().set_liveness_start(sim.now());
    sim.note("--", "liveness");
    workload.begin_liveness();
    const bool finished =
        run_liveness_phase(sim, o.liveness_bound, [&] { return workload.done(); });

    RunReport report;
    report.buggify = buggify.active();
    finish_report(sim, o, o.liveness_bound, report);
    if (!finished) {
        // Usually explained by the liveness checker's findings; this also catches a workload
        // stuck without a pending operation (e.g. sends refused by back-pressure forever).
        report.violations.push_back(
            {"liveness", sim.now(),
             "the workload did not finish after the faults healed:" + workload.outstanding()});
    }
    return report;
}

}  // namespace herald::sim
