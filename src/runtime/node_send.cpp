// Node: sends (blocking and asynchronous) from the application threads to the direct engine.
// Layer: runtime.
#include <chrono>
#include <memory>
#include <optional>

#include "core/assert.h"
#include "runtime/node.h"
#include "runtime/spin_waiter.h"

namespace herald::runtime {

Status Node::send(const std::shared_ptr<ProcessState>& source, Pid to, Bytes body,
                  const SendConfig& config) {
    if (loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "blocking send on the node's loop thread");
    }
    auto waiter = std::make_shared<SpinWaiter<Status>>();
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

Status Node::send_async(const std::shared_ptr<ProcessState>& source, Pid to, Bytes body,
                        const SendConfig& config, SendCallback done) {
    if (!to.valid()) return fail(Errc::invalid_argument, "invalid destination pid");
    // A pid of another node may be hosted here after a migration: the engine decides
    // (docs/migration.md M15).
    if (!source || !source->pid().valid()) {
        return fail(Errc::invalid_argument, "invalid source pid");
    }
    if (body.size() > config_.direct.body_bytes_max) {
        return fail(Errc::too_large, std::to_string(body.size()) + " bytes exceed the " +
                                         std::to_string(config_.direct.body_bytes_max) +
                                         "-byte message limit");
    }
    if (stopped()) return fail(Errc::closed, "node stopped");
    const Time t = now();
    SendCommand command{
        Message{source->pid(), to, 0, clock_.unix_ns(), std::move(body)},
        proto::direct::SendOptions{config.mode, config.on_full, deadline_after(t, config.timeout)},
        std::move(done)};
    SendRing& ring = source->send_ring();
    ring.lock_producer();
    Status status = queue_send(source, ring, command);
    ring.unlock_producer();
    return status;
}

Status Node::queue_send(const std::shared_ptr<ProcessState>& source, SendRing& ring,
                        SendCommand& command) {
    // While sends of this process wait in the shared queue, the next go there too: the loop
    // hands those to the engine after what the ring holds, so the order holds.
    if (ring.overflowed.load(std::memory_order_acquire) != 0) {
        return overflow_send(source, ring, command);
    }
    switch (ring.push(command)) {
        case SendRing::Push::queued:  // The loop is awake on this ring: no wake-up.
            return {};
        case SendRing::Push::wake:
            ring.pin = source;
            if (list_ring(ring)) return {};
            ring.pin.reset();
            static_cast<void>(ring.retract());  // Dropped unrun: the caller sees closed.
            return fail(Errc::closed, "node stopped");
        case SendRing::Push::full:
            break;
    }
    return overflow_send(source, ring, command);
}

Status Node::overflow_send(const std::shared_ptr<ProcessState>& source, SendRing& ring,
                           SendCommand& command) {
    if (commands_queued_.fetch_add(1, std::memory_order_acq_rel) >= config_.commands_max) {
        commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::queue_full, "commands_max sends are queued to the node loop");
    }
    ring.overflowed.fetch_add(1, std::memory_order_acq_rel);
    // One loop task takes every send queued meanwhile (issue 7).
    std::lock_guard lock(sends_mutex_);
    sends_.push_back(OverflowSend{std::move(command), source});
    if (sends_posted_) return {};
    // Posting under the lock: if the loop is closed, no other sender can have queued behind us
    // expecting this task to take theirs.
    if (!loop_.post([this] { drain_sends(); })) {
        sends_.pop_back();
        commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
        ring.overflowed.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::closed, "node stopped");
    }
    sends_posted_ = true;
    return {};
}

bool Node::list_ring(SendRing& ring) {
    SendRing* head = rings_ready_.load(std::memory_order_relaxed);
    do {
        if (head == rings_closed()) return false;
        ring.next = head;
    } while (!rings_ready_.compare_exchange_weak(head, &ring, std::memory_order_release,
                                                 std::memory_order_relaxed));
    // The first ring on an empty list schedules the drain; the others ride with it. A failed
    // post means the loop closed, after close_rings took the whole list, this ring with it.
    if (head == nullptr) static_cast<void>(loop_.post([this] { drain_rings(); }));
    return true;
}

void Node::drain_rings() {
    if (rings_ready_.load(std::memory_order_acquire) == rings_closed()) return;
    SendRing* list = rings_ready_.exchange(nullptr, std::memory_order_acq_rel);
    for (SendRing* ring = list; ring != nullptr; ring = ring->next) {
        rings_taken_.push_back(ring);
        take_ring(*ring);
    }
    hand_sends();  // Every process's sends of this wake-up, as one batch.
    for (SendRing* ring : rings_taken_) settle_ring(*ring);
    rings_taken_.clear();
}

void Node::settle_ring(SendRing& ring) {
    ring.grow_if_wanted();  // Drained: a ring its process overran becomes a large one.
    std::shared_ptr<void> pin = std::move(ring.pin);
    if (ring.sleep()) return;  // The pin goes: the process (and its ring) may end now.
    ring.pin = std::move(pin);
    if (!list_ring(ring)) close_ring(ring);  // More came; or a callback stopped the node.
}

void Node::close_ring(SendRing& ring) {
    const std::shared_ptr<void> pin = std::move(ring.pin);
    do {
        take_ring(ring);
        hand_sends();
    } while (!ring.sleep());
}

void Node::close_rings() {
    HERALD_ASSERT(shut_down_);
    SendRing* ring = rings_ready_.exchange(rings_closed(), std::memory_order_acq_rel);
    while (ring != nullptr) {
        SendRing* next = ring->next;  // Read first: closing may free the ring.
        close_ring(*ring);
        ring = next;
    }
}

void Node::take_ring(SendRing& ring) {
    ring.drain(ring.capacity(),
               [this](SendCommand& command) { sends_taken_.push_back(std::move(command)); });
}

void Node::drain_sends() {
    {
        std::lock_guard lock(sends_mutex_);
        overflow_taken_.swap(sends_);
        sends_posted_ = false;
    }
    commands_queued_.fetch_sub(static_cast<std::uint32_t>(overflow_taken_.size()),
                               std::memory_order_acq_rel);
    for (OverflowSend& send : overflow_taken_) {
        // What the ring holds was sent before (queue_send).
        take_ring(send.source->send_ring());
        sends_taken_.push_back(std::move(send.command));
    }
    hand_sends();
    for (OverflowSend& send : overflow_taken_) {
        send.source->send_ring().overflowed.fetch_sub(1, std::memory_order_acq_rel);
    }
    overflow_taken_.clear();
}

void Node::hand_sends() {
    if (sends_taken_.empty()) return;
    if (shut_down_ || draining_) {
        // Moved out first: a callback that stops the node closes rings into sends_taken_.
        std::vector<SendCommand> failed = std::move(sends_taken_);
        sends_taken_.clear();
        for (SendCommand& command : failed) {
            upcall(command.done, fail(Errc::closed, "node stopped"));
        }
        return;
    }
    const Time t = now();
    run<proto::direct::DirectEngine>(
        direct_slot_, t, [&](auto& direct, proto::Effects& out) { feed_sends(direct, t, out); });
}

void Node::feed_sends(proto::direct::DirectEngine& direct, Time t, proto::Effects& out) {
    for (SendCommand& command : sends_taken_) {
        const proto::OperationId op = ops_.add(Operation{std::move(command.done), {}});
        direct.on_send(op, std::move(command.message), command.options, t, out);
    }
    sends_taken_.clear();  // Keeps its capacity for the next batch.
}

}  // namespace herald::runtime
