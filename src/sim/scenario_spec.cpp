// The shared two-phase runner. Layer: sim.
#include "sim/scenario_spec.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "sim/streams.h"
#include "sim/trace.h"

namespace herald::sim {

namespace {

// The workloads of one run, as the one Workload the simulation talks to: node events go to
// all of them, a completion to the one whose kind of operation it is.
class WorkloadSet final : public Workload {
public:
    WorkloadSet(Simulation& sim, std::vector<std::unique_ptr<ScenarioWorkload>> parts)
        : sim_(sim), parts_(std::move(parts)) {}

    void on_node_started(SimNode& node) override {
        for (auto& w : parts_) w->on_node_started(node);
    }
    void on_node_crashed(SimNode& node) override {
        for (auto& w : parts_) w->on_node_crashed(node);
    }
    void on_delivered(SimNode& node, const Message& message) override {
        for (auto& w : parts_) {
            if (w->takes_deliveries()) w->on_delivered(node, message);
        }
    }
    void on_arrived(SimNode& node, Pid pid, const Bytes& state) override {
        for (auto& w : parts_) {
            if (w->takes_deliveries()) w->on_arrived(node, pid, state);
        }
    }
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override {
        owner(completion.op).on_completed(node, completion);
    }
    void on_execute(SimNode& node, std::size_t slot, const proto::ExecuteEffect& request) override {
        bool taken = false;
        for (auto& w : parts_) {
            if (!w->takes_executions()) continue;
            w->on_execute(node, slot, request);
            taken = true;
        }
        if (!taken) Workload::on_execute(node, slot, request);  // Asserts: nobody expects it.
    }
    [[nodiscard]] const std::vector<std::unique_ptr<ScenarioWorkload>>& parts() const {
        return parts_;
    }

private:
    ScenarioWorkload& owner(std::uint64_t op) {
        if (parts_.size() == 1) return *parts_.front();
        const OperationRecord* record = sim_.history().find(op);
        HERALD_ASSERT(record != nullptr);  // Every workload records what it starts.
        for (auto& w : parts_) {
            if (w->operation_kind() == record->kind) return *w;
        }
        HERALD_ASSERT(false);
        return *parts_.front();
    }

    Simulation& sim_;
    std::vector<std::unique_ptr<ScenarioWorkload>> parts_;
};

}  // namespace

namespace {

// Once the workload finished after the faults healed, the nodes should fall quiet: the run goes
// on this long, and any durable write in that time, or more than ScenarioSpec::quiet_packets_max
// packets per node, is a violation (checker "quiet").
constexpr Duration quiet_time = Duration::seconds(5);

struct QuietCounts {
    std::uint64_t packets = 0, writes = 0;
};

std::uint64_t writes_issued(Simulation& sim) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < sim.node_count(); ++i) n += sim.node_at(i).writes_issued();
    return n;
}

QuietCounts run_quiet_phase(Simulation& sim) {
    const std::uint64_t packets = sim.network().counters().sent;
    const std::uint64_t writes = writes_issued(sim);
    run_phase(sim, sim.now() + quiet_time);
    return {sim.network().counters().sent - packets, writes_issued(sim) - writes};
}

// With a short channel_idle: the most a clog, and apart from it an extreme delay, may hold a
// packet back, so that with the 50 ms reordering delay packets live less than channel_idle/4.
Duration packet_delay_max(const ScenarioOptions& o) {
    return o.channel_idle / 10;
}

}  // namespace

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
    // The direct engine assumes packets live less than channel_idle/4 (direct rule 18);
    // few_channels makes channel_idle 4 s, so a clog (<= 500 ms) plus this stays below 1 s.
    if (buggify.mode("few_channels")) n.extreme_delay_max = Duration::milliseconds(300);
    if (o.channel_idle != Duration::zero()) {
        n.extreme_delay_max = std::min(n.extreme_delay_max, packet_delay_max(o));
    }
    return n;
}

