// History recording. Layer: sim.
#include "sim/history.h"

#include "core/assert.h"

namespace herald::sim {

std::size_t History::start(OperationRecord record) {
    HERALD_ASSERT(record.id != 0);
    HERALD_ASSERT(!by_id_.contains(record.id));
    const std::size_t index = operations_.size();
    by_id_.emplace(record.id, index);
    operations_.push_back(std::move(record));
    return index;
}

void History::complete(std::uint64_t id, Time at, Errc outcome) {
    const auto it = by_id_.find(id);
    if (it == by_id_.end()) {
        anomaly(at, "completion of unknown operation " + std::to_string(id));
        return;
    }
    OperationRecord& op = operations_[it->second];
    ++op.completions;
    if (op.completions == 1) {
        op.completed = at;
        op.outcome = outcome;
    }
}

void History::abandon_node(NodeId node) {
    for (auto& op : operations_) {
        if (op.actor.node == node && !op.completed) op.abandoned = true;
    }
}

void History::anomaly(Time at, std::string description) {
    anomalies_.push_back({at, std::move(description)});
}

void History::invariant(Time at, NodeId node, std::string finding) {
    if (invariants_.size() >= invariant_findings_max) {
        ++invariants_dropped_;
        return;
    }
    invariants_.push_back({at, to_string(node) + ": " + std::move(finding)});
}

std::uint32_t History::incarnation_at(NodeId node, Time at) const {
    std::uint32_t incarnation = 1;
    for (const auto& crash : crashes_) {
        if (crash.node == node && crash.at < at) ++incarnation;
    }
    return incarnation;
}

bool History::sent_to_unknown_restart(const OperationRecord& op) const {
    if (op.actor.node == op.peer.node) return false;
    const std::uint32_t incarnation = incarnation_at(op.peer.node, op.started);
    if (incarnation == 1) return false;
    for (const auto& c : contacts_) {
        if (c.node == op.actor.node && c.peer == op.peer.node &&
            c.peer_incarnation == incarnation && c.at <= op.started) {
            return false;
        }
    }
    return true;
}

const OperationRecord* History::find(std::uint64_t id) const {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &operations_[it->second];
}

std::optional<std::size_t> History::index_of(std::uint64_t id) const {
    const auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    return it->second;
}

}  // namespace herald::sim
