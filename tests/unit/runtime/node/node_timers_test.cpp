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

}  // namespace
}  // namespace herald::runtime
