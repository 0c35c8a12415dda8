// EventQueue: the simulator's virtual-time event loop. Layer: sim.
// Events run in (time, insertion sequence) order, so a run depends only on its inputs; nothing
// here reads a real clock.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "core/time.h"

namespace herald::sim {

class EventQueue {
public:
    using Action = std::function<void()>;

    // Schedules `action` at `at` (an `at` in the past runs at now(), after the events already
    // due). Events at equal times run in the order they were scheduled. Returns the event's
    // insertion sequence number (for traces).
    std::uint64_t schedule(Time at, Action action);

    // Runs the next event if one is due at or before `until`, advancing now() to its time.
    // Returns false (and leaves now() unchanged) when none is.
    bool run_next(Time until);

    // Runs events until none is due at or before `until` or `stop()` returns true (checked
    // between events); then now() is `until` unless stop() ended the run early.
    void run_until(Time until, const std::function<bool()>& stop = {});

    [[nodiscard]] Time now() const { return now_; }
    [[nodiscard]] bool empty() const { return events_.empty(); }
    [[nodiscard]] std::size_t size() const { return events_.size(); }
    [[nodiscard]] std::uint64_t executed() const { return executed_; }
    // Time of the next event; Time::max() when empty.
    [[nodiscard]] Time next_time() const;

private:
    struct Event {
        Time at;
        std::uint64_t seq = 0;
        Action action;
    };
    struct Later {
        bool operator()(const Event& a, const Event& b) const {
            if (a.at != b.at) return a.at > b.at;
            return a.seq > b.seq;
        }
    };

    std::priority_queue<Event, std::vector<Event>, Later> events_;
    Time now_ = Time::zero();
    std::uint64_t next_seq_ = 0;
    std::uint64_t executed_ = 0;
};

}  // namespace herald::sim
