// EventQueue implementation. Layer: sim.
#include "sim/event_queue.h"

#include "core/assert.h"

namespace herald::sim {

std::uint64_t EventQueue::schedule(Time at, Action action) {
    HERALD_ASSERT(action != nullptr);
    const std::uint64_t seq = next_seq_++;
    events_.push(Event{at < now_ ? now_ : at, seq, std::move(action)});
    return seq;
}

bool EventQueue::run_next(Time until) {
    if (events_.empty() || events_.top().at > until) return false;
    // priority_queue::top() is const; moving the action out before pop() avoids a copy of its
    // captures (packets can be large).
    Event event = std::move(const_cast<Event&>(events_.top()));
    events_.pop();
    HERALD_ASSERT(event.at >= now_);
    now_ = event.at;
    ++executed_;
    event.action();
    return true;
}

void EventQueue::run_until(Time until, const std::function<bool()>& stop) {
    while (true) {
        if (stop && stop()) return;
        if (!run_next(until)) break;
    }
    if (now_ < until) now_ = until;
}

Time EventQueue::next_time() const {
    return events_.empty() ? Time::max() : events_.top().at;
}

}  // namespace herald::sim
