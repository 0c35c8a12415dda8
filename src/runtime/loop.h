// Loop: a node's event-loop thread (one asio::io_context run by one thread) with a guarded
// post() that refuses work once the loop is closing, so a command is never queued and then
// silently dropped. Layer: runtime.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

namespace herald::runtime {

class Loop {
public:
    Loop();
    ~Loop();  // Joins the thread if it still runs (after close()).
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // The io_context that transports and timers use. Its handlers run on the loop thread.
    [[nodiscard]] asio::io_context& io() { return io_; }

    // Starts the loop thread. Call once, from the thread that owns the Loop.
    void start();

    // Queues `fn` to run on the loop thread. Any thread. Returns false (and drops `fn`
    // without running it) once close() has been called; every fn queued before close() runs,
    // possibly after close(), so it must cope with a closed node.
    template <class F>
    bool post(F&& fn) {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        asio::post(io_, std::forward<F>(fn));
        return true;
    }

    // True on the loop thread itself (blocking calls from it would deadlock).
    [[nodiscard]] bool in_loop_thread() const {
        return std::this_thread::get_id() == thread_id_.load(std::memory_order_acquire);
    }

    // Until `until`, the loop polls for work instead of sleeping when it has none: a
    // non-blocking epoll and the posted queue, yielding its core between polls, so that work
    // arriving then (a post, a datagram, a timer) costs no wake-up of a sleeping thread (on a
    // virtual machine, of an idle vCPU: docs/performance.md, "The loop's poll"). Extends only:
    // the later of two deadlines holds. Loop thread only.
    void poll_until(std::chrono::steady_clock::time_point until) {
        // After close() the handlers left run once, in one pass that a stop would cut short.
        if (closed()) return;
        // Not asked yet (no deadline): out of io_.run() after this handler, into run()'s
        // polling. A loop that is never asked to poll runs io_.run() exactly as without this.
        if (poll_until_ == std::chrono::steady_clock::time_point{}) io_.stop();
        if (until > poll_until_) poll_until_ = until;
    }
    // The deadline of the poll asked for (the epoch when none). Loop thread only.
    [[nodiscard]] std::chrono::steady_clock::time_point poll_deadline() const {
        return poll_until_;
    }
    // Passes the loop made polling instead of sleeping (poll_until), since it started. Any thread.
    [[nodiscard]] std::uint64_t polls() const { return polls_.load(std::memory_order_relaxed); }

    // Refuses further posts and makes run() return; handlers queued before it still run,
    // once, before the thread ends. Loop thread only; idempotent.
    void close();

    // Waits for the loop thread to end. Any thread except the loop thread; idempotent.
    void join();

    [[nodiscard]] bool closed() const {
        std::lock_guard lock(mutex_);
        return closed_;
    }

private:
    void run();

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    mutable std::mutex mutex_;  // Guards closed_ against concurrent post().
    bool closed_ = false;
    std::thread thread_;
    std::atomic<std::thread::id> thread_id_{};
    // Loop thread only: the poll's deadline while one was asked for and has not ended.
    std::chrono::steady_clock::time_point poll_until_{};
    std::atomic<std::uint64_t> polls_{0};
};

}  // namespace herald::runtime
