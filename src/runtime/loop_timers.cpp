// TimerSet: one engine's timers in due order. Layer: runtime.
#include "runtime/loop_timers.h"

namespace herald::runtime {

void TimerSet::set(proto::TimerId id, Time at) {
    auto [it, inserted] = at_by_id_.try_emplace(id.value, at);
    if (!inserted) {
        by_time_.erase({it->second, id.value});
        it->second = at;
    }
    by_time_.insert({at, id.value});
}

void TimerSet::cancel(proto::TimerId id) {
    auto it = at_by_id_.find(id.value);
    if (it == at_by_id_.end()) return;
    by_time_.erase({it->second, id.value});
    at_by_id_.erase(it);
}

void TimerSet::apply(const proto::TimerEffect& effect) {
    if (effect.cancel) {
        cancel(effect.id);
    } else {
        set(effect.id, effect.at);
    }
}

std::optional<Time> TimerSet::earliest() const {
    if (by_time_.empty()) return std::nullopt;
    return by_time_.begin()->first;
}

std::optional<proto::TimerId> TimerSet::pop_due(Time now) {
    if (by_time_.empty() || by_time_.begin()->first > now) return std::nullopt;
    const std::uint64_t id = by_time_.begin()->second;
    by_time_.erase(by_time_.begin());
    at_by_id_.erase(id);
    return proto::TimerId{id};
}

void TimerSet::clear() {
    at_by_id_.clear();
    by_time_.clear();
}

}  // namespace herald::runtime
