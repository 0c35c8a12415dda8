// StreamEntries: the entries of one sender's stream that a member holds, by seq, in a ring
// indexed by `seq - first` (a stream's seqs are dense from its stable point, O35), so that
// keeping, finding and discarding an entry allocates nothing once the ring has grown to the
// stream's window. Layer: proto/order (pure state of order_state.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/assert.h"

namespace herald::proto::order {

// `T` is the record kept per entry (order_state.h: Received); it must be default-constructible.
// The ring spans seqs first()..first() + span - 1, holes included: a receiver holds entries up
// to `receive_window_max` beyond its contiguous prefix (O22) and a sender up to `retained_max`
// of its own (O7), so the ring's length is bounded by those windows; it grows by doubling and
// keeps its capacity for the view (a new view starts a new stream).
template <class T>
class StreamEntries {
public:
    // The entry `seq`, or nullptr when it is not held.
    [[nodiscard]] const T* find(std::uint64_t seq) const {
        if (seq < first_ || seq - first_ >= span_) return nullptr;
        const Slot& slot = slots_[index(seq - first_)];
        return slot.held ? &slot.value : nullptr;
    }
    [[nodiscard]] T* find(std::uint64_t seq) {
        return const_cast<T*>(std::as_const(*this).find(seq));
    }
    [[nodiscard]] bool contains(std::uint64_t seq) const { return find(seq) != nullptr; }
    // The entry `seq`, which must be held.
    [[nodiscard]] const T& at(std::uint64_t seq) const {
        const T* value = find(seq);
        HERALD_ASSERT(value != nullptr);
        return *value;
    }
    [[nodiscard]] T& at(std::uint64_t seq) { return const_cast<T&>(std::as_const(*this).at(seq)); }
    // The entry `seq`, made (default) when not held; true when made. `seq` must not be below
    // first() (at or below the stable point, which callers drop as duplicates, O6).
    std::pair<T*, bool> try_emplace(std::uint64_t seq) {
        HERALD_ASSERT(seq >= first_);
        const std::uint64_t offset = seq - first_;
        if (offset >= slots_.size()) grow(offset + 1);
        if (offset >= span_) span_ = offset + 1;
        Slot& slot = slots_[index(offset)];
        if (slot.held) return {&slot.value, false};
        slot.held = true;
        ++size_;
        return {&slot.value, true};
    }
    // Entries held.
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] bool empty() const { return size_ == 0; }
    // The smallest seq held at or above `seq`, or 0 when none.
    [[nodiscard]] std::uint64_t next_from(std::uint64_t seq) const {
        for (std::uint64_t s = seq < first_ ? first_ : seq; s < first_ + span_; ++s) {
            if (slots_[index(s - first_)].held) return s;
        }
        return 0;
    }
    // Discards every entry at or below `seq` (stable, O35); returns how many were held. Later
    // entries can only be kept above `seq`.
    std::uint64_t discard_through(std::uint64_t seq) {
        std::uint64_t discarded = 0;
        while (first_ <= seq && span_ > 0) {
            Slot& slot = slots_[head_];
            if (slot.held) {
                slot = Slot{};
                ++discarded;
                --size_;
            }
            head_ = (head_ + 1) & (slots_.size() - 1);
            ++first_;
            --span_;
        }
        if (first_ <= seq) first_ = seq + 1;  // Nothing held up to `seq`: the ring is empty.
        HERALD_ASSERT(span_ > 0 || size_ == 0);
        return discarded;
    }
    // Discards entry `seq`, which must be held (out of order: ABCAST rows, proposal_table.h).
    // When it was the first, first() moves past the holes behind it.
    void erase(std::uint64_t seq) {
        HERALD_ASSERT(contains(seq));
        slots_[index(seq - first_)] = Slot{};
        --size_;
        while (span_ > 0 && !slots_[head_].held) {
            head_ = (head_ + 1) & (slots_.size() - 1);
            ++first_;
            --span_;
        }
    }
    // Calls `f(seq, value)` for every entry held, in seq order.
    template <class F>
    void for_each(F&& f) const {
        for_each_while([&](std::uint64_t seq, const T& value) {
            f(seq, value);
            return true;
        });
    }
    // The same, stopping after the first call that returns false.
    template <class F>
    void for_each_while(F&& f) const {
        for (std::uint64_t offset = 0; offset < span_; ++offset) {
            const Slot& slot = slots_[index(offset)];
            if (slot.held && !f(first_ + offset, slot.value)) return;
        }
    }

private:
    struct Slot {
        bool held = false;
        T value{};
    };

    [[nodiscard]] std::size_t index(std::uint64_t offset) const {
        return static_cast<std::size_t>((head_ + offset) & (slots_.size() - 1));
    }
    // Makes room for `length` slots from first_ (a power of two, so that index() masks).
    void grow(std::uint64_t length) {
        std::size_t capacity = slots_.empty() ? slots_min : slots_.size();
        while (capacity < length) capacity *= 2;
        std::vector<Slot> next(capacity);
        for (std::uint64_t offset = 0; offset < span_; ++offset) {
            next[offset] = std::move(slots_[index(offset)]);
        }
        slots_ = std::move(next);
        head_ = 0;
    }

    // A fresh stream holds a few entries at once (a sender's window is 64 by default, O7).
    static constexpr std::size_t slots_min = 16;

    std::vector<Slot> slots_;  // A power of two of them, or none.
    std::size_t head_ = 0;     // The slot of seq first_.
    std::uint64_t first_ = 1;  // The seq of slot head_: above the stream's stable point.
    std::uint64_t span_ = 0;   // Slots from head_ up to the last entry held.
    std::size_t size_ = 0;     // Entries held.
};

}  // namespace herald::proto::order
