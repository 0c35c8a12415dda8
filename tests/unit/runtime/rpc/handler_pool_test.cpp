// HandlerPool: jobs run on its threads, the queue bound refuses, stop drops queued jobs while
// running ones finish, a worker that joins its own pool is detached, not deadlocked, and
// held jobs wake their workers at release().
#include "runtime/handler_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace herald::runtime {
namespace {

TEST(HandlerPool, RunsJobsOnItsOwnThreads) {
    HandlerPool pool(2, 16);
    std::promise<std::pair<std::thread::id, bool>> ran;
    ASSERT_TRUE(pool.submit([&] {
        ran.set_value({std::this_thread::get_id(), pool.in_worker_thread()});
    }));
    const auto [id, inside] = ran.get_future().get();
    EXPECT_NE(id, std::this_thread::get_id());
    EXPECT_TRUE(inside);
    EXPECT_FALSE(pool.in_worker_thread());
}

// One worker held by a job that waits for `release`; returns once it has started.
struct Held {
    explicit Held(HandlerPool& pool) {
        EXPECT_TRUE(pool.submit([this] {
            started.set_value();
            release.get_future().wait();
        }));
        started.get_future().wait();
    }
    std::promise<void> started, release;
};

// Waits (up to a generous deadline, never a fixed sleep) until `done` holds.
template <class F>
bool eventually(F done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::yield();
    }
    return true;
}

// Held jobs wait for release(), which wakes as many sleeping workers as jobs wait: four jobs
// that each wait until all four run meet only when release() woke all four workers (a
// handler that blocks must not hold back the others). Fails (the jobs give up waiting) when
// release() wakes one worker, and (nothing runs) when it wakes none.
TEST(HandlerPool, ReleaseWakesASleepingWorkerForEachHeldJob) {
    constexpr int jobs = 4;
    HandlerPool pool(jobs, 16);
    ASSERT_TRUE(eventually([&] { return pool.sleeping() == jobs; }));
    std::atomic<int> running{0}, met{0}, finished{0};
    for (int i = 0; i < jobs; ++i) {
        ASSERT_TRUE(pool.submit_held([&] {
            ++running;
            if (eventually([&] { return running.load() == jobs; })) ++met;
            ++finished;
        }));
    }
    pool.release();
    ASSERT_TRUE(eventually([&] { return finished.load() == jobs; }));
    EXPECT_EQ(met.load(), jobs);
    EXPECT_TRUE(eventually([&] { return pool.sleeping() == jobs; }));
    EXPECT_EQ(pool.queued(), 0u);
}

TEST(HandlerPool, RefusesJobsBeyondItsQueueBound) {
    HandlerPool pool(1, 2);
    Held held(pool);
    std::atomic<int> ran{0};
    EXPECT_TRUE(pool.submit([&] { ++ran; }));
    EXPECT_TRUE(pool.submit([&] { ++ran; }));
    EXPECT_FALSE(pool.submit([&] { ++ran; }));  // Two queued: full.
    EXPECT_EQ(pool.queued(), 2u);
    held.release.set_value();
    pool.stop();  // May drop what has not started yet; the bound is what this test checks.
    pool.join();
    EXPECT_LE(ran.load(), 2);
}

TEST(HandlerPool, StopDropsQueuedJobsAndLetsRunningOnesFinish) {
    HandlerPool pool(1, 8);
    std::promise<void> started, release;
    std::atomic<bool> queued_ran{false}, running_finished{false};
    ASSERT_TRUE(pool.submit([&] {
        started.set_value();
        release.get_future().wait();
        running_finished = true;  // The job's tail runs after stop(): it is not cut short.
    }));
    started.get_future().wait();
    ASSERT_TRUE(pool.submit([&] { queued_ran = true; }));
    pool.stop();
    EXPECT_FALSE(pool.submit([] {}));  // Stopped: refused.
    EXPECT_EQ(pool.queued(), 0u);
    EXPECT_FALSE(running_finished.load());
    release.set_value();
    pool.join();  // Waits for the running job.
    EXPECT_TRUE(running_finished.load());
    EXPECT_FALSE(queued_ran.load());
}

TEST(HandlerPool, AWorkerThatJoinsItsOwnPoolIsDetachedInsteadOfDeadlocking) {
    auto pool = std::make_unique<HandlerPool>(2, 8);
    std::promise<void> done;
    ASSERT_TRUE(pool->submit([&] {
        pool->stop();
        pool->join();  // Joins the other worker, detaches this one.
        done.set_value();
    }));
    done.get_future().wait();
    pool.reset();  // The detached worker may still be returning: it keeps its shared state.
}

}  // namespace
}  // namespace herald::runtime
