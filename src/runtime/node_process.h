// ProcessState: one hosted process's inbox, the runtime's queue of delivered messages, shared
// by the loop thread (which appends what the engine delivers) and the one application thread
// that uses the process (which takes). Layer: runtime.
// Bound: the direct engine delivers at most the process's queue_limit messages that have not
// been reported consumed (credit-based flow control), so the inbox never grows past it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "core/message.h"
#include "core/result.h"
#include "core/time.h"

namespace herald::runtime {

class ProcessState {
public:
    ProcessState(Pid pid, std::string name);
    ~ProcessState();
    ProcessState(const ProcessState&) = delete;
    ProcessState& operator=(const ProcessState&) = delete;

    [[nodiscard]] Pid pid() const { return pid_; }
    [[nodiscard]] const std::string& name() const { return name_; }

    // Loop thread: appends a delivered message and wakes the receiver. Returns false (and drops
    // the message) once the process is closed.
    bool push(Message message);

    // Any thread: wakes a waiting receiver with Errc::closed; later pushes are dropped and
    // queued messages are discarded. Idempotent.
    void close();
    [[nodiscard]] bool closed() const { return closed_.load(std::memory_order_acquire); }

    // Application thread: removes and returns the oldest queued message whose source is in
    // `from` (any source when `from` is empty). Messages that do not match stay queued, in
    // order (Erlang-style selective receive).
    [[nodiscard]] std::optional<Message> take(std::span<const Pid> from);

    // Application thread: like take(), waiting until `deadline` (monotonic, SystemClock).
    // Errc::timeout when the deadline passes first, Errc::closed when the process closes.
    [[nodiscard]] Result<Message> take_wait(std::span<const Pid> from, Time deadline);

    // Messages queued now. Any thread (a snapshot; used to spin without taking the lock).
    [[nodiscard]] std::size_t size() const { return size_.load(std::memory_order_acquire); }

    // An eventfd that is readable exactly while at least one message is queued (level
    // triggered: it is reset when the queue becomes empty). Created on first call; owned by the
    // process. Errc::io_error when the system refuses an eventfd. Any thread.
    [[nodiscard]] Result<int> notify_fd();

    // Consumption reports are batched: the application thread adds what it took; only the call
    // that finds the pending count at zero returns true, and must schedule one loop task that
    // calls take_consumed() and reports the total to the engine.
    bool add_consumed(std::uint32_t count);
    std::uint32_t take_consumed() { return consumed_.exchange(0, std::memory_order_acq_rel); }

    // Loop thread only: the pending receive_async() callback (at most one), and its timer.
    std::function<void(Result<Message>)> async_receiver;
    std::uint64_t async_timer = 0;

private:
    std::optional<Message> take_locked(std::span<const Pid> from, std::size_t start);
    void after_remove_locked();

    const Pid pid_;
    const std::string name_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<Message> queue_;
    bool waiting_ = false;  // A receiver sleeps on ready_; push must notify.
    int event_fd_ = -1;
    std::atomic<bool> closed_{false};
    std::atomic<std::size_t> size_{0};
    std::atomic<std::uint32_t> consumed_{0};
};

}  // namespace herald::runtime
