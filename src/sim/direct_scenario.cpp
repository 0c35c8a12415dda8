// The "direct" scenario as a ScenarioSpec: every node hosts the direct engine (with buggify
// and mutations applied); the direct workload; planned faults. Layer: sim.
#include "sim/direct_scenario.h"

#include <algorithm>

#include "sim/buggify.h"
#include "sim/direct_workload.h"
#include "sim/engines.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

proto::direct::DirectOptions direct_engine_options(const ScenarioOptions& o, Buggify& buggify) {
    proto::direct::DirectOptions d;
    // Small windows and buffers reach flow control and back-pressure with few messages.
    if (buggify.mode("small_window")) d.window_messages = 2;
    if (buggify.mode("small_channel_buffer")) d.channel_buffer_max = 2;
    if (buggify.mode("eager_retransmit")) d.retransmit_initial = Duration::milliseconds(2);
    if (buggify.mode("few_channels")) {
        // Channels run out (sends get queue_full, receivers refuse new channels) and idle
        // ones are swept within the liveness bound; docs/direct.md rule 18 wants idle >
        // peer_timeout.
        d.channels_max = 10;
        d.peer_timeout = Duration::seconds(2);
        d.channel_idle = Duration::seconds(4);
    }
    // The simulator ends a batch after every input; coalescing is exercised all the same.
    d.coalesce_acks = true;
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

ScenarioSpec::MakeWorkload direct_workload(const ScenarioOptions& o, Buggify& buggify,
                                           std::size_t engine_index) {
    DirectWorkloadOptions w;
    w.processes = o.processes;
    w.messages = o.messages;
    w.liveness_messages = o.liveness_messages;
    w.safety = o.safety;
    w.slow_consumers = buggify.mode("slow_consumers");
    w.tiny_queues = buggify.mode("tiny_queues");
    w.liveness_nonblocking = !buggify.mode("few_channels") && o.channels_max == 0;
    return [w, engine_index](Simulation& sim, const std::vector<std::size_t>& slots,
                             Random random) -> std::unique_ptr<ScenarioWorkload> {
        return std::make_unique<DirectWorkload>(sim, slots.at(engine_index), w, std::move(random));
    };
}

RunReport run_direct_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec("direct", o, buggify);
    spec.engines = {direct_engine(direct_engine_options(o, buggify))};
    spec.workloads = {direct_workload(o, buggify, 0)};
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim
