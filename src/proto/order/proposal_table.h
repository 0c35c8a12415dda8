// ProposalTable: an ABCAST sender's own data messages still collecting proposals (O15), one row
// of per-member slots per message, by seq. Rows are reused from a pool and found through a
// ring indexed by seq, so that a message allocates nothing once the table has grown to the
// send window (O7). Layer: proto/order (pure state of order_state.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/assert.h"
#include "proto/order/order_messages.h"
#include "proto/order/stream_entries.h"

namespace herald::proto::order {

class ProposalTable {
public:
    using Row = std::span<std::optional<Number>>;

    // Starts the table of a view of `members` members, empty.
    void reset(std::size_t members) {
        *this = ProposalTable{};
        members_ = members;
    }
    // Message `seq` starts collecting: every slot empty. `seq` must be above every seq opened.
    void open(std::uint64_t seq) {
        HERALD_ASSERT(members_ > 0);  // reset() came first.
        auto [index, fresh] = rows_.try_emplace(seq);
        HERALD_ASSERT(fresh);
        if (free_.empty()) {
            *index = static_cast<std::uint32_t>(cells_.size() / members_);
            cells_.resize(cells_.size() + members_);
        } else {
            *index = free_.back();
            free_.pop_back();
            for (auto& slot : row_at(*index)) slot.reset();
        }
    }
    // The slots of message `seq`, or an empty span when it is not collecting.
    [[nodiscard]] Row find(std::uint64_t seq) {
        const std::uint32_t* index = rows_.find(seq);
        return index == nullptr ? Row{} : row_at(*index);
    }
    // Message `seq` has every proposal: its row goes back to the pool.
    void close(std::uint64_t seq) {
        const std::uint32_t* index = rows_.find(seq);
        HERALD_ASSERT(index != nullptr);
        free_.push_back(*index);
        rows_.erase(seq);
    }
    [[nodiscard]] std::size_t size() const { return rows_.size(); }
    [[nodiscard]] bool empty() const { return rows_.empty(); }
    // Calls `f(seq, slots)` for every message collecting, in seq order; stops when f is false.
    template <class F>
    void for_each_while(F&& f) const {
        rows_.for_each_while([&](std::uint64_t seq, std::uint32_t index) {
            return f(seq, std::span<const std::optional<Number>>(
                              cells_.data() + std::size_t{index} * members_, members_));
        });
    }

private:
    [[nodiscard]] Row row_at(std::uint32_t index) {
        return Row(cells_.data() + std::size_t{index} * members_, members_);
    }

    std::size_t members_ = 0;
    StreamEntries<std::uint32_t> rows_;         // By seq: the row's index in cells_.
    std::vector<std::optional<Number>> cells_;  // Rows of members_ slots, end to end.
    std::vector<std::uint32_t> free_;           // Rows not in use.
};

}  // namespace herald::proto::order
