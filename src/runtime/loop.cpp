// Loop: the node's event-loop thread. Layer: runtime.
#include "runtime/loop.h"

#include "core/assert.h"

namespace herald::runtime {

Loop::Loop() : io_(1), work_(asio::make_work_guard(io_)) {}

Loop::~Loop() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    work_.reset();
    io_.stop();
    join();
}

void Loop::start() {
    HERALD_ASSERT(!thread_.joinable());
    thread_ = std::thread([this] { run(); });
}

void Loop::run() {
    thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
    for (;;) {
        io_.run();  // Returns on close(), or after a handler that called poll_until().
        // Restarted before closed_ is read: a close() whose stop came before the restart set
        // closed_ before it, and one that comes after it stops the next run() or poll().
        io_.restart();
        if (closed()) break;
        while (std::chrono::steady_clock::now() < poll_until_) {
            // Polling: run whatever is ready without blocking; with nothing, give the core to
            // any other ready thread (the store writer, an application thread) and look again.
            polls_.fetch_add(1, std::memory_order_relaxed);
            if (io_.poll() == 0) std::this_thread::yield();
            if (io_.stopped()) break;  // close(), or its stop from the destructor.
        }
        poll_until_ = {};  // A stop during the poll ends the next run() at once.
    }
    // close() stopped run() with handlers possibly still queued: run them once so every
    // posted command sees the closed node and completes (with Errc::closed) instead of being
    // dropped. No new posts can arrive, because closed_ is set.
    io_.restart();
    io_.poll();
}

void Loop::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    work_.reset();
    io_.stop();
}

void Loop::join() {
    HERALD_ASSERT(!in_loop_thread());
    if (thread_.joinable()) thread_.join();
}

}  // namespace herald::runtime
