// SendRing: the single-producer ring of one process's sends (send_ring.h). Layer: runtime.
#include "runtime/send_ring.h"

#include <thread>

#include "core/assert.h"

namespace herald::runtime {

SendRing::SendRing(std::size_t capacity, std::size_t capacity_max)
    : slots_(capacity),
      mask_(capacity - 1),
      capacity_max_(capacity_max == 0 ? capacity : capacity_max) {
    HERALD_ASSERT(capacity > 0);
    HERALD_ASSERT((capacity & (capacity - 1)) == 0);
    HERALD_ASSERT(capacity_max_ >= capacity);
    HERALD_ASSERT((capacity_max_ & (capacity_max_ - 1)) == 0);
}

bool SendRing::grow_if_wanted() {
    if (slots_.size() >= capacity_max_ || !full_seen_.load(std::memory_order_relaxed)) {
        return false;
    }
    lock_producer();
    // Only the consumer (this thread) moves head_; with the producer lock held, tail_ is
    // what the producer last published (no push is half done).
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const bool empty = (tail_.load(std::memory_order_acquire) & ~asleep_bit) == head;
    if (empty) {
        // The slot of command n is n & mask_: with nothing in the ring no command moves, and
        // the counters go on as they are.
        slots_ = std::vector<SendCommand>(capacity_max_);
        mask_ = capacity_max_ - 1;
    }
    unlock_producer();
    return empty;
}

void SendRing::lock_producer() noexcept {
    // A second producer holds it only while it writes one slot: spin briefly, then let it run
    // (it may have been preempted on a busy core).
    for (unsigned i = 0; producer_lock_.test_and_set(std::memory_order_acquire); ++i) {
        if (i >= 64) std::this_thread::yield();
    }
}

void SendRing::unlock_producer() noexcept {
    producer_lock_.clear(std::memory_order_release);
}

SendRing::Push SendRing::push(SendCommand& command) {
    if (tail_local_ - head_cached_ == slots_.size()) {
        head_cached_ = head_.load(std::memory_order_acquire);
        if (tail_local_ - head_cached_ == slots_.size()) {
            full_seen_.store(true, std::memory_order_relaxed);
            return Push::full;
        }
    }
    slots_[tail_local_ & mask_] = std::move(command);
    std::uint64_t expected = tail_local_;
    ++tail_local_;
    // Only the consumer changes tail_ besides us, and only by setting asleep_bit on an empty
    // ring: the exchange fails exactly when the consumer sleeps. Failing, it acquires what the
    // consumer did before it slept (its last take, dropping the ready list's pin).
    if (tail_.compare_exchange_strong(expected, tail_local_, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return Push::queued;
    }
    HERALD_ASSERT(expected == ((tail_local_ - 1) | asleep_bit));
    tail_.store(tail_local_, std::memory_order_release);
    return Push::wake;
}

SendCommand SendRing::retract() {
    HERALD_ASSERT(tail_local_ > head_.load(std::memory_order_acquire));
    --tail_local_;
    SendCommand command = std::move(slots_[tail_local_ & mask_]);
    tail_.store(tail_local_ | asleep_bit, std::memory_order_release);
    return command;
}

bool SendRing::sleep() noexcept {
    std::uint64_t expected = head_.load(std::memory_order_relaxed);
    return tail_.compare_exchange_strong(expected, expected | asleep_bit, std::memory_order_acq_rel,
                                         std::memory_order_acquire);
}

}  // namespace herald::runtime
