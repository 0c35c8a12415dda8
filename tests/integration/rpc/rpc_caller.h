// Caller: a client thread that calls `add` on a counter server, `window` calls outstanding, until
// `calls` have completed, counting successes and each failure kind. Shared by the RPC crash and
// heraldd tests. Layer: tests/integration/rpc.
#pragma once

#include <gtest/gtest.h>
#include <herald/herald.h>
#include <herald/rpc.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace herald::testing {

// Call options that keep retrying (every 20 ms, backing off to 200 ms) for `retry_limit`
// retransmissions, so that a call in flight rides out a server restart.
inline CallOptions riding_out_a_restart(std::uint32_t retry_limit,
                                        std::chrono::nanoseconds timeout) {
    using namespace std::chrono_literals;
    CallOptions options;
    options.retransmit_timeout = 20ms;
    options.retransmit_max = 200ms;
    options.retry_limit = retry_limit;
    options.probe_interval = 100ms;
    options.timeout = timeout;
    return options;
}

class Caller {
public:
    // `options` are each call's (retries, timeout); starts calling at once.
    Caller(Process& client, Pid server, std::size_t calls, std::size_t window,
           const CallOptions& options)
        : client_(client), server_(server), options_(options), window_(window) {
        thread_ = std::thread([this, calls] { run(calls); });
    }
    ~Caller() { join(); }
    Caller(const Caller&) = delete;
    Caller& operator=(const Caller&) = delete;

    void join() {
        if (thread_.joinable()) thread_.join();
    }
    std::uint64_t ok() const {
        std::lock_guard lock(mutex_);
        return ok_;
    }
    std::map<Errc, std::uint64_t> failed() const {
        std::lock_guard lock(mutex_);
        return failed_;
    }
    // Calls started and not yet settled.
    std::size_t outstanding() const {
        std::lock_guard lock(mutex_);
        return outstanding_;
    }
    // Calls whose caller gave up without learning whether they ran (docs/rpc.md): timeout,
    // request_lost, response_lost.
    std::uint64_t unknown_outcomes() const {
        std::lock_guard lock(mutex_);
        std::uint64_t n = 0;
        for (const Errc code : {Errc::timeout, Errc::request_lost, Errc::response_lost}) {
            const auto it = failed_.find(code);
            n += it == failed_.end() ? 0 : it->second;
        }
        return n;
    }

private:
    void run(std::size_t calls) {
        for (std::size_t i = 0; i < calls; ++i) {
            std::unique_lock lock(mutex_);
            settled_.wait(lock, [&] { return outstanding_ < window_; });
            ++outstanding_;
            lock.unlock();
            auto started = client_.call_async(server_, "add", {}, options_,
                                              [this](Result<Bytes> r) { settle(r); });
            if (!started) settle(fail(started.error()));
        }
        std::unique_lock lock(mutex_);
        settled_.wait(lock, [&] { return outstanding_ == 0; });
    }
    void settle(const Result<Bytes>& result) {
        std::lock_guard lock(mutex_);
        if (result) {
            ++ok_;
        } else {
            ++failed_[result.error().code];
        }
        --outstanding_;
        settled_.notify_all();
    }

    Process& client_;
    Pid server_;
    CallOptions options_;
    std::size_t window_;
    mutable std::mutex mutex_;
    std::condition_variable settled_;
    std::size_t outstanding_ = 0;
    std::uint64_t ok_ = 0;
    std::map<Errc, std::uint64_t> failed_;
    std::thread thread_;
};

// The counter property of a durable exactly-once service whose state lives in the handler's
// writes (docs/rpc.md, "What is guaranteed about execution"): committed effects = calls that
// completed ok + calls whose caller gave up without knowing. So the counter is at least the
// successes and at most the successes plus the unknown outcomes (equal to the successes only
// when no caller gave up).
inline void expect_counter_within_the_documented_bound(std::uint64_t counter,
                                                       const Caller& caller) {
    EXPECT_GE(counter, caller.ok()) << "a call that completed ok was not committed";
    EXPECT_LE(counter, caller.ok() + caller.unknown_outcomes())
        << "a call was committed twice, or one reported as not run was committed";
}

}  // namespace herald::testing
