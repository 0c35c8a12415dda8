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
