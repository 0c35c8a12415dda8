// SendRing: one process's sends on their way from its application thread to the node's loop: a
// bounded single-producer/single-consumer ring that takes no lock and makes no allocation per
// message, and tells the producer when the consumer went to sleep so that the loop is woken
// once per batch, not per message (ZeroMQ's ypipe idea; docs/performance.md). Layer: runtime.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/message.h"
#include "core/result.h"
#include "proto/direct/direct_options.h"

namespace herald::runtime {

using SendCallback = std::function<void(Status)>;

// A send queued by an application thread for the loop.
struct SendCommand {
    Message message;
    proto::direct::SendOptions options;
    SendCallback done;
};

class SendRing {
public:
    // `capacity`: a power of two (asserted); `capacity_max`: what grow_if_wanted() may make it
    // (a power of two, at least `capacity`; 0: `capacity`).
    explicit SendRing(std::size_t capacity, std::size_t capacity_max = 0);
    SendRing(const SendRing&) = delete;
    SendRing& operator=(const SendRing&) = delete;

    // Producer side. The ring has one producer at a time: callers hold lock_producer() around
    // push and retract. Uncontended (one thread per process, docs/api.md §3) it is one atomic
    // exchange; a second thread spins, then yields, until the first is done (a few stores).
    void lock_producer() noexcept;
    void unlock_producer() noexcept;

    enum class Push : std::uint8_t {
        full,    // No room: `command` is untouched.
        queued,  // In the ring; the consumer is awake and will take it.
        wake,    // In the ring, and the consumer was asleep: the caller must schedule it.
    };
    [[nodiscard]] Push push(SendCommand& command);
    // Takes back the command of the last push that returned `wake` when the consumer cannot be
    // scheduled (the node closed), and puts the ring back to sleep.
    [[nodiscard]] SendCommand retract();

    // Consumer side (the loop thread). Hands up to `max` queued commands to `take` in order.
    template <class F>
    std::size_t drain(std::size_t max, F&& take) {
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.load(std::memory_order_acquire) & ~asleep_bit;
        const std::uint64_t count = std::min<std::uint64_t>(tail - head, max);
        for (std::uint64_t i = 0; i < count; ++i) take(slots_[(head + i) & mask_]);
        head_.store(head + count, std::memory_order_release);
        return static_cast<std::size_t>(count);
    }
    // Goes to sleep if the ring is empty (true: the next push returns `wake`); false when
    // commands arrived meanwhile (the consumer stays awake and must drain again).
    [[nodiscard]] bool sleep() noexcept;
    // Consumer side: when a push found the ring full since the ring was made (its producer
    // sends faster than the consumer takes), the ring is below capacity_max and it is empty
    // now, its slots become capacity_max. Takes the producer lock (so a producer waits while
    // the slots are replaced); the consumer's own drains are not running. True when it grew.
    // A ring thus costs its small first capacity until its producer needs more (issue 17
    // item 4: 100,000 processes that sent once).
    bool grow_if_wanted();

    // Consumer thread, or the producer with the producer lock held.
    [[nodiscard]] std::size_t capacity() const { return slots_.size(); }

    // Sends that went to the node's shared queue because the ring was full and the loop has not
    // handed to the engine yet; while it is not 0 the producer's sends go there too, so that
    // they keep their order (Node::send_async). Producer increments, loop decrements.
    std::atomic<std::uint32_t> overflowed{0};
    // The loop's ready list (Node): the next ring, and what keeps this ring's owner alive while
    // it is listed. Written by whoever lists the ring (the producer that woke it, or the loop).
    SendRing* next = nullptr;
    std::shared_ptr<void> pin;

private:
    static constexpr std::uint64_t asleep_bit = std::uint64_t{1} << 63;

    std::vector<SendCommand> slots_;  // Replaced only by grow_if_wanted (producer lock held).
    std::uint64_t mask_;
    const std::size_t capacity_max_;
    std::atomic<bool> full_seen_{false};  // A push found the ring full (producer sets it).
    // Commands published, with asleep_bit while the consumer sleeps. Starts asleep: the first
    // push wakes the loop.
    alignas(64) std::atomic<std::uint64_t> tail_{asleep_bit};
    std::uint64_t tail_local_ = 0;   // Producer: commands written.
    std::uint64_t head_cached_ = 0;  // Producer: head_ when last read.
    std::atomic_flag producer_lock_ = ATOMIC_FLAG_INIT;
    alignas(64) std::atomic<std::uint64_t> head_{0};  // Commands taken by the consumer.
};

}  // namespace herald::runtime
