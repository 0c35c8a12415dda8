// CallQueueState: the completion queue behind herald::CallQueue. The loop thread completes
// calls into it without waking anyone and publishes them at the loop batch's end (one lock, at
// most one wake-up per batch); the application thread takes everything published at once.
// Bounded by its capacity: a call is started on it only with a free slot (reserve), so a
// completion always has room. Layer: runtime (NodeRpc; herald/rpc.h wraps it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "core/result.h"

namespace herald::runtime {

struct CallQueueItem {
    std::uint64_t tag = 0;
    Result<Bytes> result;
};

class CallQueueState {
public:
    explicit CallQueueState(std::uint32_t capacity) : capacity_(capacity) {
        HERALD_ASSERT(capacity > 0);
    }

    // --- Application thread (the one that starts calls on the queue and takes them) ---

    // A slot for one more call: false when `capacity` calls are started and not yet taken.
    [[nodiscard]] bool reserve() {
        std::uint32_t count = outstanding_.load(std::memory_order_relaxed);
        do {
            if (count >= capacity_) return false;
        } while (!outstanding_.compare_exchange_weak(count, count + 1, std::memory_order_relaxed));
        return true;
    }
    // Gives back the slot of a call that did not start.
    void unreserve() { outstanding_.fetch_sub(1, std::memory_order_relaxed); }
    [[nodiscard]] std::uint32_t outstanding() const {
        return outstanding_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint32_t capacity() const { return capacity_; }

    // Appends every published completion to `out` as Item{tag, result} (their slots become
    // free); sleeps until there is one or `until` (a past `until`: no wait). Returns how many
    // were appended. It does not spin first, as SpinWaiter does: with a window of calls the
    // next batch is seldom a few microseconds away, and spinning cost the client about a
    // quarter of its CPU per call for no fewer wake-ups (docs/performance.md).
    template <class Item>
    std::size_t take(std::vector<Item>& out, std::chrono::steady_clock::time_point until) {
        std::unique_lock lock(mutex_);
        auto any = [&] { return !ready_.empty(); };
        if (!any()) {
            sleeping_ = true;
            if (until == std::chrono::steady_clock::time_point::max()) {
                ready_cv_.wait(lock, any);
            } else {
                ready_cv_.wait_until(lock, until, any);
            }
            sleeping_ = false;
        }
        const std::size_t count = ready_.size();
        for (CallQueueItem& item : ready_) out.push_back(Item{item.tag, std::move(item.result)});
        ready_.clear();
        lock.unlock();
        outstanding_.fetch_sub(static_cast<std::uint32_t>(count), std::memory_order_relaxed);
        return count;
    }

    // --- Loop thread ---

    // Holds the completion until publish(). True when it is the first since the last publish
    // (the caller lists the queue for the batch's end).
    bool complete(std::uint64_t tag, Result<Bytes> result) {
        pending_.push_back(CallQueueItem{tag, std::move(result)});
        return pending_.size() == 1;
    }
    // Hands the held completions to the application and wakes it if it sleeps: one lock and
    // at most one wake-up for all of them.
    void publish() {
        if (pending_.empty()) return;
        bool wake = false;
        {
            std::lock_guard lock(mutex_);
            for (CallQueueItem& item : pending_) ready_.push_back(std::move(item));
            wake = sleeping_;
        }
        pending_.clear();  // Keeps its capacity for the next batch.
        if (wake) ready_cv_.notify_one();
    }

private:
    const std::uint32_t capacity_;
    // Calls started and not taken: bounds pending_ + ready_ (reserve moves it up, take()
    // down).
    std::atomic<std::uint32_t> outstanding_{0};
    std::vector<CallQueueItem> pending_;  // Loop thread: completed this batch.
    std::mutex mutex_;
    std::condition_variable ready_cv_;
    std::vector<CallQueueItem> ready_;  // Published, not taken.
    bool sleeping_ = false;             // The application waits on ready_cv_.
};

}  // namespace herald::runtime
