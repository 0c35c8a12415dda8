// SpinWaiter: one answer handed from the node's loop thread to an application thread that
// blocks for it, spinning briefly before it sleeps. Blocking sends (node_send.cpp) and ordered
// multicasts (node_order_service.cpp) wait on it, and blocking mailbox commands (node_mailbox.cpp:
// one caller at a time polls, yielding, the others sleep at once). Layer: runtime.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/assert.h"

namespace herald::runtime {

// How long a waiter spins for its answer before it sleeps. The loop thread usually answers
// within a few microseconds; waking from a futex costs more than that on a virtual machine
// (herald-bench rtt/1B/udp, issue 7; mcast-lat, issue 16: docs/performance.md).
inline constexpr std::chrono::microseconds completion_spin{30};

// A flag to spin on first, a condition variable to sleep on after. complete() once, from any
// thread (the loop's); wait() once, from the thread that blocks.
template <class T>
class SpinWaiter {
public:
    // Notifies under the lock: the waiter may destroy or reuse this waiter as soon as wait()
    // returns (node_mailbox.cpp keeps its waiters in a pool), so complete() must not touch it
    // after the unlock. (Notifying after the unlock was tried: TSan saw the notify race the
    // condition variable's destruction.)
    void complete(T value) {
        std::lock_guard lock(mutex_);
        HERALD_ASSERT(!value_.has_value());  // Once.
        value_.emplace(std::move(value));
        done_.store(true, std::memory_order_release);
        if (sleeping_) ready_.notify_one();
    }
    // Waits until complete() or `until`, spinning for `spin` first (0: sleeps at once) and
    // giving the core to any other ready thread between looks: the loop thread that will answer
    // was often just woken onto this very core, and a spin that does not yield holds it off
    // until the spin ends (a 1 B direct round trip's udp p50 90-96 -> 77-79 us on 2 cores,
    // docs/performance.md "The paced sender's spin"); nullopt when the time ran out.
    std::optional<T> wait(std::chrono::steady_clock::time_point until,
                          std::chrono::microseconds spin = completion_spin) {
        const auto spin_end = std::chrono::steady_clock::now() + spin;
        while (spin.count() > 0 && !done_.load(std::memory_order_acquire)) {
            std::this_thread::yield();
            if (std::chrono::steady_clock::now() >= spin_end) break;
        }
        std::unique_lock lock(mutex_);
        sleeping_ = true;
        auto done = [&] { return done_.load(std::memory_order_acquire); };
        if (until == std::chrono::steady_clock::time_point::max()) {
            ready_.wait(lock, done);
        } else if (!ready_.wait_until(lock, until, done)) {
            return std::nullopt;
        }
        return std::move(value_);
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::atomic<bool> done_{false};
    bool sleeping_ = false;
    std::optional<T> value_;
};

}  // namespace herald::runtime
