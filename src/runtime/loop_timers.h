// TimerSet: one engine's timers (TimerId -> due time), kept in due order, so the Node can arm a
// single asio timer at the earliest due time of all its engines; WakeSchedule: when that timer
// must move. Layer: runtime. Loop thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/time.h"
#include "proto/effects.h"

namespace herald::runtime {

class TimerSet {
public:
    // Sets `id` to fire at `at`; setting an id that is already set moves it (Effects contract).
    void set(proto::TimerId id, Time at);
    // Cancels `id`; cancelling an unset id does nothing.
    void cancel(proto::TimerId id);
    // Applies one TimerEffect (set or cancel).
    void apply(const proto::TimerEffect& effect);

    // The earliest due time, or nothing when no timer is set.
    [[nodiscard]] std::optional<Time> earliest() const;

    // Removes and returns the earliest timer due at or before `now`, or nothing.
    std::optional<proto::TimerId> pop_due(Time now);

    [[nodiscard]] std::size_t size() const { return at_by_id_.size(); }
    void clear();

private:
    using ById = std::unordered_map<std::uint64_t, Time>;
    using ByTime = std::set<std::pair<Time, std::uint64_t>>;
    // Spare nodes of both containers: engines move and cancel timers often (once a stream
    // set and cancelled one per message, issue 7; send deadlines are per channel since issue
    // 17), and reusing nodes keeps that free of allocations.
    // At most spare_max of each are kept; beyond it nodes are freed.
    static constexpr std::size_t spare_max = 1024;

    void insert_by_time(Time at, std::uint64_t id);
    void erase_by_time(ByTime::const_iterator it);
    void erase_by_id(ById::const_iterator it);

    ById at_by_id_;
    ByTime by_time_;
    std::vector<ById::node_type> spare_by_id_;
    std::vector<ByTime::node_type> spare_by_time_;
};

// The loop's one wake-up. The node asks it once per batch of inputs (at the batch's end) with
// the earliest deadline of all its timer sets. An earlier deadline re-arms it at once. A later
// one re-arms it only when the armed wake-up is due within later_horizon: then it would wake
// the loop for nothing (a timer whose work already happened: an ack that left, a call that
// ended). One due later is left armed early: a busy loop sets an earlier deadline again within
// microseconds (an RPC server's 20 ms timer per request), so moving it later every batch would
// cost two timerfd_settime calls per batch instead of one early wake-up per timer period. An
// unchanged deadline costs nothing. Never armed later than the earliest deadline.
class WakeSchedule {
public:
    enum class Action : std::uint8_t {
        keep,    // The timer is armed at `earliest` already (or nothing is due and none armed).
        arm,     // (Re-)arm the timer at `earliest`.
        cancel,  // Nothing is due: cancel the armed timer.
    };
    // `earliest`: the earliest deadline of all timers, Time::max() when none is set; `now`: the
    // batch's time.
    [[nodiscard]] Action update(Time earliest, Time now);
    // The armed timer fired (or was lost): nothing is armed until the next update.
    void fired() { armed_ = Time::max(); }
    // When the armed timer fires; Time::max() when none is armed.
    [[nodiscard]] Time armed() const { return armed_; }

    // An armed wake-up due this soon is moved later when the deadline moved later: about a
    // scheduling quantum, below the 20-50 ms timers of a busy RPC server or direct channel.
    static constexpr Duration later_horizon = Duration::milliseconds(1);

private:
    Time armed_ = Time::max();
};

}  // namespace herald::runtime
