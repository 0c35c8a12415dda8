// Options (with their bounds) and counters of the ordering engine (docs/ordering.md).
// Layer: proto/order.
#pragma once

#include <cstdint>

#include "core/time.h"

namespace herald::proto::order {

struct OrderOptions {
    // A message not yet acknowledged (ABCAST: or proposed for) by a member is sent to it again
    // after this long; flush reports are repeated at the same interval.
    Duration retransmit_interval = Duration::milliseconds(100);
    // The engine's single timer runs at this period while it has work (retransmissions, absolute
    // null messages, flushes); an idle engine sets no timer.
    Duration tick = Duration::milliseconds(50);
    // Absolute ordering: the bound on the skew between any two members' clocks (O24). A message
    // whose timestamp is more than this ahead of the receiver's clock is counted as a skew
    // violation (OrderCounters::skew_violations).
    Duration skew_bound = Duration::milliseconds(10);
    std::uint32_t groups_max = 256;  // Groups created on a node (on_create: queue_full).
    // Members of one view; a larger view is refused (counted in views_refused).
    std::uint32_t members_max = 64;
    // Own messages of one member not yet acknowledged by every member: a multicast beyond it
    // completes with would_block (O7).
    std::uint32_t send_window_max = 64;
    // Application messages one member multicasts in one view: beyond it would_block until the
    // next view (O7). Every member keeps the messages of the current view until the view ends
    // (the flush needs them), so this bounds memory: members x (2 x this) entries per group.
    std::uint32_t view_messages_max = 4096;
    // Messages of a sender's stream more than this beyond the contiguous prefix are dropped
    // (the sender sends them again).
    std::uint32_t receive_window_max = 1024;
    std::uint32_t name_bytes_max = 64;
    std::uint32_t body_bytes_max = 1 << 20;
};

struct OrderCounters {
    std::uint64_t packets_sent = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t duplicates_dropped = 0;
    std::uint64_t malformed_dropped = 0;
    std::uint64_t delivered = 0;        // Messages handed to local members.
    std::uint64_t stale_dropped = 0;    // Packets of another view or an unknown member.
    std::uint64_t window_dropped = 0;   // Beyond receive_window_max.
    std::uint64_t views_installed = 0;  // Views installed by local members.
    std::uint64_t views_refused = 0;    // Views over members_max or of unknown groups.
    std::uint64_t flushes = 0;          // Flushes this node coordinated to an outcome.
    std::uint64_t flush_discarded = 0;  // Messages a flush left out (a gap or lost cause).
    std::uint64_t skew_violations = 0;  // Absolute: timestamps beyond skew_bound.
};

}  // namespace herald::proto::order
