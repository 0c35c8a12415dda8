// Node: sends (blocking and asynchronous) from the application threads to the direct engine.
// Layer: runtime.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include "core/assert.h"
#include "runtime/node.h"

namespace herald::runtime {

namespace {

// How long a blocking send spins for its completion before it sleeps. The loop thread
// usually takes a message within a few microseconds; waking from a futex costs more than
// that on a virtual machine (herald-bench rtt/1B/udp, issue 7).
constexpr std::chrono::microseconds send_spin{30};

// One blocking send's completion, handed from the loop thread to the waiting caller: a flag
// to spin on first, a condition variable to sleep on after.
class SendWaiter {
public:
    void complete(Status status) {
        std::lock_guard lock(mutex_);
        status_ = std::move(status);
        done_.store(true, std::memory_order_release);
        if (sleeping_) ready_.notify_one();
    }
    // Waits until complete() or `until`; nothing when the time ran out.
    std::optional<Status> wait(std::chrono::steady_clock::time_point until) {
        const auto spin_end = std::chrono::steady_clock::now() + send_spin;
        for (unsigned i = 0; !done_.load(std::memory_order_acquire); ++i) {
            if (i % 64 == 63 && std::chrono::steady_clock::now() >= spin_end) break;
        }
        std::unique_lock lock(mutex_);
        sleeping_ = true;
        auto done = [&] { return done_.load(std::memory_order_acquire); };
        if (until == std::chrono::steady_clock::time_point::max()) {
            ready_.wait(lock, done);
        } else if (!ready_.wait_until(lock, until, done)) {
            return std::nullopt;
        }
        return std::move(status_);
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::atomic<bool> done_{false};
    bool sleeping_ = false;
    Status status_;
};

}  // namespace

Status Node::send(Pid source, Pid to, Bytes body, const SendConfig& config) {
    if (loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "blocking send on the node's loop thread");
    }
    auto waiter = std::make_shared<SendWaiter>();
    const Time deadline = deadline_after(now(), config.timeout);
    HERALD_TRY(send_async(source, to, std::move(body), config,
                          [waiter](Status status) { waiter->complete(std::move(status)); }));
    const auto until = deadline == Time::max()
                           ? std::chrono::steady_clock::time_point::max()
                           : std::chrono::steady_clock::time_point{
                                 std::chrono::nanoseconds((deadline + completion_grace).ns())};
    auto status = waiter->wait(until);
    if (!status) return fail(Errc::timeout, "no completion from the node loop");
    return std::move(*status);
}

Status Node::send_async(Pid source, Pid to, Bytes body, const SendConfig& config,
                        SendCallback done) {
    if (!to.valid()) return fail(Errc::invalid_argument, "invalid destination pid");
    // A pid of another node may be hosted here after a migration: the engine decides
    // (docs/migration.md M15).
    if (!source.valid()) return fail(Errc::invalid_argument, "invalid source pid");
    if (body.size() > config_.direct.body_bytes_max) {
        return fail(Errc::too_large, std::to_string(body.size()) + " bytes exceed the " +
                                         std::to_string(config_.direct.body_bytes_max) +
                                         "-byte message limit");
    }
    if (stopped()) return fail(Errc::closed, "node stopped");
    if (commands_queued_.fetch_add(1, std::memory_order_acq_rel) >= config_.commands_max) {
        commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::queue_full, "commands_max sends are queued to the node loop");
    }
    const Time t = now();
    SendCommand command{
        Message{source, to, 0, clock_.unix_ns(), std::move(body)},
        proto::direct::SendOptions{config.mode, config.on_full, deadline_after(t, config.timeout)},
        std::move(done)};
    // One loop task takes every send queued meanwhile: a stream of sends costs a queue push
    // each, not a posted handler and a loop wake-up each (issue 7).
    std::lock_guard lock(sends_mutex_);
    sends_.push_back(std::move(command));
    if (sends_posted_) return {};
    // Posting under the lock: if the loop is closed, no other sender can have queued behind us
    // expecting this task to take theirs.
    if (!loop_.post([this] { drain_sends(); })) {
        sends_.pop_back();
        commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::closed, "node stopped");
    }
    sends_posted_ = true;
    return {};
}

void Node::drain_sends() {
    {
        std::lock_guard lock(sends_mutex_);
        sends_taken_.swap(sends_);
        sends_posted_ = false;
    }
    commands_queued_.fetch_sub(static_cast<std::uint32_t>(sends_taken_.size()),
                               std::memory_order_acq_rel);
    if (shut_down_ || draining_) {
        for (SendCommand& command : sends_taken_) {
            upcall(command.done, fail(Errc::closed, "node stopped"));
        }
        sends_taken_.clear();
        return;
    }
    const Time t = now();
    run<proto::direct::DirectEngine>(direct_slot_, t, [&](auto& direct, proto::Effects& out) {
        for (SendCommand& command : sends_taken_) {
            const proto::OperationId op = ops_.add(Operation{std::move(command.done), {}});
            direct.on_send(op, std::move(command.message), command.options, t, out);
        }
    });
    sends_taken_.clear();  // Keeps its capacity for the next batch.
}

}  // namespace herald::runtime
