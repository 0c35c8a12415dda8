// SendRing: the single-producer ring of one process's sends (send_ring.h). Layer: runtime.
#include "runtime/send_ring.h"

#include <thread>

#include "core/assert.h"

namespace herald::runtime {

SendRing::SendRing(std::size_t capacity) : slots_(capacity), mask_(capacity - 1) {
    HERALD_ASSERT(capacity > 0);
    HERALD_ASSERT((capacity & (capacity - 1)) == 0);
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
        if (tail_local_ - head_cached_ == slots_.size()) return Push::full;
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
