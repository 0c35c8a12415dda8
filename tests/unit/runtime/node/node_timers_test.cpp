// TimerSet: one engine's timers in due order; set moves, cancel removes. WakeSchedule: the
// loop's one wake-up follows the earliest deadline. OperationTable: the node's pending
// operations by id, in reused slots.
#include <gtest/gtest.h>

#include <string>

#include "runtime/loop_timers.h"
#include "runtime/operation_table.h"

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

// The loop's wake-up follows the earliest deadline: at once when it moves earlier; later only
// when the armed wake-up is due within later_horizon (it would wake the loop for a timer whose
// work already happened); a wake-up due later stays armed early (a busy loop sets an earlier
// deadline again soon), and an unchanged one is left alone. Fails when the schedule only moves
// earlier (the step at 39.5 ms) or moves later whenever the deadline does (the step at 0 ms).
TEST(WakeSchedule, FollowsTheEarliestDeadlineEarlierAtOnceAndLaterWhenTheWakeUpIsDue) {
    using Action = WakeSchedule::Action;
    auto us = [](std::int64_t n) { return Time::from_ns(n * 1'000); };
    ASSERT_EQ(WakeSchedule::later_horizon, Duration::milliseconds(1));
    WakeSchedule wake;
    EXPECT_EQ(wake.update(Time::max(), us(0)), Action::keep);  // Nothing due, nothing armed.
    EXPECT_EQ(wake.update(us(100'000), us(0)), Action::arm);
    EXPECT_EQ(wake.update(us(100'000), us(0)), Action::keep);
    EXPECT_EQ(wake.update(us(40'000), us(0)), Action::arm);  // Earlier.
    EXPECT_EQ(wake.armed(), us(40'000));
    EXPECT_EQ(wake.update(us(60'000), us(0)),
              Action::keep);              // Later, but the wake-up is 40 ms off.
    EXPECT_EQ(wake.armed(), us(40'000));  // Early, never late.
    EXPECT_EQ(wake.update(us(60'000), us(39'500)), Action::arm);  // Due in 0.5 ms: move it.
    EXPECT_EQ(wake.armed(), us(60'000));
    EXPECT_EQ(wake.update(us(60'000), us(39'500)), Action::keep);
    EXPECT_EQ(wake.update(Time::max(), us(59'500)), Action::cancel);
    EXPECT_EQ(wake.update(Time::max(), us(59'500)), Action::keep);
    EXPECT_EQ(wake.update(us(700'000), us(59'500)), Action::arm);
    wake.fired();  // Nothing is armed after the timer fired, even for the same deadline.
    EXPECT_EQ(wake.armed(), Time::max());
    EXPECT_EQ(wake.update(us(700'000), us(60'000)), Action::arm);
}

TEST(OperationTable, TakesEachOperationOnceByItsId) {
    OperationTable<std::string> ops;
    const std::uint64_t a = ops.add("a");
    const std::uint64_t b = ops.add("b");
    EXPECT_NE(a, 0u);
    EXPECT_NE(a, b);
    EXPECT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops.take(b), "b");
    EXPECT_FALSE(ops.take(b).has_value());  // Completed already.
    EXPECT_FALSE(ops.take(0).has_value());  // Never issued.
    EXPECT_FALSE(ops.take(a + 7).has_value());
    EXPECT_EQ(ops.take(a), "a");
    EXPECT_TRUE(ops.empty());
}

TEST(OperationTable, ReusesSlotsWithoutReusingIds) {
    OperationTable<std::string> ops;
    const std::uint64_t first = ops.add("first");
    ASSERT_TRUE(ops.take(first).has_value());
    const std::uint64_t again = ops.add("again");  // The same slot, a new id.
    EXPECT_NE(again, first);
    EXPECT_EQ(ops.capacity(), 1u);
    EXPECT_FALSE(ops.take(first).has_value());  // A stale id finds nothing.
    EXPECT_EQ(ops.take(again), "again");
}

TEST(OperationTable, GivesBackItsSlotsWhenItEmptiesAfterABurst) {
    OperationTable<int> ops;
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 5000; ++i) ids.push_back(ops.add(i));
    EXPECT_EQ(ops.capacity(), 5000u);
    for (std::size_t i = 0; i + 1 < ids.size(); ++i) ASSERT_EQ(ops.take(ids[i]), int(i));
    EXPECT_EQ(ops.capacity(), 5000u);  // One still pending.
    EXPECT_EQ(ops.take(ids.back()), 4999);
    EXPECT_EQ(ops.capacity(), 0u);
    const std::uint64_t next = ops.add(1);
    EXPECT_FALSE(ops.take(ids.front()).has_value());  // Issued before the release: unknown.
    EXPECT_EQ(ops.take(next), 1);
}

TEST(OperationTable, TakeAllEmptiesTheTable) {
    OperationTable<int> ops;
    ops.add(1);
    const std::uint64_t two = ops.add(2);
    ops.add(3);
    ASSERT_TRUE(ops.take(two).has_value());
    EXPECT_EQ(ops.take_all(), (std::vector<int>{1, 3}));
    EXPECT_TRUE(ops.empty());
}

}  // namespace
}  // namespace herald::runtime
