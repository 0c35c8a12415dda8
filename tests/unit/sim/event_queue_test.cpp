// EventQueue ordering, Trace formatting/hashing, Buggify determinism. Layer: tests/unit/sim.
#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/buggify.h"
#include "sim/trace.h"

namespace herald::sim {
namespace {

Time ms(std::int64_t n) {
    return Time::zero() + Duration::milliseconds(n);
}

TEST(EventQueue, RunsEventsInTimeThenInsertionOrder) {
    EventQueue q;
    std::string order;
    q.schedule(ms(5), [&] { order += 'c'; });
    q.schedule(ms(1), [&] { order += 'a'; });
    q.schedule(ms(5), [&] { order += 'd'; });
    q.schedule(ms(1), [&] { order += 'b'; });
    q.run_until(ms(10));
    EXPECT_EQ(order, "abcd");
    EXPECT_EQ(q.now(), ms(10));
    EXPECT_EQ(q.executed(), 4u);
}

TEST(EventQueue, StopsAtTheHorizonAndRunsPastEventsNow) {
    EventQueue q;
    std::vector<Time> seen;
    q.schedule(ms(3), [&] {
        seen.push_back(q.now());
        q.schedule(ms(1), [&] { seen.push_back(q.now()); });  // In the past: runs at 3 ms.
    });
    q.schedule(ms(20), [&] { seen.push_back(q.now()); });
    q.run_until(ms(10));
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1], ms(3));
    EXPECT_EQ(q.next_time(), ms(20));
    EXPECT_EQ(q.size(), 1u);
}

TEST(EventQueue, StopPredicateEndsTheRunBetweenEvents) {
    EventQueue q;
    int count = 0;
    for (int i = 1; i <= 5; ++i) q.schedule(ms(i), [&] { ++count; });
    q.run_until(ms(100), [&] { return count == 2; });
    EXPECT_EQ(count, 2);
    EXPECT_EQ(q.now(), ms(2));  // Not advanced to the horizon when stopped early.
}

TEST(Trace, FormatsTimeAndFieldsCompactly) {
    EXPECT_EQ(format_time(Time::from_ns(12'345'678'901)), "12.345678");
    EXPECT_EQ(format_time(Time::zero()), "0.000000");
    Fields f;
    f.add("op", std::uint64_t{7}).add("to", Pid{NodeId{2}, 3}).add("neg", -4).add("ok", true);
    EXPECT_EQ(f.text(), "op=7 to=2.3 neg=-4 ok=1");
    Trace t(true);
    t.line(ms(1), "n1", "send", f.text());
    ASSERT_EQ(t.lines().size(), 1u);
    EXPECT_EQ(t.lines()[0], "0.001000 n1 send op=7 to=2.3 neg=-4 ok=1");
}

TEST(Trace, HashDependsOnEveryLineAndProbesCountWithoutLines) {
    Trace one(true), two(true), three(true);
    one.line(ms(1), "n1", "x", "a=1");
    two.line(ms(1), "n1", "x", "a=1");
    three.line(ms(1), "n1", "x", "a=2");
    EXPECT_EQ(one.hash(), two.hash());
    EXPECT_NE(one.hash(), three.hash());
    Trace off(false);
    off.line(ms(1), "n1", "x", "a=1");
    off.probe("probe_window_full");
    off.probe("probe_window_full");
    EXPECT_TRUE(off.lines().empty());
    EXPECT_EQ(off.probes().at("probe_window_full"), 2u);
}

TEST(Buggify, DecidesEachModeFromSeedAndNameOnly) {
    int on = 0;
    for (std::uint64_t seed = 0; seed < 400; ++seed) {
        Buggify first(seed, true), second(seed, true);
        second.mode("other_mode");  // Asking about another mode first changes nothing.
        const bool a = first.mode("burst_loss");
        EXPECT_EQ(a, second.mode("burst_loss"));
        on += a ? 1 : 0;
        EXPECT_FALSE(Buggify(seed, false).mode("burst_loss"));
    }
    EXPECT_GT(on, 60);  // About a quarter of 400.
    EXPECT_LT(on, 140);
}

}  // namespace
}  // namespace herald::sim
