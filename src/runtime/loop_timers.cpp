// TimerSet: one engine's timers in due order; WakeSchedule: the loop's wake-up. Layer: runtime.
#include "runtime/loop_timers.h"

namespace herald::runtime {

void TimerSet::set(proto::TimerId id, Time at) {
    auto it = at_by_id_.find(id.value);
    if (it != at_by_id_.end()) {
        if (it->second == at) return;
        erase_by_time(by_time_.find({it->second, id.value}));
        it->second = at;
    } else if (spare_by_id_.empty()) {
        at_by_id_.emplace(id.value, at);
    } else {
        ById::node_type node = std::move(spare_by_id_.back());
        spare_by_id_.pop_back();
        node.key() = id.value;
        node.mapped() = at;
        at_by_id_.insert(std::move(node));
    }
    insert_by_time(at, id.value);
}

void TimerSet::cancel(proto::TimerId id) {
    auto it = at_by_id_.find(id.value);
    if (it == at_by_id_.end()) return;
    erase_by_time(by_time_.find({it->second, id.value}));
    erase_by_id(it);
}

void TimerSet::insert_by_time(Time at, std::uint64_t id) {
    if (spare_by_time_.empty()) {
        by_time_.emplace(at, id);
        return;
    }
    ByTime::node_type node = std::move(spare_by_time_.back());
    spare_by_time_.pop_back();
    node.value() = {at, id};
    by_time_.insert(std::move(node));
}

void TimerSet::erase_by_time(ByTime::const_iterator it) {
    if (spare_by_time_.size() < spare_max) {
        spare_by_time_.push_back(by_time_.extract(it));
    } else {
        by_time_.erase(it);
    }
}

void TimerSet::erase_by_id(ById::const_iterator it) {
    if (spare_by_id_.size() < spare_max) {
        spare_by_id_.push_back(at_by_id_.extract(it));
    } else {
        at_by_id_.erase(it);
    }
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
    erase_by_time(by_time_.begin());
    erase_by_id(at_by_id_.find(id));
    return proto::TimerId{id};
}

WakeSchedule::Action WakeSchedule::update(Time earliest, Time now) {
    if (earliest == armed_) return Action::keep;
    if (earliest > armed_ && armed_ - now > later_horizon) {
        return Action::keep;  // Armed early but not soon: an earlier deadline likely comes back.
    }
    armed_ = earliest;
    return earliest == Time::max() ? Action::cancel : Action::arm;
}

void TimerSet::clear() {
    at_by_id_.clear();
    by_time_.clear();
}

}  // namespace herald::runtime
