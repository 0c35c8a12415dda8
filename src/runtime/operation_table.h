// OperationTable: the node's pending operations (sends, calls, pings) by operation id, kept in
// slots that a free list reuses, so that an operation costs no allocation once the table has
// as many slots as operations were ever pending at once (issue 17: a hash-map node per send was
// one of the sender's allocations per message). Layer: runtime. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/assert.h"

namespace herald::runtime {

template <class T>
class OperationTable {
public:
    // Stores `value` and returns its id: (serial << 32) | (slot + 1), never 0. An id is not
    // issued again before 2^32 further adds.
    std::uint64_t add(T value) {
        std::uint32_t index = 0;
        if (free_.empty()) {
            index = static_cast<std::uint32_t>(slots_.size());
            HERALD_ASSERT(slots_.size() < slots_max);
            slots_.emplace_back();
        } else {
            index = free_.back();
            free_.pop_back();
        }
        Slot& slot = slots_[index];
        slot.value = std::move(value);
        slot.serial = ++serial_;
        slot.used = true;
        ++size_;
        return std::uint64_t{slot.serial} << 32 | (std::uint64_t{index} + 1);
    }

    // Removes and returns the value of `id`; nothing when no operation `id` is pending
    // (completed already, or never issued).
    std::optional<T> take(std::uint64_t id) {
        Slot* slot = pending(id);
        if (slot == nullptr) return std::nullopt;
        std::optional<T> value(std::move(slot->value));
        slot->value = T{};
        slot->used = false;
        --size_;
        free_.push_back(static_cast<std::uint32_t>((id & 0xFFFFFFFFu) - 1));
        if (size_ == 0 && slots_.size() > slots_kept_max) release();
        return value;
    }

    // The value of pending operation `id`, or null (completed already, or never issued).
    T* find(std::uint64_t id) {
        Slot* slot = pending(id);
        return slot != nullptr ? &slot->value : nullptr;
    }

    // Removes every pending value and returns them in slot order.
    std::vector<T> take_all() {
        std::vector<T> values;
        values.reserve(size_);
        for (Slot& slot : slots_) {
            if (slot.used) values.push_back(std::move(slot.value));
        }
        release();
        return values;
    }

    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] bool empty() const { return size_ == 0; }
    // Slots held, pending or free (the high-water mark since the table was last empty).
    [[nodiscard]] std::size_t capacity() const { return slots_.size(); }

    // A table that empties after a burst gives back its slots beyond this many.
    static constexpr std::size_t slots_kept_max = 4096;
    // Slot indexes fit in 32 bits (with 0 kept for "no id").
    static constexpr std::size_t slots_max = 0xFFFFFFFEu;

private:
    struct Slot {
        T value{};
        std::uint32_t serial = 0;
        bool used = false;
    };
    // The slot of pending operation `id` (index in the low half, serial in the high half), or
    // null: completed already, or never issued.
    Slot* pending(std::uint64_t id) {
        const std::uint64_t index = (id & 0xFFFFFFFFu) - 1;
        if ((id & 0xFFFFFFFFu) == 0 || index >= slots_.size()) return nullptr;
        Slot& slot = slots_[index];
        if (!slot.used || slot.serial != static_cast<std::uint32_t>(id >> 32)) return nullptr;
        return &slot;
    }
    void release() {
        std::vector<Slot>().swap(slots_);
        std::vector<std::uint32_t>().swap(free_);
        size_ = 0;
    }

    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_;  // Indexes of unused slots, reused last-freed first.
    std::size_t size_ = 0;
    std::uint32_t serial_ = 0;  // Per add; survives release(), so old ids stay unknown.
};

}  // namespace herald::runtime
