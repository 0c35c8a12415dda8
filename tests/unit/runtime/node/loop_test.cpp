// Loop: the node's loop thread runs posted work, timers and stops while it polls
// (poll_until), and sleeps again once the poll's deadline passed. SpinWaiter: a waiter that
// polls yielding (a blocking mailbox caller's, durable_poll) takes an answer that comes during
// its poll or after it, and times out without one. Waits are bounded: a loop that stops running
// work fails the test instead of hanging it.
#include "runtime/loop.h"

#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/spin_waiter.h"

namespace herald::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A count that the loop raises and a test thread waits for, with a bound.
class Count {
public:
    void add() {
        std::lock_guard lock(mutex_);
        ++n_;
        changed_.notify_all();
    }
    [[nodiscard]] bool wait_for(int n, std::chrono::milliseconds bound = 10s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, bound, [&] { return n_ >= n; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int n_ = 0;
};

TEST(Loop, RunsPostedWorkAndTimersAndStopsWhilePolling) {
    Loop loop;
    loop.start();
    Count ran;
    asio::steady_timer timer(loop.io());
    ASSERT_TRUE(loop.post([&] {
        loop.poll_until(Clock::now() + 60s);  // Longer than the test: it polls throughout.
        timer.expires_after(5ms);
        timer.async_wait([&](const std::error_code&) { ran.add(); });
    }));
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(loop.post([&] { ran.add(); }));
    ASSERT_TRUE(ran.wait_for(101));  // Every post and the timer, with the loop polling.
    EXPECT_GT(loop.polls(), 0u);
    // close() from the loop ends a polling loop as it ends a sleeping one.
    ASSERT_TRUE(loop.post([&] { loop.close(); }));
    const auto start = Clock::now();
    loop.join();
    EXPECT_LT(Clock::now() - start, 10s);
    EXPECT_FALSE(loop.post([] {}));
}

TEST(Loop, NeverPollsUnlessAskedAndSleepsAgainOnceThePollEnds) {
    Loop loop;
    loop.start();
    Count ran;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(loop.post([&] { ran.add(); }));
    ASSERT_TRUE(ran.wait_for(10));
    EXPECT_EQ(loop.polls(), 0u);  // Nobody asked: the loop slept between its tasks.

    Clock::time_point asked{}, kept{};
    ASSERT_TRUE(loop.post([&] {
        asked = Clock::now() + 300ms;
        loop.poll_until(asked);
        loop.poll_until(Clock::now() + 1ms);  // An earlier deadline does not shorten it.
        kept = loop.poll_deadline();
        ran.add();
    }));
    ASSERT_TRUE(ran.wait_for(11));
    EXPECT_EQ(kept, asked);
    // The loop polls (bounded wait: a loaded machine may run it late), then, after the
    // deadline, sleeps: the count stops moving.
    const auto deadline = Clock::now() + 10s;
    while (loop.polls() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    EXPECT_GT(loop.polls(), 0u);
    std::uint64_t before = 0, after = 0;
    do {
        std::this_thread::sleep_for(100ms);
        before = loop.polls();
        std::this_thread::sleep_for(100ms);
        after = loop.polls();
    } while (before != after && Clock::now() < deadline);
    EXPECT_EQ(before, after);

    // Work still runs after the poll ended (the loop sleeps in epoll, woken by the post).
    ASSERT_TRUE(loop.post([&] { ran.add(); }));
    ASSERT_TRUE(ran.wait_for(12));
    EXPECT_EQ(loop.polls(), after);
    ASSERT_TRUE(loop.post([&] { loop.close(); }));
    loop.join();
}

// close() leaves the handlers queued before it to run once; one of them asking to poll (a
// commit reported as the node stops) must not stop that last pass before the others ran.
TEST(Loop, EveryHandlerQueuedAtCloseRunsEvenIfOneAsksToPoll) {
    Loop loop;
    loop.start();
    std::atomic<int> ran{0};
    std::mutex hold;
    std::unique_lock held(hold);  // Keeps the loop busy until every handler is queued.
    ASSERT_TRUE(loop.post([&] {
        std::lock_guard wait(hold);
        loop.close();
    }));
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(loop.post([&] {
            loop.poll_until(Clock::now() + 60s);
            ran.fetch_add(1);
        }));
    }
    held.unlock();
    loop.join();
    EXPECT_EQ(ran.load(), 10);
}

TEST(SpinWaiter, AYieldingPollTakesAnAnswerDuringOrAfterItAndTimesOutWithout) {
    for (const auto answer_after : {0ms, 20ms}) {  // Within the 5 ms poll, and after it.
        SpinWaiter<int> waiter;
        std::thread answerer([&] {
            std::this_thread::sleep_for(answer_after);
            waiter.complete(7);
        });
        const auto got = waiter.wait(Clock::now() + 10s, 5000us);
        answerer.join();
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(*got, 7);
    }
    SpinWaiter<int> unanswered;
    EXPECT_FALSE(unanswered.wait(Clock::now() + 20ms, 5000us).has_value());
}

}  // namespace
}  // namespace herald::runtime
