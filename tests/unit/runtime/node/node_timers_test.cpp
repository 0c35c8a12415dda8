// TimerSet: one engine's timers in due order; set moves, cancel removes.
#include <gtest/gtest.h>

#include "runtime/loop_timers.h"

namespace herald::runtime {
namespace {

Time at(std::int64_t ns) {
    return Time::from_ns(ns);
}

TEST(TimerSet, PopsDueTimersInTimeOrderAndNothingEarly) {
    TimerSet timers;
    timers.set(proto::TimerId{1}, at(30));
    timers.set(proto::TimerId{2}, at(10));
    timers.set(proto::TimerId{3}, at(20));
    EXPECT_EQ(timers.earliest(), at(10));
    EXPECT_FALSE(timers.pop_due(at(9)).has_value());
    EXPECT_EQ(timers.pop_due(at(25))->value, 2u);
    EXPECT_EQ(timers.pop_due(at(25))->value, 3u);
    EXPECT_FALSE(timers.pop_due(at(25)).has_value());
    EXPECT_EQ(timers.size(), 1u);
}

TEST(TimerSet, SettingAnIdAgainMovesIt) {
    TimerSet timers;
    timers.set(proto::TimerId{1}, at(10));
    timers.set(proto::TimerId{1}, at(50));
    EXPECT_EQ(timers.size(), 1u);
    EXPECT_EQ(timers.earliest(), at(50));
    EXPECT_FALSE(timers.pop_due(at(20)).has_value());
}

TEST(TimerSet, CancelRemovesAndIgnoresUnknownIds) {
    TimerSet timers;
    timers.apply(proto::TimerEffect{proto::TimerId{1}, at(10), false});
    timers.apply(proto::TimerEffect{proto::TimerId{1}, Time::zero(), true});
    timers.cancel(proto::TimerId{42});
    EXPECT_EQ(timers.size(), 0u);
    EXPECT_FALSE(timers.earliest().has_value());
}

// Cancelled and popped timers leave their nodes for reuse (up to a bound): a set after many
// cancels must still order and find every timer exactly.
TEST(TimerSet, ReusedNodesKeepOrderAndIdentity) {
    TimerSet timers;
    constexpr std::uint64_t count = 3000;  // More than the spare bound.
    for (std::uint64_t round = 0; round < 3; ++round) {
        for (std::uint64_t i = 0; i < count; ++i) {
            timers.set(proto::TimerId{i + round}, at(static_cast<std::int64_t>(count - i)));
        }
        for (std::uint64_t i = 0; i < count; i += 2) timers.cancel(proto::TimerId{i + round});
        EXPECT_EQ(timers.size(), count / 2);
        std::int64_t last = 0;
        for (std::uint64_t popped = 0; popped < count / 2; ++popped) {
            const Time due = *timers.earliest();
            auto id = timers.pop_due(at(static_cast<std::int64_t>(count)));
            ASSERT_TRUE(id.has_value());
            EXPECT_EQ(id->value % 2, (round + 1) % 2);  // Only the ones left set.
            EXPECT_EQ(due, at(static_cast<std::int64_t>(count - (id->value - round))));
            EXPECT_GT(due.ns(), last);
            last = due.ns();
        }
        EXPECT_EQ(timers.size(), 0u);
        EXPECT_FALSE(timers.pop_due(Time::max()).has_value());
    }
}

}  // namespace
}  // namespace herald::runtime
