// History: what happened in one simulated run, recorded by the simulator and the workload for
// the checkers. Generic over protocols: "operations" (started by an actor, completed once with
// a result), "deliveries" (a payload reached a process's queue) and "executions" (a server ran
// a request). Layer: sim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"

namespace herald::sim {

// What a successful completion of an operation promises about its payload.
enum class Promise : std::uint8_t {
    none,       // Nothing (a non-blocking send: handed to the system).
    accepted,   // The destination node took it: it reaches the target unless that node crashes.
    delivered,  // It was in the target process's queue before the completion.
};

struct OperationRecord {
    std::uint64_t id = 0;                 // The driver's OperationId; unique within a run.
    std::string_view kind;                // "send", "call", ...; static storage.
    Pid actor;                            // The process that started it.
    Pid peer;                             // Its target.
    std::uint32_t actor_incarnation = 0;  // Of the actor's node when it started.
    std::uint64_t payload = 0;            // Unique id of what it carries; 0 = none.
    Promise promise = Promise::none;
    bool must_succeed = false;  // Started after the faults healed, to a live target.
    Time started;
    std::optional<Time> completed;  // First completion.
    Errc outcome = Errc::ok;        // Of the first completion.
    std::uint32_t completions = 0;  // More than one is a violation.
    bool abandoned = false;         // The actor's node crashed before it completed.
};

struct DeliveryRecord {
    Time at;
    Pid source;
    Pid target;
    std::uint32_t target_incarnation = 0;  // Of the target's node at delivery.
    std::uint64_t payload = 0;
};

struct ExecutionRecord {
    Time at;
    NodeId node;
    std::uint32_t incarnation = 0;
    std::uint64_t request = 0;  // Unique id of the request (e.g. client incarnation + seq).
};

struct CrashRecord {
    Time at;
    NodeId node;
    bool wiped = false;  // Durable state destroyed too.
};

// The first packet that `node` received from incarnation `peer_incarnation` of `peer`: from
// then on `node`'s engines can know that `peer` restarted.
struct ContactRecord {
    Time at;
    NodeId node;
    NodeId peer;
    std::uint32_t peer_incarnation = 0;
};

// Something the recorder itself saw go wrong (e.g. a completion for an unknown operation).
struct Anomaly {
    Time at;
    std::string description;
};

class History {
public:
    // Records the start of an operation; `record.id` must be new. Returns its index (the start
    // order, which the FIFO checker uses as send order).
    std::size_t start(OperationRecord record);
    // Records a completion. A second completion of the same id, or an unknown id, is kept
    // (completions counter / anomaly) for the checkers rather than asserted on.
    void complete(std::uint64_t id, Time at, Errc outcome);
    // Every incomplete operation whose actor is on `node` can no longer complete.
    void abandon_node(NodeId node);
    void deliver(DeliveryRecord record) { deliveries_.push_back(record); }
    void execute(ExecutionRecord record) { executions_.push_back(record); }
    void crash(CrashRecord record) { crashes_.push_back(record); }
    void contact(ContactRecord record) { contacts_.push_back(record); }
    void anomaly(Time at, std::string description);
    // An engine invariant that did not hold after an input (Engine::check_invariants). Only the
    // first invariant_findings_max are kept; the rest are counted.
    void invariant(Time at, NodeId node, std::string finding);
    // The time all faults were healed and the liveness phase began; Time::max() if never.
    void set_liveness_start(Time at) { liveness_start_ = at; }

    [[nodiscard]] const std::vector<OperationRecord>& operations() const { return operations_; }
    [[nodiscard]] const OperationRecord* find(std::uint64_t id) const;
    [[nodiscard]] std::optional<std::size_t> index_of(std::uint64_t id) const;
    [[nodiscard]] const std::vector<DeliveryRecord>& deliveries() const { return deliveries_; }
    [[nodiscard]] const std::vector<ExecutionRecord>& executions() const { return executions_; }
    [[nodiscard]] const std::vector<CrashRecord>& crashes() const { return crashes_; }
    [[nodiscard]] const std::vector<ContactRecord>& contacts() const { return contacts_; }
    // Incarnation of `node` at `at`: 1 + its crashes before `at` (a crashed node restarts as
    // the next incarnation).
    [[nodiscard]] std::uint32_t incarnation_at(NodeId node, Time at) const;
    // Whether `op` went to a node that had restarted before the op started, and the actor's
    // node had not yet heard from that new incarnation: its engine could not know yet that
    // its channel to the peer was stale.
    [[nodiscard]] bool sent_to_unknown_restart(const OperationRecord& op) const;
    [[nodiscard]] const std::vector<Anomaly>& anomalies() const { return anomalies_; }
    [[nodiscard]] const std::vector<Anomaly>& invariants() const { return invariants_; }
    [[nodiscard]] std::uint64_t invariants_dropped() const { return invariants_dropped_; }
    static constexpr std::size_t invariant_findings_max = 20;
    [[nodiscard]] Time liveness_start() const { return liveness_start_; }

private:
    std::vector<OperationRecord> operations_;
    std::unordered_map<std::uint64_t, std::size_t> by_id_;
    std::vector<DeliveryRecord> deliveries_;
    std::vector<ExecutionRecord> executions_;
    std::vector<CrashRecord> crashes_;
    std::vector<ContactRecord> contacts_;
    std::vector<Anomaly> anomalies_;
    std::vector<Anomaly> invariants_;
    std::uint64_t invariants_dropped_ = 0;
    Time liveness_start_ = Time::max();
};

}  // namespace herald::sim
