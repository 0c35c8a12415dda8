// ScenarioSpec: a scenario as data — the engines every node hosts, the workloads that drive
// them, the faults, the checks — and the one two-phase runner every scenario shares (a safety
// phase with faults, then a liveness phase with the faults healed, then the checkers). A new
// protocol's scenario fills a spec (about 40 lines) instead of writing its own runner.
// Layer: sim.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/buggify.h"
#include "sim/checkers.h"
#include "sim/faults.h"
#include "sim/scenario.h"
#include "sim/simulation.h"

namespace herald::sim {

// A workload a scenario runs: the Workload hooks plus what the two-phase runner asks of it.
class ScenarioWorkload : public Workload {
public:
    // The History kind of the operations it starts ("send", "call"): completions of those go
    // to it when several workloads share one simulation.
    [[nodiscard]] virtual std::string_view operation_kind() const = 0;
    // Whether messages delivered to processes (on_delivered) / handler runs the engines ask
    // for (on_execute) are this workload's. Each goes to the workloads that take it.
    [[nodiscard]] virtual bool takes_deliveries() const { return false; }
    [[nodiscard]] virtual bool takes_executions() const { return false; }
    // From now on the faults are healed: what it starts must succeed.
    virtual void begin_liveness() = 0;
    // Every operation of the liveness phase finished as it must.
    [[nodiscard]] virtual bool done() const = 0;
    // What keeps done() false, for the report.
    [[nodiscard]] virtual std::string outstanding() const { return {}; }
    // Its own checks at the end, beyond the shared checkers over the history.
    [[nodiscard]] virtual std::vector<Violation> check() const { return {}; }
    // Figures for the report's probes.
    [[nodiscard]] virtual std::map<std::string, std::uint64_t> numbers() const { return {}; }
};

struct ScenarioSpec {
    std::string_view name;
    SimOptions sim;
    // Every node hosts these engines, in this order (slot i is engines[i]).
    std::vector<EngineFactory> engines;
    // Made once the simulation exists; `slots` are the engines' slots, in order.
    using MakeWorkload = std::function<std::unique_ptr<ScenarioWorkload>(
        Simulation& sim, const std::vector<std::size_t>& slots, Random random)>;
    std::vector<MakeWorkload> workloads;
    FaultOptions faults;  // Planned with plan_faults over every node.
    // Faults of the scenario's own (e.g. crashes of one node), scheduled after the plan.
    std::function<void(Simulation& sim, Random& random)> extra_faults;
    // Packets a node may send in the quiet phase (checker "quiet"): a protocol with periodic
    // traffic by design (the group failure detector's heartbeats) raises it by that traffic.
    std::uint64_t quiet_packets_max = 10;
};

// Runs `spec` for `seed`: builds the simulation, starts every node, schedules the faults, runs
// the safety phase (options.safety), heals and restarts every node, runs the liveness phase
// (options.liveness_bound), and reports the shared checkers' verdicts, each workload's checks
// and numbers, and a workload that did not finish after the faults healed.
[[nodiscard]] RunReport run_spec(const ScenarioOptions& options, std::uint64_t seed,
                                 ScenarioSpec& spec, Buggify& buggify);

// The network model of options and buggify modes every scenario shares.
[[nodiscard]] NetworkOptions network_options(const ScenarioOptions& options, Buggify& buggify);

// options.crashes crashes of node 1 (the server or host of a scenario), each at a random time of
// the safety phase and down 1 ms to 1 s, never wiping its disk (a wiped reply cache or mailbox
// store keeps no promise). For ScenarioSpec::extra_faults.
void schedule_node1_crashes(Simulation& sim, const ScenarioOptions& options, Random& random);

// How the group and order workloads' members take their deliveries (flow control,
// docs/groups.md G25, docs/ordering.md O37): each delivery is taken in an input of its own
// right after it (so the engines hear of it, on_consumed). With ScenarioOptions::stall, the
// members of the last node take nothing from 100 ms into the run for that long, then drain.
class InboxTaking {
public:
    InboxTaking(Simulation& sim, Duration stall);
    // Called from a workload's on_delivered: schedules the take of one of `pid`'s deliveries.
    void on_delivered(SimNode& node, Pid pid);
    // The members' credit in the engines under a stall: small, so the stall stops them.
    static constexpr std::uint32_t stalled_queue_max = 4;

private:
    Simulation& sim_;
    Time stall_from_;
    Time stall_until_;  // Equal to stall_from_: no stall.
};

// A spec named `name` with what every scenario takes from its options: nodes, the network
// model, tracing, the slow_disk buggify mode, and the fault plan (safety, partitions, crashes,
// clogs, wipe). Scenarios add engines and workloads, and change what differs.
[[nodiscard]] ScenarioSpec base_spec(std::string_view name, const ScenarioOptions& options,
                                     Buggify& buggify);

}  // namespace herald::sim