void schedule_node1_crashes(Simulation& sim, const ScenarioOptions& o, Random& random) {
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

InboxTaking::InboxTaking(Simulation& sim, Duration stall)
    : sim_(sim),
      stall_from_(Time::zero() + Duration::milliseconds(100)),
      stall_until_(stall_from_ + stall) {}

void InboxTaking::on_delivered(SimNode& node, Pid pid) {
    Time at = sim_.now();
    const bool last = node.id() == sim_.node_at(sim_.node_count() - 1).id();
    if (last && at >= stall_from_ && at < stall_until_) at = stall_until_;
    sim_.queue().schedule(at, [&sim = sim_, id = node.id(), life = node.incarnation(), pid] {
        SimNode& n = sim.node(id);
        if (!n.up() || n.incarnation() != life) return;  // Its queue went with the crash.
        static_cast<void>(n.consume(pid, {}));
    });
}

ScenarioSpec base_spec(std::string_view name, const ScenarioOptions& o, Buggify& buggify) {
    ScenarioSpec spec;
    spec.name = name;
    spec.sim.nodes = o.nodes;
    spec.sim.network = network_options(o, buggify);
    spec.sim.trace = o.trace;
    if (buggify.mode("slow_disk")) spec.sim.fsync_max = Duration::milliseconds(50);
    // Every packet with a body over 3 bytes travels as fragments of 3 body bytes.
    if (buggify.mode("tiny_fragments")) spec.sim.fragment_slice = 3;
    spec.faults.safety = o.safety;
    spec.faults.partitions = o.partitions;
    spec.faults.crashes = o.crashes;
    spec.faults.clogs = o.clogs;
    spec.faults.wipe = o.wipe;
    if (o.channel_idle != Duration::zero()) spec.faults.clog_max = packet_delay_max(o);
    return spec;
}

RunReport run_spec(const ScenarioOptions& o, std::uint64_t seed, ScenarioSpec& spec,
                   Buggify& buggify) {
    Simulation sim(seed, spec.sim);
    std::vector<std::size_t> slots;
    for (const auto& factory : spec.engines) slots.push_back(sim.add_engine(factory));
    std::vector<std::unique_ptr<ScenarioWorkload>> parts;
    for (std::size_t i = 0; i < spec.workloads.size(); ++i) {
        // The first workload keeps the stream a single-workload scenario always had.
        Random random = i == 0 ? make_stream(seed, Stream::workload)
                               : make_stream(seed, Stream::workload_extra, i);
        parts.push_back(spec.workloads[i](sim, slots, std::move(random)));
    }
    WorkloadSet workloads(sim, std::move(parts));
    sim.set_workload(workloads);

    Random fault_random = make_stream(seed, Stream::faults);
    const FaultPlan plan =
        plan_faults(spec.faults, spec.sim.nodes, Time::zero(), fault_random, buggify);
    sim.note("--", "scenario", Fields().add("name", spec.name).add("seed", seed).text());
    sim.start_all();
    schedule_faults(sim, plan);
    if (spec.extra_faults) spec.extra_faults(sim, fault_random);
    run_phase(sim, Time::zero() + o.safety);

    sim.heal();
    for (std::size_t i = 0; i < sim.node_count(); ++i) sim.restart(sim.node_at(i).id());
    sim.history().set_liveness_start(sim.now());
    sim.note("--", "liveness");
    for (const auto& w : workloads.parts()) w->begin_liveness();
    const bool finished = run_liveness_phase(sim, o.liveness_bound, [&] {
        for (const auto& w : workloads.parts()) {
            if (!w->done()) return false;
        }
        return true;
    });

    const QuietCounts quiet = finished ? run_quiet_phase(sim) : QuietCounts{};

    RunReport report;
    report.buggify = buggify.active();
    finish_report(sim, o, o.liveness_bound, report);
    if (quiet.writes > 0 || quiet.packets > spec.quiet_packets_max * sim.node_count()) {
        // Work that goes on although nothing is asked any more: an engine in a cycle of
        // retransmissions or durable writes that the other checkers cannot see.
        report.violations.push_back({"quiet", sim.now(),
                                     std::to_string(quiet.packets) + " packets and " +
                                         std::to_string(quiet.writes) + " durable writes in the " +
                                         std::to_string(quiet_time.ms()) +
                                         " ms after the workload finished and the faults healed"});
    }
    for (const auto& w : workloads.parts()) {
        for (auto& v : w->check()) report.violations.push_back(std::move(v));
        for (const auto& [name, value] : w->numbers()) report.probes[name] = value;
        if (!finished && !w->done()) {
            // Usually explained by the liveness checker's findings; this also catches a
            // workload stuck without a pending operation (e.g. refused by back-pressure).
            report.violations.push_back({"liveness", sim.now(),
                                         std::string("the ") + std::string(w->operation_kind()) +
                                             " workload did not finish after the faults "
                                             "healed:" +
                                             w->outstanding()});
        }
    }
    return report;
}

}  // namespace herald::sim
