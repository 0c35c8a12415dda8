// Simulation: N SimNodes on virtual time with one seeded network, one event queue, one
// history and one trace. Scenarios build one per (options, seed), add engines and a Workload,
// schedule faults and run phases. Layer: sim. Single-threaded; nothing reads a real clock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/random.h"
#include "sim/engines.h"
#include "sim/event_queue.h"
#include "sim/history.h"
#include "sim/network.h"
#include "sim/sim_node.h"
#include "sim/trace.h"

namespace herald::sim {

// The scenario-specific behaviour of a run: the simulated processes and what they do.
// Hooks run inside a node's input; they must not call SimNode::command directly (schedule an
// event instead), because the node is still carrying out effects.
class Workload {
public:
    virtual ~Workload() = default;
    // The node started a new incarnation: spawn its processes (schedule, then command).
    virtual void on_node_started(SimNode& node) = 0;
    // The node crashed: its processes and their pending operations are gone.
    virtual void on_node_crashed(SimNode& node) = 0;
    // A message for `target` was added to its queue on `node`.
    virtual void on_delivered(SimNode& node, const Message& message) = 0;
    // An operation started on `node` completed.
    virtual void on_completed(SimNode& node, const proto::CompleteEffect& completion) = 0;
    // A process arrived on `node` by migration with the application's `state` (docs/migration.md).
    // Default: the workload does not migrate processes.
    virtual void on_arrived(SimNode& /*node*/, Pid /*pid*/, const Bytes& /*state*/) {}
    // An engine asks the node to run a request (RPC). Default: the workload does not expect it.
    virtual void on_execute(SimNode& node, std::size_t slot, const proto::ExecuteEffect& request);
};

struct SimOptions {
    std::size_t nodes = 3;
    NetworkOptions network;
    Duration fsync_min = Duration::microseconds(100);
    Duration fsync_max = Duration::milliseconds(2);
    bool trace = false;  // Format trace lines (slower); probes are counted either way.
    // Packets travel encoded (wire::encode, wire::decode at arrival, as on a real network).
    // With fragment_slice > 0, every packet with a body longer than that is cut into fragments
    // carrying fragment_slice body bytes each (wire::fragment), routed one by one (each may be
    // lost, duplicated, reordered) and reassembled by the receiving node (wire::Reassembler).
    std::size_t fragment_slice = 0;
    // A run that executes this many events is stuck in a loop (a seed of the direct scenario
    // needs a few thousand): run_phase() stops it and finish_report() reports it.
    std::uint64_t event_budget = 5'000'000;
};

class Simulation {
public:
    Simulation(std::uint64_t seed, const SimOptions& options);
    ~Simulation();
    Simulation(const Simulation&) = delete;
    Simulation& operator=(const Simulation&) = delete;

    // Setup, before start_all(): the workload (must outlive the simulation's runs) and the
    // engines every node hosts (same slot on every node; returns it).
    void set_workload(Workload& workload) { workload_ = &workload; }
    std::size_t add_engine(const EngineFactory& factory);
    void start_all();

    // Faults. crash/restart trace the event and tell the history and the workload.
    void crash(NodeId node, bool wipe);
    void restart(NodeId node);
    // Ends partitions, clogs and lossy links for good (the liveness phase begins).
    void heal();

    // Routes a packet through the network model and schedules its arrival(s).
    void send_packet(NodeId from, NodeId to, wire::Packet packet);

    // One trace line at now() (formatted only when tracing).
    void note(std::string_view node, std::string_view event, std::string_view fields = {}) {
        trace_.line(queue_.now(), node, event, fields);
    }
    // An engine's TraceEffect: counted as a probe when its name starts with "probe_".
    void engine_trace(const SimNode& node, std::string_view engine,
                      const proto::TraceEffect& effect);

    [[nodiscard]] std::uint64_t seed() const { return seed_; }
    [[nodiscard]] Time now() const { return queue_.now(); }
    [[nodiscard]] EventQueue& queue() { return queue_; }
    [[nodiscard]] Network& network() { return network_; }
    [[nodiscard]] History& history() { return history_; }
    [[nodiscard]] Trace& trace() { return trace_; }
    [[nodiscard]] Workload& workload();
    [[nodiscard]] const SimOptions& options() const { return options_; }
    [[nodiscard]] Random& disk_random() { return disk_random_; }
    [[nodiscard]] std::size_t node_count() const { return nodes_.size(); }
    [[nodiscard]] SimNode& node(NodeId id);
    [[nodiscard]] SimNode& node_at(std::size_t index) { return *nodes_.at(index); }
    // Unique operation ids for commands (1, 2, ...).
    [[nodiscard]] std::uint64_t next_operation_id() { return ++last_operation_id_; }
    // A history record for a new operation of `kind` (static storage) that `actor` starts
    // now towards `peer`: a fresh id, the actor node's incarnation, `started` = now. The
    // workload adds its own fields and passes it to history().start.
    [[nodiscard]] OperationRecord new_operation(std::string_view kind, Pid actor, Pid peer);
    [[nodiscard]] EngineStats engine_stats() const;
    [[nodiscard]] std::uint64_t packets_delivered() const { return packets_delivered_; }

private:
    void arrive(NodeId from, NodeId to, const Bytes& datagram);

    std::uint64_t seed_;
    SimOptions options_;
    EventQueue queue_;
    Network network_;
    History history_;
    Trace trace_;
    Random disk_random_;
    Workload* workload_ = nullptr;
    std::vector<std::unique_ptr<SimNode>> nodes_;
    std::uint64_t last_operation_id_ = 0;
    std::uint64_t packets_delivered_ = 0;
    std::uint32_t next_fragment_id_ = 1;
    // (receiver, sender) -> the sender's incarnation last seen in a packet (for contacts).
    std::map<std::pair<NodeId, NodeId>, std::uint32_t> known_incarnations_;
};

}  // namespace herald::sim
